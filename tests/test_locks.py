"""The lock files pin every declared dependency, and the two locks agree."""

import itertools
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lock: str) -> dict[tuple[str, str], str]:
    """(name, environment marker) -> pinned version, from a `uv pip compile` lock file."""
    found = {}
    for line in (ROOT / lock).read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.removesuffix("\\").strip())
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        marker = str(requirement.marker or "")
        found[canonicalize_name(requirement.name), marker] = spec.version
    return found


def versions_for_this_python(lock: str) -> dict[str, str]:
    """name -> the version the lock installs on the running interpreter."""
    return {
        name: version
        for (name, marker), version in pins(lock).items()
        if not marker or Requirement(f"x; {marker}").marker.evaluate()
    }


@pytest.mark.parametrize(
    ("lock", "declared"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        ("requirements-dev.lock", PROJECT["dependencies"]),
        ("requirements-dev.lock", PROJECT["optional-dependencies"]["dev"]),
    ],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock, declared):
    """A dependency added to pyproject.toml without refreshing the lock is caught here."""
    locked = versions_for_this_python(lock)
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {lock}: refresh it (README, Dependencies)"
        assert requirement.specifier.contains(locked[name], prereleases=True), (lock, line)


def test_the_runtime_lock_pins_what_ci_tested():
    """Production gets the versions the dev lock (CI's) has, package for package."""
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {key: dev.get(key) for key in runtime} == runtime


def test_every_pin_carries_hashes():
    """pip checks every download against the lock (hash-checking mode)."""
    for lock in ("requirements.lock", "requirements-dev.lock"):
        lines = (ROOT / lock).read_text().splitlines()
        for line, following in itertools.pairwise(lines):
            if line and line[0] not in " #-":
                assert following.startswith("    --hash=sha256:"), (lock, line)
