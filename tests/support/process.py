"""Running the real `newsletter` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Variables a developer's shell may carry that would leak into a "fresh machine" run.
_PROJECT_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "SECRET_KEY_FALLBACKS",
    "SUPPRESSION_KEY", "BASE_URL", "MAIL_FROM", "MAIL_FROM_SYSTEM", "BOUNCE_DOMAIN",
    "ORG_NAME", "ORG_ADDRESS", "SEND_RATE", "FLASK_APP", "TEST_DATABASE_URL",
    "PYTEST_ADDOPTS", "SINK_PORT",
)  # fmt: skip


REPO_ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any project setting, plus `extra`.

    The repository root goes first on PYTHONPATH, so that the child imports this checkout's
    code even where the installed `newsletter` points at another one (a git worktree).
    """
    env = {k: v for k, v in os.environ.items() if k not in _PROJECT_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def newsletter_executable() -> str:
    """The console script of the environment running the tests, even when it is not on PATH."""
    beside = Path(sys.executable).with_name("newsletter")
    if beside.exists():
        return str(beside)
    return shutil.which("newsletter") or "newsletter"


def run_newsletter(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `newsletter ARGS` to completion and capture its output."""
    return subprocess.run(
        [newsletter_executable(), *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )
