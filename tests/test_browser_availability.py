"""Browser tests skip with a reason where Chromium is missing, and fail instead under CI."""

import subprocess
import sys

import pytest

from tests.support.process import REPO_ROOT, clean_env

ONE_BROWSER_TEST = "tests/browser/test_journeys.py::test_sign_up_confirm_by_the_link_in_the_mail"


def run_without_chromium(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_BROWSER_TEST, "-n", "0", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=clean_env(CHROMIUM_PATH="/nonexistent/chromium", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def not_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


def test_without_chromium_browser_tests_are_skipped_with_the_reason(not_under_ci):
    result = run_without_chromium()
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "no Chromium at /nonexistent/chromium: apt-get install chromium" in result.stdout


def test_under_ci_a_missing_chromium_is_a_failure():
    result = run_without_chromium(CI="true")
    assert result.returncode == 1, result.stdout
    assert "browser tests cannot run under CI: no Chromium" in result.stdout
