"""`pip install .` gives a working production install: the wheel carries everything."""

import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy so the checkout gets no build/ or egg-info folders.
    source = tmp_path_factory.mktemp("source") / "newsletter"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return next(out.glob("newsletter-*.whl"))


def test_wheel_carries_templates_migrations_static_and_workers(wheel):
    """Every template, the migrations, the stylesheet and the workers package are inside."""
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.html")}
    assert {f"newsletter/{t}" for t in templates} <= names
    assert "newsletter/migrations/env.py" in names
    assert any(n.startswith("newsletter/migrations/versions/0001") for n in names)
    assert "newsletter/static/app.css" in names
    assert "newsletter/guides/migration.md" in names  # /admin/imports/guide
    assert "newsletter/background/broker.py" in names


def test_wheel_carries_every_module_of_the_checkout(wheel):
    """A package missing from pyproject.toml's list would be left out of the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        path.relative_to(ROOT).as_posix()
        for top in ("newsletter", "workers")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules - names == set()


def _borrow_dependencies(python: Path) -> None:
    """Let a bare venv import the running interpreter's packages, after its own."""
    # Not venv's system_site_packages: inside a virtual environment that reaches the base
    # interpreter, which lacks the dependencies. addsitedir also runs their .pth files, as a
    # site-packages folder of the new venv would.
    ours = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        ours.append(site.getusersitepackages())
    theirs = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})\n" for d in ours if Path(d).is_dir()]
    (Path(theirs) / "_borrowed_dependencies.pth").write_text("".join(lines))


def test_installed_wheel_migrates_and_renders_from_any_folder(wheel, tmp_path):
    """Installed from the wheel, the app upgrades an empty database and renders a page."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder().create(env_dir)
    python = env_dir / "bin" / "python"
    # The running pip installs into the new venv (it has none of its own), before the borrowed
    # packages become visible, so it sees an empty environment and the wheel lands in it.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    _borrow_dependencies(python)
    work = tmp_path / "elsewhere"
    work.mkdir()
    script = (
        "import newsletter, sys\n"
        "from newsletter import create_app, templates_dir\n"
        "from newsletter.models.schema import upgrade_schema\n"
        "assert str(templates_dir()).startswith(sys.prefix), templates_dir()\n"
        "assert 'site-packages' in str(templates_dir()), templates_dir()\n"
        "app = create_app()\n"
        "upgrade_schema(app)\n"
        "page = app.test_client().get('/privacy')\n"
        "assert page.status_code == 200 and b'Privacy notice' in page.data\n"
        "css = app.test_client().get('/static/app.css')\n"
        "assert css.status_code == 200\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [python, "-c", script], cwd=work, capture_output=True, text=True, env={"PATH": "/usr/bin"}
    )
    assert result.returncode == 0, result.stderr
    assert (work / "instance" / "newsletter.db").is_file()
