"""manage.py consume <merchantId> [--queue NAME] [--once] [--max-messages N]

Reads the merchant's active queues (QueueSource, console: Merchants › Queue sources) until
SIGTERM or SIGINT, which stop it after the message in hand. One thread per queue when there are
several. `--once` processes what is waiting and exits (cron, tests)."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ingest.channels.queues import Consumer, Tally
from ingest.models import QueueSource
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Consume a merchant's OMS queues (RabbitMQ, SQS, AMQP 1.0) into the inbound message log."

    def add_arguments(self, parser):
        parser.add_argument("merchant_id")
        parser.add_argument("--queue", help="Only this queue source (its name in the console).")
        parser.add_argument("--once", action="store_true", help="Process what waits, then exit.")
        parser.add_argument("--max-messages", type=int, help="Stop after this many per queue.")
        parser.add_argument("--prefetch", type=int, default=50, help="Messages held at once.")
        parser.add_argument("--wait", type=float, default=10, help="Seconds a receive waits.")
        parser.add_argument(
            "--retry-delay", type=float, default=10,
            help="SQS: seconds a message we failed stays invisible (doubling per receive).",
        )  # fmt: skip

    def handle(self, *args, **options):
        merchant = Merchant.objects.filter(merchant_id=options["merchant_id"]).first()
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant_id']}.")
        sources = self._sources(merchant, options["queue"])
        stop = threading.Event()
        settings = {
            "prefetch": options["prefetch"],
            "wait_seconds": options["wait"],
            "retry_delay_seconds": options["retry_delay"],
        }
        consumers = [Consumer(source, stop=stop, **settings) for source in sources]
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
        try:
            tallies = self._run(consumers, once=options["once"], limit=options["max_messages"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for consumer, tally in zip(consumers, tallies, strict=True):
            self.stdout.write(
                f"{consumer.label}: {tally.processed} processed, {tally.dead_lettered} "
                f"dead-lettered, {tally.retried} given back"
                + (f"; broker: {tally.broker_error}" if tally.broker_error else "")
            )
        if options["once"] and any(tally.broker_error for tally in tallies):
            raise CommandError("A queue could not be read; see above.")

    def _sources(self, merchant: Merchant, name: str | None) -> list[QueueSource]:
        sources = QueueSource.objects.filter(merchant=merchant, is_active=True).select_related(
            "merchant"
        )
        if name:
            sources = sources.filter(name=name)
        found = list(sources.order_by("name"))
        if not found:
            known = ", ".join(
                QueueSource.objects.filter(merchant=merchant, is_active=True)
                .order_by("name")
                .values_list("name", flat=True)
            )
            wanted = f"no active queue named {name!r}" if name else "no active queue"
            raise CommandError(f"{merchant.merchant_id} has {wanted} (active: {known or 'none'}).")
        return found

    def _run(self, consumers: list[Consumer], *, once: bool, limit: int | None) -> list[Tally]:
        if len(consumers) == 1:
            return [consumers[0].run(once=once, max_messages=limit)]
        tallies: list[Tally] = [Tally() for _ in consumers]

        def consume(index: int) -> None:
            try:
                tallies[index] = consumers[index].run(once=once, max_messages=limit)
            finally:
                connections.close_all()  # this thread's database connections

        threads = [
            threading.Thread(target=consume, args=(index,), name=consumer.label)
            for index, consumer in enumerate(consumers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A timed join, so the main thread keeps receiving SIGTERM/SIGINT.
            while thread.is_alive():
                thread.join(timeout=0.5)
        return tallies


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
