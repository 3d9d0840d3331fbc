from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.faults import FaultSettingsError, reset_faults, update_faults
from sandbox.models import SYSTEMS, Fault


class Command(BaseCommand):
    help = "Show or change how a sandbox stand-in misbehaves (run with --settings=incidents_site.settings_sandbox)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("system", choices=SYSTEMS)
        parser.add_argument("--clear", action="store_true", help="reset every fault of the system first")
        parser.add_argument("--latency-ms", type=int, dest="latency_ms")
        parser.add_argument("--error-rate", type=float, dest="error_rate", help="fraction of requests to fail, 0..1")
        parser.add_argument("--error-status", type=int, dest="error_status", help="status of failed requests (503)")
        parser.add_argument("--fail-next", type=int, dest="fail_next", help="fail the next N requests")
        parser.add_argument("--rate-limit-next", type=int, dest="rate_limit_next", help="answer 429 to the next N")
        parser.add_argument("--retry-after", type=int, dest="retry_after", help="Retry-After seconds of those 429s")
        parser.add_argument("--hang-next", type=int, dest="hang_next", help="hang on the next N requests")
        parser.add_argument("--hang-seconds", type=float, dest="hang_seconds")
        parser.add_argument("--hang-phase", choices=[Fault.HANG_BEFORE, Fault.HANG_AFTER], dest="hang_phase")
        parser.add_argument(
            "--down",
            type=lambda value: value.lower() in ("1", "true", "yes", "on"),
            help="mail: refuse every mail (true/false)",
        )
        parser.add_argument(
            "--drop-events-next", type=int, dest="drop_events_next", help="servicenow: send none of the next N events"
        )
        parser.add_argument(
            "--duplicate-events-next", type=int, dest="duplicate_events_next", help="servicenow: send the next N twice"
        )
        parser.add_argument(
            "--reorder-events-next",
            type=int,
            dest="reorder_events_next",
            help="servicenow: hold each of the next N events back and send it after the event that follows it",
        )
        parser.add_argument(
            "--bulk-fail-next", type=int, dest="bulk_fail_next", help="salesforce: the next N bulk jobs end Failed"
        )
        parser.add_argument(
            "--bulk-poll-hang-seconds",
            type=float,
            dest="bulk_poll_hang_seconds",
            help="salesforce: every poll of a bulk job waits this long before answering (0: none)",
        )
        parser.add_argument(
            "--bulk-upload-503-next",
            type=int,
            dest="bulk_upload_503_next",
            help="salesforce: the next N uploads of bulk job data answer 503",
        )

    def handle(self, *args: object, **options: object) -> None:
        system = str(options["system"])
        values = {name: options[name] for name in Fault.SETTABLE if options.get(name) is not None}
        try:
            if options["clear"]:
                reset_faults(system)
            fault = update_faults(system, values)
        except FaultSettingsError as exc:
            raise CommandError(str(exc)) from exc
        for name, value in fault.as_dict().items():
            self.stdout.write(f"{name}={value}")
