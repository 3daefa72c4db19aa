from django.db import migrations, models

# Only the column, in its own short transaction: the ALTER TABLE's exclusive lock is released as
# soon as it commits. Filling it (0017) and indexing it (0018) run outside any long transaction,
# so the table stays readable and writable meanwhile.


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_queued_api_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="customer_name_search",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
    ]
