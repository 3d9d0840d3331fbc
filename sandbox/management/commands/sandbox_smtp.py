import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sandbox.mail.server import smtp_server


class Command(BaseCommand):
    help = (
        "Serve the sandbox's SMTP server, keeping every mail it accepts for the sandbox page "
        "(run with --settings=incidents_site.settings_sandbox)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default SANDBOX_SMTP_PORT (8025)")

    def handle(self, *args: object, **options: object) -> None:
        port = int(options["port"] or settings.SANDBOX_SMTP_PORT)  # type: ignore[call-overload]
        server = smtp_server(host=str(options["host"]), port=port)
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        server.start()
        self.stdout.write(f"sandbox SMTP server on {options['host']}:{port}")
        try:
            stop.wait()
        finally:
            server.stop()
