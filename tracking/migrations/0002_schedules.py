"""The worker's two schedules (RELIABILITY.md: one fan-out schedule, not one per shipment)."""

from django.db import migrations

SCHEDULES = {
    "poll carriers": ("tracking.tasks.poll_carriers", 1),
    "flag delayed shipments": ("tracking.tasks.flag_delayed", 15),
}


def create_schedules(apps, schema_editor):
    schedule_model = apps.get_model("django_q", "Schedule")
    for name, (func, minutes) in SCHEDULES.items():
        schedule_model.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
