from tests.signin import fresh_globals_per_request  # noqa: F401
from tests.subscribing import mail, news  # noqa: F401
