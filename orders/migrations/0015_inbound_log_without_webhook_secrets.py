import json

from django.db import migrations

# Before this, the inbound log kept a subscription's signing secret in the answer it recorded,
# readable by any key of the merchant through GET /api/v1/messages/{id} and by replays.


def forget_webhook_secrets(apps, schema_editor):
    InboundMessage = apps.get_model("orders", "InboundMessage")
    created = InboundMessage.objects.filter(
        method="POST", path="/api/v1/webhooks", response_status=201
    ).only("pk", "response_body")
    for message in created.iterator():
        answer = json.loads(message.response_body or "{}")
        data = answer.get("data")
        if isinstance(data, dict) and data.get("secret") is not None:
            data["secret"] = None
            message.response_body = json.dumps(answer, separators=(",", ":"))
            message.save(update_fields=["response_body"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_order_search_normalized"),
    ]

    operations = [
        migrations.RunPython(forget_webhook_secrets, migrations.RunPython.noop),
    ]
