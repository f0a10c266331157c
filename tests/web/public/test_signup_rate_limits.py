"""Sign-up rate limits: per network address with a 429 page, per email address in silence."""

import pytest
import redis

from tests.support.subscribing import events, row_counts, sign_up, statuses

LIMITS = {
    "RATELIMIT_ENABLED": True,
    "SIGNUP_RATE_PER_IP": "3 per minute",
    "SIGNUP_RATE_PER_ADDRESS": "2 per hour",
}


@pytest.fixture
def config_overrides():
    return dict(LIMITS)


def assert_too_many(response) -> None:
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "<h1>Too many attempts</h1>" in page
    assert 'href="/subscribe"' in page
    assert "Traceback" not in page


def test_fourth_sign_up_from_one_ip_gets_the_429_page(client, news):
    """Three sign-ups a minute from one network address; the fourth is a friendly 429."""
    for n in range(3):
        assert sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1").status_code == 200
    assert_too_many(sign_up(client, "p3@example.com", "news", ip="192.0.2.1"))


def test_refused_sign_up_stores_nothing(client, news):
    """The sign-up that hits the limit writes no row."""
    for n in range(3):
        sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1")
    before = row_counts()
    sign_up(client, "late@example.com", "news", ip="192.0.2.1")
    assert row_counts() == before


def test_other_network_addresses_are_not_limited(client, news):
    """A busy network address does not stop people elsewhere."""
    for n in range(4):
        sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1")
    assert sign_up(client, "other@example.com", "news", ip="192.0.2.2").status_code == 200


