from django.core.management.base import BaseCommand, CommandError

from flextracker.api.style import ApiStyle
from merchants.models import Merchant
from merchants.services import api_key_issue


class Command(BaseCommand):
    help = "Issues an API key for a merchant and prints the key alone (it is not stored anywhere)."

    def add_arguments(self, parser):
        parser.add_argument("merchant_id")
        parser.add_argument("--name", default="default")
        parser.add_argument(
            "--style",
            choices=ApiStyle.values,
            default=ApiStyle.NATIVE,
            help="The vocabulary of its tracking answers (API.md: native or seed 002's).",
        )

    def handle(self, *args, **options):
        merchant = Merchant.objects.filter(merchant_id=options["merchant_id"]).first()
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant_id']}.")
        _api_key, raw_key = api_key_issue(
            merchant=merchant, name=options["name"], style=options["style"]
        )
        self.stdout.write(raw_key)
