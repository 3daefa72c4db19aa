import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0021_shipment_public_id_backfill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="shipment",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
