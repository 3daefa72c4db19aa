"""The sweep that sends the outbox every minute (a task queued with new rows usually wins)."""

from django.db import migrations

NAME = "send notifications"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "notifications.tasks.send_notifications", "schedule_type": "I",
                  "minutes": 1, "repeats": -1},
    )  # fmt: skip


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_messagetemplate"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
