"""The inbound log, moved from orders with its tables (orders_inboundmessage, orders_processedevent): state only, no row copied."""

import django.db.models.deletion
from django.db import migrations, models

APP = 'inbound'
MOVED = [('orders', 'inboundmessage'), ('orders', 'processedevent')]


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

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('merchants', '0006_channels_and_carrier_accounts_moved'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='InboundMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(choices=[('api', 'API'), ('file', 'File drop / SFTP'), ('queue', 'Message queue'), ('shopify', 'Shopify')], max_length=16)),
                        ('method', models.CharField(blank=True, max_length=8)),
                        ('path', models.CharField(blank=True, max_length=1000)),
                        ('content_type', models.CharField(blank=True, max_length=200)),
                        ('source', models.CharField(blank=True, max_length=300)),
                        ('body', models.BinaryField()),
                        ('idempotency_key', models.CharField(blank=True, max_length=255, null=True)),
                        ('request_hash', models.CharField(blank=True, max_length=64)),
                        ('order_ref', models.CharField(blank=True, max_length=100, verbose_name='order ID')),
                        ('outcome', models.CharField(choices=[('received', 'Received, not processed yet'), ('queued', 'Queued for the worker (Prefer: respond-async)'), ('accepted', 'Accepted'), ('rejected', 'Rejected (bad data)'), ('failed', 'Failed (our error)')], default='received', max_length=16)),
                        ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('response_body', models.TextField(blank=True, null=True)),
                        ('error_code', models.CharField(blank=True, max_length=64)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                        ('processed_at', models.DateTimeField(blank=True, null=True)),
                        ('replay_count', models.PositiveIntegerField(default=0)),
                        ('merchant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='inbound_messages', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'orders_inboundmessage',
                        'ordering': ['-received_at'],
                    },
                ),
                migrations.CreateModel(
                    name='ProcessedEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=200)),
                        ('response_status', models.PositiveSmallIntegerField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('inbound_message', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='inbound.inboundmessage')),
                        ('merchant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'orders_processedevent',
                    },
                ),
                migrations.AddIndex(
                    model_name='inboundmessage',
                    index=models.Index(fields=['merchant', '-received_at'], name='inbound_recent_idx'),
                ),
                migrations.AddIndex(
                    model_name='inboundmessage',
                    index=models.Index(fields=['merchant', 'order_ref'], name='inbound_order_idx'),
                ),
                migrations.AddIndex(
                    model_name='inboundmessage',
                    index=models.Index(condition=models.Q(('outcome', 'queued')), fields=['id'], name='inbound_queued_idx'),
                ),
                migrations.AddIndex(
                    model_name='inboundmessage',
                    index=models.Index(condition=models.Q(('outcome__in', ['rejected', 'failed'])), fields=['merchant', 'source'], name='inbound_unaccepted_source_idx', opclasses=['int8_ops', 'varchar_pattern_ops']),
                ),
                migrations.AddConstraint(
                    model_name='inboundmessage',
                    constraint=models.UniqueConstraint(condition=models.Q(('idempotency_key__isnull', False)), fields=('merchant', 'idempotency_key'), name='inbound_idempotency_key_unique'),
                ),
                migrations.AddConstraint(
                    model_name='processedevent',
                    constraint=models.UniqueConstraint(fields=('merchant', 'event_id'), name='processed_event_unique'),
                ),
            ],
        ),
        migrations.RunPython(content_types_renamed, content_types_restored),
    ]
