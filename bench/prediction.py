"""Predicted delivery, measured (issue 24): on the 1,000,000-order database of bench/generate.py,
lanes are learnt as of 30 days before the data's "now" (tracking/predictions.py, as the hourly
schedule builds them), then every package shipped after that day and delivered since is checked:
did its delivery day fall in the range we would have shown? Beside it, in the same run, the floor:
one range per carrier (its 10th to 90th percentile over every lane), and the carrier's own
estimated day (exact-day hits).

    .venv/bin/python bench/prediction.py [--orders 1000000]

Writes the "## Predicted delivery" section of docs/benchmarks.md.
"""

import argparse
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import child_json, machine, write_doc
from bench.generate import DEFAULT_ORDERS, complete_generation, database_env, ensure_database

BACKTEST = timedelta(days=30)


def child() -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Max

    from carriers.vocabulary import Status
    from orders.models import Shipment
    from tracking.models import TransitLane
    from tracking.predictions import lane_key, percentile, transit_lanes_rebuild

    delivered = Shipment.objects.filter(status=Status.DELIVERED, shipped_at__isnull=False)
    now = delivered.aggregate(newest=Max("delivered_at"))["newest"]
    cutoff = now - BACKTEST
    lanes_built = transit_lanes_rebuild(now=cutoff)
    lanes = {(lane.carrier, lane.service, lane.origin, lane.destination): lane
             for lane in TransitLane.objects.all()}  # fmt: skip
    per_carrier: dict[str, list[int]] = defaultdict(list)
    learnt = delivered.filter(delivered_at__lte=cutoff, delivered_at__gte=cutoff - timedelta(120))
    for carrier, shipped, arrived in learnt.values_list("carrier", "shipped_at", "delivered_at"
                                                        ).iterator(chunk_size=5000):  # fmt: skip
        per_carrier[carrier].append((arrived.date() - shipped.date()).days)
    carrier_range = {c: (percentile(d, 0.1), percentile(d, 0.9)) for c, d in per_carrier.items()}
    ours = {"checked": 0, "covered": 0, "hits": 0, "width": 0}
    floor = {"checked": 0, "hits": 0, "width": 0}
    carrier_estimate = {"checked": 0, "hits": 0}
    tested = delivered.filter(shipped_at__gt=cutoff).values_list(
        "carrier", "service", "origin_country", "origin_state", "destination_country",
        "destination_state", "shipped_at", "delivered_at", "estimated_delivery_date")  # fmt: skip
    for *key, shipped, arrived, estimate in tested.iterator(chunk_size=5000):
        days = (arrived.date() - shipped.date()).days
        ours["checked"] += 1
        lane = lanes.get(lane_key(*key))
        if lane is not None:
            ours["covered"] += 1
            ours["hits"] += lane.earliest_days <= days <= lane.latest_days
            ours["width"] += lane.latest_days - lane.earliest_days + 1
        if key[0] in carrier_range:
            low, high = carrier_range[key[0]]
            floor["checked"] += 1
            floor["hits"] += low <= days <= high
            floor["width"] += high - low + 1
        if estimate:
            carrier_estimate["checked"] += 1
            carrier_estimate["hits"] += estimate == arrived.date()
    return {"lanes": lanes_built, "minimum": settings.PREDICTION_MIN_DELIVERIES,
            "cutoff": cutoff.date().isoformat(), "ours": ours, "floor": floor,
            "carrier": carrier_estimate}  # fmt: skip


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def report(result: dict, orders: int) -> str:
    ours, floor, carrier = result["ours"], result["floor"], result["carrier"]
    info = machine()
    return "\n".join([
        "## Predicted delivery",
        "",
        f"`bench/prediction.py` on the generated database ({orders:,} orders; commit "
        f"{info['commit']}, {info['cpus']} CPUs {info['cpu_model']}): "
        f"lanes learnt as of {result['cutoff']} (the last 120 days of deliveries; a lane needs "
        f"{result['minimum']} deliveries), then every package shipped after that day and "
        "delivered since checked against the range we would have shown.",
        "",
        "| | packages | with a range | delivery day in the range | mean range (days) |",
        "|---|---|---|---|---|",
        f"| ours: per lane (carrier, service, origin → destination region), {result['lanes']:,} "
        f"lanes | {ours['checked']:,} | {_share(ours['covered'], ours['checked'])} | "
        f"{_share(ours['hits'], ours['covered'])} | "
        f"{ours['width'] / max(ours['covered'], 1):.1f} |",
        f"| floor: one range per carrier | {floor['checked']:,} | 100 % | "
        f"{_share(floor['hits'], floor['checked'])} | "
        f"{floor['width'] / max(floor['checked'], 1):.1f} |",
        f"| the carrier's own estimated day (exact) | {carrier['checked']:,} | — | "
        f"{_share(carrier['hits'], carrier['checked'])} | 1 |",
        "",
        "The generated carriers' transit times do not depend on the route, so a lane can only "
        "match the carrier-wide range here; on real history the lane is what narrows it.",
        "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import json

        print(json.dumps(child()))
        return
    ensure_database(args.orders)  # generated when missing, else migrated to head
    generation = complete_generation()
    result = child_json(__file__, "--child", env=database_env())
    section = report(result, generation["orders"])
    print(section)
    write_doc(section)


if __name__ == "__main__":
    main()
