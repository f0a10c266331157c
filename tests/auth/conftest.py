from tests.signin import fresh_globals_per_request  # noqa: F401
