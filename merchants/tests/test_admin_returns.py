"""A merchant's admin sets its return policy in the scoped admin; no other merchant sees it."""

import pytest
from django.urls import reverse

from merchants.models import ReturnPolicy
from merchants.tests.factories import member_of
from orders.tests.returns import policy_for

pytestmark = pytest.mark.django_db


def _reasons(*reasons: dict) -> dict:
    form = {"reasons-TOTAL_FORMS": str(len(reasons)), "reasons-INITIAL_FORMS": "0",
            "reasons-MIN_NUM_FORMS": "0", "reasons-MAX_NUM_FORMS": "1000"}  # fmt: skip
    for index, reason in enumerate(reasons):
        form.update({f"reasons-{index}-{name}": value for name, value in reason.items()})
    return form


def _policy_form(merchant, **fields) -> dict:
    return {
        "merchant": str(merchant.pk), "is_enabled": "on", "window_days": "30",
        "approval": "agent", "shipping": "drop_off",
        "shipping_instructions": "Any post office, with the order number.", **fields,
    }  # fmt: skip


def test_a_merchant_admin_sets_returns_with_reasons_in_several_languages(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when
    response = client.post(reverse("admin:merchants_returnpolicy_add"), {
        **_policy_form(merchant, not_returnable_patterns="GIFT-*", exchange_allowed="on"),
        **_reasons({"code": "too-small", "position": "0", "label_en": "Too small",
                    "label_fr": "Trop petit", "label_zh_hans": "太小"},
                   {"code": "damaged", "position": "1", "label_en": "Arrived damaged"}),
    })  # fmt: skip
    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = ReturnPolicy.objects.get(merchant=merchant)
    assert (policy.is_enabled, policy.exchange_allowed, policy.shipping) == (True, True, "drop_off")
    reasons = {reason.code: reason for reason in policy.reasons.all()}
    assert reasons["too-small"].labels == {"en": "Too small", "fr": "Trop petit",
                                           "zh-hans": "太小"}  # fmt: skip
    assert (reasons["damaged"].label_in("fr"), reasons["too-small"].label_in("zh-hans")) == (
        "Arrived damaged", "太小",
    )  # fmt: skip


def test_a_reason_needs_its_default_language_label(client, merchant):
    # given
    client.force_login(member_of(merchant, "admin"))
    # when
    response = client.post(reverse("admin:merchants_returnpolicy_add"), {
        **_policy_form(merchant), **_reasons({"code": "too-small", "label_fr": "Trop petit"}),
    })  # fmt: skip
    # then
    assert response.status_code == 200
    assert "Required: the other languages fall back to it." in response.content.decode()
    assert not ReturnPolicy.objects.exists()


def test_another_merchants_admin_neither_sees_nor_edits_the_policy(client, merchant,
                                                                   other_merchant):  # fmt: skip
    # given
    policy = policy_for(merchant)
    client.force_login(member_of(other_merchant, "admin"))
    # when
    listed = client.get(reverse("admin:merchants_returnpolicy_changelist"))
    opened = client.get(reverse("admin:merchants_returnpolicy_change", args=[policy.pk]))
    posted = client.post(reverse("admin:merchants_returnpolicy_change", args=[policy.pk]),
                         {**_policy_form(merchant, window_days="365"), **_reasons()})  # fmt: skip
    # then
    assert listed.status_code == 200 and "Fred" not in listed.content.decode()
    assert opened.status_code == 302 and posted.status_code == 302  # "does not exist" → index
    policy.refresh_from_db()
    assert policy.window_days == 30


def test_an_agent_sees_the_policy_but_cannot_change_it(client, merchant):
    # given
    policy = policy_for(merchant)
    client.force_login(member_of(merchant, "agent"))
    # when
    posted = client.post(reverse("admin:merchants_returnpolicy_change", args=[policy.pk]),
                         {**_policy_form(merchant, window_days="365"), **_reasons()})  # fmt: skip
    # then
    assert posted.status_code == 403
    policy.refresh_from_db()
    assert policy.window_days == 30
