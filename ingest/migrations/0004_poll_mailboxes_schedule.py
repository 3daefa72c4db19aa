from django.db import migrations

# Reading merchants' IMAP mailboxes (ingest/channels/imap.py): each minute, the sources not leased.
SCHEDULE_NAME = "poll email mailboxes"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": "ingest.tasks.poll_mailboxes", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )  # fmt: skip


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0003_email_source"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
