"""Channel configuration moved to the ingest app and carrier accounts to tracking; their tables stay (state only)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0005_tracking_link_lifetime'),
        ('orders', '0019_inbound_log_moved_to_inbound'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='filesource',
                    name='dictionary',
                ),
                migrations.RemoveField(
                    model_name='filesource',
                    name='merchant',
                ),
                migrations.RemoveField(
                    model_name='formatdictionary',
                    name='merchant',
                ),
                migrations.RemoveField(
                    model_name='queuesource',
                    name='dictionary',
                ),
                migrations.RemoveField(
                    model_name='queuesource',
                    name='merchant',
                ),
                migrations.RemoveField(
                    model_name='shopifyshop',
                    name='merchant',
                ),
                migrations.DeleteModel(
                    name='CarrierAccount',
                ),
                migrations.DeleteModel(
                    name='FileSource',
                ),
                migrations.DeleteModel(
                    name='FormatDictionary',
                ),
                migrations.DeleteModel(
                    name='QueueSource',
                ),
                migrations.DeleteModel(
                    name='ShopifyShop',
                ),
            ],
        ),
    ]
