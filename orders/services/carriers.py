"""Which carrier a number belongs to when the number alone cannot tell (a 12-digit number that is
both a FedEx Express and a DHL Paket number): the merchant's own data breaks the tie. Detection
(`carriers/detection.py`) stays pure; this is where a merchant is known."""

from collections.abc import Callable, Sequence

from carriers.detection import Candidate
from merchants.models import Merchant
from merchants.selectors import carriers_with_accounts
from orders.models import Shipment

# Formats a carrier prints only for parcels within one country: DHL Paket's 12-digit Identcode
# is Germany's domestic parcel number, where FedEx Express's 12 digits go anywhere.
DOMESTIC_FORMATS = {"dhl_paket_12": "DE"}


def carrier_break_tie(
    *, merchant: Merchant, candidates: Sequence[Candidate], destination_country: Callable[[], str]
) -> str | None:
    """The one candidate carrier the merchant's data points to, else None. Asked in turn, each
    narrowing what the one before left: the carriers it has accounts with, the carriers it has
    shipped with, the parcel's destination. Each is read only when the ones before did not
    decide."""
    carriers = list(dict.fromkeys(candidate.carrier for candidate in candidates))
    signals = (
        lambda: carriers_with_accounts(merchant),
        lambda: _carriers_shipped_with(merchant, carriers),
        lambda: _carriers_delivering_to(candidates, destination_country()),
    )
    for signal in signals:
        pointed_to = signal()
        kept = [carrier for carrier in carriers if carrier in pointed_to]
        if len(kept) == 1:
            return kept[0]
        carriers = kept or carriers
    return None


def _carriers_shipped_with(merchant: Merchant, carriers: Sequence[str]) -> set[str]:
    return {
        carrier
        for carrier in carriers
        if Shipment.objects.filter(merchant=merchant, carrier=carrier).exists()
    }


def _carriers_delivering_to(candidates: Sequence[Candidate], country: str) -> set[str]:
    """A domestic format wins in its own country and is ruled out elsewhere."""
    if not country:
        return set()
    domestic = {c.carrier for c in candidates if DOMESTIC_FORMATS.get(c.format) == country}
    return domestic or {c.carrier for c in candidates if c.format not in DOMESTIC_FORMATS}
