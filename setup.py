"""Package discovery; everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["newsletter", "newsletter.*", "workers", "workers.*"]),
        "newsletter.templates",
    ],
    # The checkout keeps templates/ at the top level (DESIGN.md); the wheel carries it inside
    # the package so that `pip install .` serves pages from any folder.
    package_dir={"newsletter.templates": "templates"},
)
