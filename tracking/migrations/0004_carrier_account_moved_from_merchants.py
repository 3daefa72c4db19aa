"""Carrier accounts, moved from merchants with their table (merchants_carrieraccount): state only, no row copied."""

import django.db.models.deletion
from django.db import migrations, models

APP = 'tracking'
MOVED = [('merchants', 'carrieraccount')]


def content_types_renamed(apps, schema_editor):
    """Permissions and admin history stay attached to the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for old_app, model in MOVED:
        if not content_type.objects.filter(app_label=APP, model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label=APP)


def content_types_restored(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for old_app, model in MOVED:
        content_type.objects.filter(app_label=APP, model=model).update(app_label=old_app)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('merchants', '0006_channels_and_carrier_accounts_moved'),
        ('tracking', '0003_foreign_keys_indexed_by_their_composites'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CarrierAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('carrier', models.CharField(choices=[('ups', 'UPS'), ('fedex', 'FedEx'), ('usps', 'USPS'), ('dhl', 'DHL'), ('canada_post', 'Canada Post')], max_length=16)),
                        ('client_id', models.CharField(blank=True, help_text='Not used by DHL.', max_length=200, verbose_name='client ID / username')),
                        ('secret', models.CharField(help_text='Stored as given.', max_length=500, verbose_name='client secret / password / API key')),
                        ('base_url', models.URLField(blank=True, help_text="Blank: the carrier's production API.")),
                        ('requests_per_minute', models.PositiveIntegerField(default=60, help_text='The poller never exceeds this for the account.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='carrier_accounts', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'merchants_carrieraccount',
                        'constraints': [models.UniqueConstraint(fields=('merchant', 'carrier'), name='carrier_account_unique'), models.CheckConstraint(condition=models.Q(('requests_per_minute__gte', 1)), name='carrier_rate_gte_1')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_renamed, content_types_restored),
    ]
