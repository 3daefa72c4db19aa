"""Channel configuration (from merchants) and the files read (from orders), moved with their tables: state only, no row copied."""

import django.db.models.deletion
from django.db import migrations, models
from django_q.signing import BadSignature, SignedPackage

APP = 'ingest'
MOVED = [('merchants', 'formatdictionary'), ('merchants', 'filesource'), ('merchants', 'queuesource'), ('merchants', 'shopifyshop'), ('orders', 'inboundfile')]


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

TASKS = [('orders.tasks.poll_file_sources', 'ingest.tasks.poll_file_sources'), ('orders.tasks.apply_queued_messages', 'ingest.tasks.apply_queued_messages')]


def schedules_renamed(apps, schema_editor):
    """The django-q2 schedules name their task by its dotted path, which moved with the app."""
    schedule = apps.get_model("django_q", "Schedule")
    for old, new in TASKS:
        schedule.objects.filter(func=old).update(func=new)


def schedules_restored(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for old, new in TASKS:
        schedule.objects.filter(func=new).update(func=old)


def _queued_tasks_renamed(apps, renames: dict[str, str]) -> None:
    """Tasks already queued (a wake-up for the respond-async drain) name their function too, inside
    django-q2's signed package: renamed there, so a worker on this code can still run them."""
    for queued in apps.get_model("django_q", "OrmQ").objects.all():
        try:
            task = SignedPackage.loads(queued.payload)
        except BadSignature:  # signed with another key: no worker of ours can run it either
            continue
        if isinstance(task.get("func"), str) and task["func"] in renames:
            task["func"] = renames[task["func"]]
            queued.payload = SignedPackage.dumps(task)
            queued.save(update_fields=["payload"])


def queued_tasks_renamed(apps, schema_editor):
    _queued_tasks_renamed(apps, dict(TASKS))


def queued_tasks_restored(apps, schema_editor):
    _queued_tasks_renamed(apps, {new: old for old, new in TASKS})


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('orders', '0013_queued_api_messages'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('merchants', '0006_channels_and_carrier_accounts_moved'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FormatDictionary',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('format', models.CharField(choices=[('json', 'JSON'), ('csv', 'CSV'), ('xml', 'XML')], max_length=8)),
                        ('mapping', models.JSONField(default=dict)),
                        ('sample', models.TextField(blank=True, help_text='A message of theirs, to test the mapping.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='format_dictionaries', to='merchants.merchant')),
                    ],
                    options={
                        'verbose_name_plural': 'format dictionaries',
                        'db_table': 'merchants_formatdictionary',
                    },
                ),
                migrations.CreateModel(
                    name='FileSource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('kind', models.CharField(choices=[('local', 'Local drop folder'), ('sftp', 'SFTP server')], max_length=8)),
                        ('directory', models.CharField(help_text='Where new files arrive.', max_length=500)),
                        ('file_pattern', models.CharField(default='*', max_length=100)),
                        ('archive_directory', models.CharField(max_length=500)),
                        ('error_directory', models.CharField(max_length=500)),
                        ('host', models.CharField(blank=True, max_length=255)),
                        ('port', models.PositiveIntegerField(default=22)),
                        ('username', models.CharField(blank=True, max_length=100)),
                        ('password', models.CharField(blank=True, help_text='Stored as given.', max_length=200)),
                        ('private_key', models.TextField(blank=True, help_text='PEM/OpenSSH; stored as given.')),
                        ('host_key', models.CharField(blank=True, help_text="The server's public key, pinned: “ssh-ed25519 AAAA…”.", max_length=2000)),
                        ('is_active', models.BooleanField(default=True)),
                        ('last_polled_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='file_sources', to='merchants.merchant')),
                        ('dictionary', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ingest.formatdictionary')),
                    ],
                    options={
                        'db_table': 'merchants_filesource',
                    },
                ),
                migrations.CreateModel(
                    name='InboundFile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=255)),
                        ('size', models.PositiveBigIntegerField()),
                        ('sha256', models.CharField(max_length=64)),
                        ('status', models.CharField(choices=[('processing', 'Being processed'), ('processed', 'Processed'), ('with_errors', 'Processed; some records rejected (in the error folder)'), ('duplicate', 'Same content as a file already processed; not processed again')], default='processing', max_length=16)),
                        ('records_read', models.PositiveIntegerField(default=0)),
                        ('records_accepted', models.PositiveIntegerField(default=0)),
                        ('records_rejected', models.PositiveIntegerField(default=0)),
                        ('records_failed', models.PositiveIntegerField(default=0)),
                        ('problem', models.CharField(blank=True, max_length=500)),
                        ('report', models.JSONField(blank=True, default=list)),
                        ('moved_to', models.CharField(blank=True, max_length=1000)),
                        ('leased_until', models.DateTimeField(blank=True, null=True)),
                        ('started_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('merchant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='merchants.merchant')),
                        ('source', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='ingest.filesource')),
                    ],
                    options={
                        'db_table': 'orders_inboundfile',
                        'ordering': ['-started_at'],
                    },
                ),
                migrations.CreateModel(
                    name='QueueSource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('kind', models.CharField(choices=[('rabbitmq', 'RabbitMQ'), ('sqs', 'Amazon SQS')], max_length=8)),
                        ('url', models.CharField(help_text='amqp://user:password@host:5672/vhost, or the SQS queue URL.', max_length=500)),
                        ('queue_name', models.CharField(blank=True, help_text='RabbitMQ only.', max_length=200)),
                        ('dead_letter_queue', models.CharField(blank=True, help_text='Queue name (RabbitMQ) or URL (SQS).', max_length=500)),
                        ('region', models.CharField(blank=True, help_text='SQS only.', max_length=32)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('dictionary', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ingest.formatdictionary')),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='queue_sources', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'merchants_queuesource',
                    },
                ),
                migrations.CreateModel(
                    name='ShopifyShop',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('shop_domain', models.CharField(help_text='fred.myshopify.com', max_length=255, unique=True)),
                        ('webhook_secret', models.CharField(help_text="The app's client secret that signs webhooks; stored as given.", max_length=200)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shopify_shops', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'merchants_shopifyshop',
                    },
                ),
                migrations.AddConstraint(
                    model_name='formatdictionary',
                    constraint=models.UniqueConstraint(fields=('merchant', 'name'), name='format_dictionary_unique'),
                ),
                migrations.AddConstraint(
                    model_name='filesource',
                    constraint=models.UniqueConstraint(fields=('merchant', 'name'), name='file_source_unique'),
                ),
                migrations.AddIndex(
                    model_name='inboundfile',
                    index=models.Index(fields=['merchant', '-started_at'], name='inbound_file_recent_idx'),
                ),
                migrations.AddConstraint(
                    model_name='inboundfile',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'duplicate'), _negated=True), fields=('source', 'sha256'), name='inbound_file_unique'),
                ),
                migrations.AddConstraint(
                    model_name='queuesource',
                    constraint=models.UniqueConstraint(fields=('merchant', 'name'), name='queue_source_unique'),
                ),
            ],
        ),
        migrations.RunPython(content_types_renamed, content_types_restored),
        migrations.RunPython(schedules_renamed, schedules_restored),
        migrations.RunPython(queued_tasks_renamed, queued_tasks_restored),
    ]
