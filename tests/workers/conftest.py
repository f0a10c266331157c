"""Every request of a worker test starts with an empty `g`, as in production."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_globals(fresh_globals_per_request) -> None:
    """Use `fresh_globals_per_request` (tests/support/signin.py) for every test here."""