def test_viewing_the_form_is_not_limited(client, news):
    """Only posting counts: the form itself always opens."""
    for _ in range(6):
        assert (
            client.get("/subscribe", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
        )
    assert sign_up(client, "p@example.com", "news", ip="192.0.2.1").status_code == 200


def test_address_limit_answers_the_same_page_but_records_nothing(client, news, jobs, make):
    """Past the per-address limit the answer is identical, and nothing more is stored."""
    make.list("events", name="Events")
    first = sign_up(client, "ann@example.com", "news", ip="198.51.100.1")
    second = sign_up(client, "ann@example.com", "jobs", ip="198.51.100.2")
    recorded = len(events("ann@example.com"))
    before = row_counts()
    third = sign_up(client, "ann@example.com", "events", ip="198.51.100.3")
    assert (third.status_code, third.data) == (second.status_code, second.data)
    assert (first.status_code, first.data) == (second.status_code, second.data)
    assert row_counts() == before
    assert len(events("ann@example.com")) == recorded
    assert "events" not in statuses("ann@example.com")


def test_address_limit_counts_every_spelling_of_the_address(client, news, jobs, make):
    """The limit is keyed by the canonical address, so changing case does not get round it."""
    make.list("events", name="Events")
    sign_up(client, "ann@example.com", "news", ip="198.51.100.1")
    sign_up(client, "ANN@example.com", "jobs", ip="198.51.100.2")
    sign_up(client, "Ann@EXAMPLE.com", "events", ip="198.51.100.3")
    assert set(statuses("ann@example.com")) == {"news", "jobs"}


def test_address_limit_leaves_other_addresses_alone(client, news):
    """One address at its limit does not stop another."""
    for n in range(3):
        sign_up(client, "ann@example.com", "news", ip=f"198.51.100.{n}")
    sign_up(client, "bob@example.com", "news", ip="198.51.100.9")
    assert statuses("bob@example.com") == {"news": "pending"}


def test_rejected_forms_count_against_the_network_address(client, news):
    """Posting invalid forms over and over still reaches the per-IP limit."""
    for _ in range(3):
        assert sign_up(client, "not an address", "news", ip="192.0.2.1").status_code == 400
    assert_too_many(sign_up(client, "real@example.com", "news", ip="192.0.2.1"))


def test_a_refused_network_address_does_not_use_up_the_address(client, news, jobs, make):
    """A sign-up refused with the 429 page is not counted against the email address."""
    assert_refusal_leaves_the_address_alone(client, make)


def assert_refusal_leaves_the_address_alone(client, make) -> None:
    make.list("events", name="Events")
    sign_up(client, "ann@example.com", "news", ip="192.0.2.1")
    for n in range(2):
        sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1")
    assert_too_many(sign_up(client, "ann@example.com", "jobs", ip="192.0.2.1"))
    sign_up(client, "ann@example.com", "jobs", ip="192.0.2.2")  # the address's second
    sign_up(client, "ann@example.com", "events", ip="192.0.2.3")  # its third: ignored
    assert set(statuses("ann@example.com")) == {"news", "jobs"}


class TestWithRedisStore:
    """The same limits kept in Redis, as production does when REDIS_URL is set."""

    @pytest.fixture
    def config_overrides(self, redis_url):
        redis.Redis.from_url(redis_url).flushdb()
        return {**LIMITS, "RATELIMIT_STORAGE_URI": redis_url}

    def test_fourth_sign_up_from_one_ip_gets_the_429_page(self, client, news, redis_url):
        """The per-IP limit holds with its counters in Redis."""
        for n in range(3):
            assert sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1").status_code == 200
        assert_too_many(sign_up(client, "p3@example.com", "news", ip="192.0.2.1"))
        assert redis.Redis.from_url(redis_url).dbsize() > 0

    def test_redis_sees_an_hmac_of_the_address_never_the_address(self, client, news, redis_url):
        """The per-address counter's key holds no part of the address."""
        sign_up(client, "secret.person@example.com", "news")
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any("signup-address" in key for key in keys)
        assert not any("secret.person" in key.casefold() for key in keys)

    def test_address_limit_is_silent(self, client, news, jobs, make):
        """Past the per-address limit nothing is recorded, and the page is the same."""
        make.list("events", name="Events")
        sign_up(client, "ann@example.com", "news", ip="198.51.100.1")
        second = sign_up(client, "ann@example.com", "jobs", ip="198.51.100.2")
        before = row_counts()
        third = sign_up(client, "ann@example.com", "events", ip="198.51.100.3")
        assert (third.status_code, third.data) == (second.status_code, second.data)
        assert row_counts() == before

    def test_a_refused_network_address_does_not_use_up_the_address(self, client, news, jobs, make):
        """As with the memory store: the 429 is not counted against the email address."""
        assert_refusal_leaves_the_address_alone(client, make)

    def test_every_window_is_checked(self, client, news, app):
        """With two windows for the network address, the longer one refuses too."""
        app.config["SIGNUP_RATE_PER_IP"] = "10 per minute;2 per hour"
        for n in range(2):
            assert sign_up(client, f"w{n}@example.com", "news", ip="192.0.2.1").status_code == 200
        assert_too_many(sign_up(client, "w2@example.com", "news", ip="192.0.2.1"))


def test_rotating_ipv6_addresses_inside_one_slash_64_does_not_reset_the_limit(client, news):
    """An IPv6 visitor is counted by their /64: a new address from the same allocation is
    the same visitor, while the next /64 is someone else."""
    for n in range(1, 4):
        response = sign_up(client, f"p{n}@example.com", "news", ip=f"2001:db8:5:6::{n}")
        assert response.status_code == 200
    assert_too_many(sign_up(client, "p4@example.com", "news", ip="2001:db8:5:6:ffff::9"))
    assert sign_up(client, "p5@example.com", "news", ip="2001:db8:5:7::1").status_code == 200


def test_ipv4_mapped_ipv6_counts_as_the_ipv4_address(client, news):
    """A dual-stack socket's ::ffff:a.b.c.d is the IPv4 visitor, not a /64 of its own."""
    for n in range(3):
        sign_up(client, f"p{n}@example.com", "news", ip="::ffff:192.0.2.1")
    assert_too_many(sign_up(client, "p3@example.com", "news", ip="192.0.2.1"))
    assert sign_up(client, "p4@example.com", "news", ip="::ffff:192.0.2.2").status_code == 200


@pytest.mark.parametrize("config_overrides", [LIMITS | {"PROXY_COUNT": 1}])
def test_behind_a_proxy_the_forwarded_ipv6_address_is_counted_by_its_slash_64(client, news):
    """With PROXY_COUNT set, the visitor's address comes from X-Forwarded-For, and rotating
    it inside one /64 does not reset the limit either."""

    def through_proxy(email: str, visitor: str):
        return client.post(
            "/subscribe",
            data={"email": email, "name": "", "lists": ["news"], "website": ""},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
            headers={"X-Forwarded-For": visitor},
        )

    for n in range(1, 4):
        assert through_proxy(f"p{n}@example.com", f"2001:db8:9:9::{n}").status_code == 200
    assert_too_many(through_proxy("p4@example.com", "2001:db8:9:9::abcd"))
    assert through_proxy("p5@example.com", "2001:db8:9:a::1").status_code == 200
