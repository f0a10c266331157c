"""schemathesis against the served OpenAPI document, with a real token, on the WSGI app over the
test database (SQLite, or PostgreSQL with TEST_DATABASE_URL): no 5xx, and every answer (status,
media type, body, headers) as the document says. Bounded so it stays well under two minutes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from newsletter.api_tokens import create_token
from newsletter.suppression.manual import add_addresses
from newsletter.webhooks import endpoints
from tests.web.api.conftest import ALL_SCOPES

EXAMPLES_PER_OPERATION = 15
# Left out: "a schema-valid request is accepted". An address is checked by email-validator
# and a list slug must name a list, rules no JSON Schema states, so a schema-valid body may
# get its documented 422 or 404 with the sentence the form shows.


@pytest.fixture
def api_schema(app, make, admin_account):
    """The document as served, with some rows for the generated ids to find (an endpoint
    first, so the sign-ups below write it deliveries to read and resend)."""
    endpoints.create("https://crm.example.org/hooks", ["subscriber.requested"], "CRM", "test")
    news = make.list("news", name="News")
    make.list("private", name="Board papers", is_public=False)
    make.subscriber("zoë.ahmed@hackney.gov.uk", lists=[news], name="Zoë Ahmed")
    make.subscriber("anna@bücher.example", lists=[news], status="pending")
    add_addresses(["bounced@example.com"], "a test", actor=admin_account)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def bearer(admin_account) -> dict[str, str]:
    secret = create_token(admin_account, ALL_SCOPES, actor="test").secret
    return {"Authorization": f"Bearer {secret}"}


# schemathesis's own pytest integration (`schemathesis.pytest.from_fixture`) fails under
# pytest 9, so each operation's strategy is driven by Hypothesis here.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(api_schema, bearer, mode):
    """No 5xx; status, media type and body match the document for generated input."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])

        call()
