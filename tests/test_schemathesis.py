"""Property-based checks of the whole API against its own OpenAPI schema (schemathesis): no
server errors, and every answer matches what /api/schema/ documents.

Every operation of the schema is a subtest (an operation schemathesis cannot read fails as one),
so endpoints added later are covered without a list here.

Excluded on purpose: the checks that a value of another JSON type is refused. DRF parses
leniently ("2" for 2, 0 for "0"), as Stripe does; wrong values are still refused (own tests).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from flextracker.wsgi import application
from merchants.services import api_key_issue


@pytest.fixture
def api_schema(db):
    # As Django's test client does: the test's transaction must outlive each request, so the
    # request signals must not close "old" connections.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def public_dns(fake_dns):
    """Webhook URLs are resolved when subscribed: every name is a public address, offline."""
    fake_dns()


def _auth_headers(merchant) -> dict[str, str]:
    _api_key, raw_key = api_key_issue(merchant=merchant)
    return {"Authorization": f"Bearer {raw_key}"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_endpoint_answers_as_documented(case, merchant):
    # A key per case: one key for the whole run hits its rate limit (1000/min) whenever the run
    # is fast, and then the operations tested last answer mostly 429s, which test nothing else.
    case.call_and_validate(
        headers=_auth_headers(merchant),
        excluded_checks=[negative_data_rejection, positive_data_acceptance],
    )
