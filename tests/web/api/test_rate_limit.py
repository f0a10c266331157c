"""Rate limits per token: past the limit a 429 problem with Retry-After; other tokens go on."""

from __future__ import annotations

import pytest

from tests.web.api.conftest import Api


@pytest.fixture
def config_overrides():
    return {"RATELIMIT_ENABLED": True, "API_RATE_PER_TOKEN": "2 per minute"}


def test_a_token_past_its_limit_gets_429_with_retry_after(client, admin_account, token_for):
    busy = Api(client, token_for(admin_account, ["read"]))
    assert [busy.get("/lists").status_code for _ in range(2)] == [200, 200]
    refused = busy.get("/lists")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    other = Api(client, token_for(admin_account, ["read"]))
    assert other.get("/lists").status_code == 200
