from django.db import migrations, models

# Only the column, nullable, in its own short transaction; 0021 fills it in batches outside any
# long transaction and 0022 makes it required and unique (as 0014, 0017, 0018 did for orders).


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0019_inbound_log_moved_to_inbound"),
    ]

    operations = [
        migrations.AddField(
            model_name="shipment",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
