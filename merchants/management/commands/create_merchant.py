from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from merchants.models import Merchant
from merchants.services import merchant_create


class Command(BaseCommand):
    help = 'Creates a merchant, e.g.: create_merchant FDC-01-12345 --name "Fred\'s Discount City"'

    def add_arguments(self, parser):
        parser.add_argument("merchant_id")
        parser.add_argument("--name", required=True)
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--locale", default="en")
        parser.add_argument("--support-email", default="")

    def handle(self, *args, **options):
        if Merchant.objects.filter(merchant_id=options["merchant_id"]).exists():
            raise CommandError(f"Merchant {options['merchant_id']} already exists.")
        try:
            merchant = merchant_create(
                merchant_id=options["merchant_id"],
                name=options["name"],
                time_zone=options["time_zone"],
                locale=options["locale"],
                support_email=options["support_email"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Created {merchant}.")
