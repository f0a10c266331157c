"""Rate limits on signing in, per network address and per account, with the limiter on."""

import pytest

from tests.factories import PASSWORD
from tests.support.queries import audit_actions

TOO_MANY = "too many attempts to sign in"


@pytest.fixture
def config_overrides():
    return {
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_PER_ACCOUNT": "3 per minute",
        "LOGIN_RATE_PER_IP": "5 per minute",
    }


def attempt(client, email, password="not the right password", ip="192.0.2.1"):
    return client.post(
        "/admin/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_fourth_attempt_on_one_account_is_refused_with_429(client, admin_account):
    """After 3 attempts on one account, the next is answered 429 with a sentence."""
    for n in range(3):
        assert attempt(client, admin_account.email, ip=f"192.0.2.{n}").status_code == 422
    response = attempt(client, admin_account.email, ip="192.0.2.99")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert TOO_MANY in page.casefold()
    assert 'name="password"' in page and "Traceback" not in page


def test_account_limit_matches_the_address_in_any_case(client, admin_account):
    """The per-account key is the canonical address, so changing case does not help."""
    for email in ("admin@example.org", "ADMIN@example.org", "Admin@Example.ORG"):
        attempt(client, email, ip="192.0.2.7")
    assert attempt(client, "admin@EXAMPLE.org", ip="192.0.2.8").status_code == 429


def test_account_limit_also_stops_the_right_password(client, admin_account):
    """Once the account is locked for the minute, even the right password waits."""
    for _ in range(3):
        attempt(client, admin_account.email)
    assert attempt(client, admin_account.email, password=PASSWORD).status_code == 429


def test_account_limit_leaves_other_accounts_alone(client, make, admin_account):
    """Attempts on one account do not lock another one out."""
    other = make.account(email="other@example.org")
    for n in range(3):
        attempt(client, admin_account.email, ip=f"192.0.2.{n}")
    assert attempt(client, other.email, password=PASSWORD, ip="192.0.2.50").status_code == 302


def test_sixth_attempt_from_one_address_is_refused_with_429(client):
    """After 5 attempts from one IP address, on any accounts, the next is 429."""
    for n in range(5):
        assert attempt(client, f"person{n}@example.org").status_code == 422
    response = attempt(client, "someone-else@example.org")
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True).casefold()


def test_ip_limit_leaves_other_addresses_alone(client, admin_account):
    """A busy address does not lock out people elsewhere."""
    for n in range(5):
        attempt(client, f"person{n}@example.org", ip="198.51.100.1")
    response = attempt(client, admin_account.email, password=PASSWORD, ip="198.51.100.2")
    assert response.status_code == 302


def test_rate_limited_response_says_when_to_retry(client):
    """The 429 carries a Retry-After header."""
    for n in range(6):
        response = attempt(client, f"person{n}@example.org")
    assert int(response.headers["Retry-After"]) > 0


def test_viewing_the_login_page_is_not_limited(client):
    """Only POSTs count: the form itself always opens."""
    for _ in range(10):
        assert client.get("/admin/login").status_code == 200


def test_rotating_ipv6_addresses_inside_one_slash_64_does_not_reset_the_limit(
    client, admin_account
):
    """Sign-in attempts from one IPv6 /64 count together, whichever address each came from."""
    for n in range(1, 6):
        assert attempt(client, f"person{n}@example.org", ip=f"2001:db8:7:7::{n}").status_code == 422
    response = attempt(client, "person6@example.org", ip="2001:db8:7:7:1:2:3:4")
    assert response.status_code == 429
    other = attempt(client, admin_account.email, password=PASSWORD, ip="2001:db8:7:8::1")
    assert other.status_code == 302


def test_ipv4_mapped_ipv6_counts_as_the_ipv4_address(client):
    """::ffff:a.b.c.d and a.b.c.d are one visitor."""
    for n in range(5):
        attempt(client, f"person{n}@example.org", ip="::ffff:192.0.2.30")
    assert attempt(client, "person9@example.org", ip="192.0.2.30").status_code == 429


TOO_MANY_CHANGES = "too many attempts to change the password"


def change_password(client, current="not my current password", ip="192.0.2.1"):
    new = "a brand new long password"
    return client.post(
        "/admin/password",
        data={"current_password": current, "new_password": new, "confirm_password": new},
        environ_base={"REMOTE_ADDR": ip},
    )


def signed_in(app, account, ip):
    client = app.test_client()
    attempt(client, account.email, password=PASSWORD, ip=ip)
    return client


def test_password_change_is_locked_after_the_sign_in_limit(app, admin_account):
    """Wrong current passwords meet the per-account limit of signing in: 3, then a 429."""
    client = signed_in(app, admin_account, ip="203.0.113.1")
    for n in range(3):
        assert change_password(client, ip=f"198.51.100.{n}").status_code == 422
    response = change_password(client, ip="198.51.100.99")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert TOO_MANY_CHANGES in page.casefold()
    assert 'name="current_password"' in page and "Traceback" not in page
    # Locked for the minute, even with the right current password.
    assert change_password(client, current=PASSWORD, ip="198.51.100.98").status_code == 429


def test_password_change_is_limited_per_network_address(app, make):
    """Attempts from one address on several accounts meet the per-address limit of 5."""
    clients = [signed_in(app, make.account(), ip=f"203.0.113.{n}") for n in range(3)]
    for n in range(5):
        assert change_password(clients[n % 3], ip="192.0.2.200").status_code == 422
    response = change_password(clients[2], ip="192.0.2.200")
    assert response.status_code == 429
    assert change_password(clients[2], ip="192.0.2.201").status_code == 422


def test_wrong_current_passwords_are_audited(app, admin_account):
    """Each wrong current password is in the audit log, as a failed sign-in is."""
    client = signed_in(app, admin_account, ip="203.0.113.9")
    change_password(client)
    assert audit_actions()[-1] == "account.password_change_failed"
