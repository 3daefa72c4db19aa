"""manage.py receive_email [--host 127.0.0.1] [--port 25]

Listens for SMTP (aiosmtpd) until SIGTERM or SIGINT: the emails merchants forward to their email
sources' addresses (`<token>@INBOUND_EMAIL_DOMAIN`, whose MX record points here). Unknown
recipients are refused at RCPT; each accepted email is in the inbound message log before 250."""

import signal
import threading

from django.core.management.base import BaseCommand

from ingest.channels.smtp import smtp_listener

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Command(BaseCommand):
    help = "Receive merchants' forwarded shipping emails over SMTP into the inbound message log."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=25)

    def handle(self, *args, **options):
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
        listener = smtp_listener(options["host"], options["port"])
        listener.start()
        self.stdout.write(f"Receiving email on {options['host']}:{options['port']}.", ending="\n")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            listener.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")
