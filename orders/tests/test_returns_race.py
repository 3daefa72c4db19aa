"""Two requests for the same delivered units at the same moment: only one gets them."""

import pytest

from orders.models import LineItem, ReturnRequest
from orders.services.returns import ReturnItemInput, ReturnNotAllowed, return_request_create
from orders.tests.returns import delivered_order, policy_for
from tests.concurrency import requires_postgresql, run_at_once


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_for_the_same_units_cannot_both_win(merchant):
    # given: 2 mugs delivered
    policy_for(merchant)
    order = delivered_order(merchant)
    # when: two customers' tabs ask for both mugs at once
    results = run_at_once(2, lambda: return_request_create(
        order=order, items=[ReturnItemInput("MUG", 2)], reason="too-small",
    ))  # fmt: skip
    # then
    assert sorted(type(result).__name__ for result in results) == [
        "ReturnNotAllowed", "ReturnRequest",
    ]  # fmt: skip
    refused = next(result for result in results if isinstance(result, ReturnNotAllowed))
    assert refused.code == "RETURN_QUANTITY_EXCEEDED"
    assert ReturnRequest.objects.count() == 1
    assert LineItem.objects.get(order=order, item_id="MUG").quantity_return_requested == 2
