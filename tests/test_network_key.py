"""The one key of every per-network-address rate limit: an IPv4 address, an IPv6 /64."""

import pytest

from newsletter.extensions import client_network


@pytest.mark.parametrize(
    ("remote_addr", "network"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:FFFF", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("::1", "::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_client_network(remote_addr, network):
    assert client_network(remote_addr) == network


def test_addresses_in_one_slash_64_share_a_key_and_the_next_does_not():
    inside = {client_network(f"2001:db8:0:7::{n:x}") for n in range(1, 200, 7)}
    assert inside == {"2001:db8:0:7::/64"}
    assert client_network("2001:db8:0:8::1") != client_network("2001:db8:0:7::1")


def test_ipv4_addresses_stay_apart():
    assert client_network("192.0.2.7") != client_network("192.0.2.8")
