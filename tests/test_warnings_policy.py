"""The warning filters: a library's own deprecation never fails the suite, ours always do."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A stand-in for a third-party package: it warns the way libraries do (stacklevel=2 names the
# caller), and also calls its own deprecated function, as when one library uses another's old API.
LIBRARY = """
import warnings


def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)


def will_change():
    warnings.warn("the default will change", FutureWarning, stacklevel=2)


def uses_its_own_old_api():
    old_api()


def pending_removal():
    warnings.warn("pending removal", PendingDeprecationWarning)


def something_else_is_wrong():
    warnings.warn("not a deprecation", UserWarning)
"""

# Project code, in packages named like ours (run in a child process, so they shadow nothing).
PROJECT_MODULE = """
import warnings

import thirdparty


def calls_a_deprecated_api():
    thirdparty.old_api()


def deprecates_something_of_its_own():
    warnings.warn("ours is deprecated", DeprecationWarning, stacklevel=2)
"""

TESTS = """
import warnings

import thirdparty
from newsletter import probe as newsletter_probe
from workers import probe as workers_probe


def test_library_deprecation_inside_the_library():
    thirdparty.uses_its_own_old_api()


def test_library_pending_deprecation():
    thirdparty.pending_removal()


def test_newsletter_calls_a_deprecated_api():
    newsletter_probe.calls_a_deprecated_api()


def test_workers_calls_a_deprecated_api():
    workers_probe.calls_a_deprecated_api()


def test_a_test_calls_a_deprecated_api():
    thirdparty.old_api()


def test_a_test_gets_a_future_warning():
    thirdparty.will_change()


def test_our_own_deprecation():
    newsletter_probe.deprecates_something_of_its_own()


def test_a_test_warns():
    warnings.warn("a test's own warning", DeprecationWarning)


def test_library_warning_that_is_not_a_deprecation():
    thirdparty.something_else_is_wrong()
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str]:
    """Run the probe suite under the project's pytest settings: each test's outcome and reason."""
    probe = tmp_path_factory.mktemp("probe")
    (probe / "thirdparty.py").write_text(LIBRARY)
    for package in ("newsletter", "workers", "tests"):
        (probe / package).mkdir()
        (probe / package / "__init__.py").write_text("")
    for package in ("newsletter", "workers"):
        (probe / package / "probe.py").write_text(PROJECT_MODULE)
    (probe / "tests" / "test_probe.py").write_text(textwrap.dedent(TESTS))
    # CI's -n 2 and an xdist parent's variables are not this run's business.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONWARN"))}
    env["COLUMNS"] = "500"  # whole reasons in the short summary
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
         str(probe), "-p", "no:cacheprovider", "-p", "no:xdist", "-rA", "tests/test_probe.py"],
        cwd=probe,
        env=env,
        capture_output=True,
        text=True,
    )  # fmt: skip
    found = {}
    for line in result.stdout.splitlines():
        outcome, _, rest = line.partition(" tests/test_probe.py::")
        if outcome in ("PASSED", "FAILED") and rest:
            name, _, reason = rest.partition(" - ")
            found[name] = f"{outcome} {reason}".strip()
    assert len(found) == TESTS.count("def test_"), result.stdout + result.stderr
    return found


@pytest.mark.parametrize(
    "test",
    ["test_library_deprecation_inside_the_library", "test_library_pending_deprecation"],
)
def test_a_librarys_own_deprecation_passes(outcomes, test):
    """A deprecation raised and caused inside a third-party package does not fail a test."""
    assert outcomes[test] == "PASSED"


@pytest.mark.parametrize(
    "test",
    [
        "test_newsletter_calls_a_deprecated_api",
        "test_workers_calls_a_deprecated_api",
        "test_a_test_calls_a_deprecated_api",
        "test_a_test_gets_a_future_warning",
    ],
)
def test_our_call_to_a_deprecated_api_fails(outcomes, test):
    """Calling a deprecated third-party API from newsletter/, workers/ or tests/ fails."""
    assert outcomes[test].startswith(("FAILED DeprecationWarning: ", "FAILED FutureWarning: "))


@pytest.mark.parametrize("test", ["test_our_own_deprecation", "test_a_test_warns"])
def test_our_own_warning_fails(outcomes, test):
    """A warning the project's code raises is an error."""
    assert outcomes[test].startswith("FAILED DeprecationWarning: ")


def test_a_librarys_other_warnings_still_fail(outcomes):
    """Only deprecations are let through: any other library warning stays an error."""
    outcome = outcomes["test_library_warning_that_is_not_a_deprecation"]
    assert outcome == "FAILED UserWarning: not a deprecation"
