from tests.subscribing import jobs, mail, news  # noqa: F401
