"""The hourly schedule that rebuilds the transit lanes (daily) and sets open shipments' predicted
delivery (tracking/predictions.py)."""

from django.db import migrations

NAME = "refresh predicted delivery"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "tracking.tasks.refresh_predictions",
            "schedule_type": "I",
            "minutes": 60,
            "repeats": -1,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0007_predicted_delivery"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
