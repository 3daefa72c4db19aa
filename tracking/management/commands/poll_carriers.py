from django.core.management.base import BaseCommand
from django.utils import timezone

from tracking.delays import shipments_flag_delayed
from tracking.polling import poll_due_shipments
from tracking.tasks import poll_carriers


class Command(BaseCommand):
    help = "Polls the carriers for every shipment that is due (the worker does this each minute)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One round, then report.")

    def handle(self, *args, **options):
        if not options["once"]:
            self.stdout.write(poll_carriers())
            return
        report = poll_due_shipments()
        flagged = shipments_flag_delayed(now=timezone.now())
        self.stdout.write(
            f"claimed {report.claimed}, refreshed {report.refreshed}, failed {report.failed}, "
            f"deferred {report.deferred} (rate limit), not tracked {report.not_tracked}, "
            f"status changes {len(report.status_changes)}, newly delayed {flagged}"
        )
