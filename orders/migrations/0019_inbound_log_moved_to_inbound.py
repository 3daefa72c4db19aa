"""The inbound log's models moved to the inbound app, and the files read to ingest; their tables stay (state only)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0018_order_name_search_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='inboundmessage',
                    name='merchant',
                ),
                migrations.RemoveField(
                    model_name='processedevent',
                    name='inbound_message',
                ),
                migrations.RemoveField(
                    model_name='processedevent',
                    name='merchant',
                ),
                migrations.DeleteModel(
                    name='InboundFile',
                ),
                migrations.DeleteModel(
                    name='InboundMessage',
                ),
                migrations.DeleteModel(
                    name='ProcessedEvent',
                ),
            ],
        ),
    ]
