from django.db import migrations

# Pulling platforms' APIs (ingest/channels/pulls.py): each minute, the connections that are due.
SCHEDULE_NAME = "pull platforms"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": "ingest.tasks.pull_platforms", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )  # fmt: skip


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
