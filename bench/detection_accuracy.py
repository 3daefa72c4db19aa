"""Carrier detection accuracy on the sample CSV: ours, and PyPI `tracking-numbers` when importable.

    .venv/bin/python bench/detection_accuracy.py            # ours only
    /tmp/tnvenv/bin/python bench/detection_accuracy.py      # ours and the package, side by side

The package is measured from a throwaway virtualenv (`python3.11 -m venv /tmp/tnvenv &&
/tmp/tnvenv/bin/pip install tracking-numbers`); it is never a dependency of the project. Our
detector is pure Python, so any interpreter can import it from the repository.

Per expected carrier (S10 rows count as usps / canada_post / other by their country suffix):
  valid: rows labelled valid; top: the best candidate is the expected carrier; any: the expected
  carrier is among the candidates; invalid: rows labelled invalid; accepted: invalid rows that
  still validate for their carrier. Rows of carriers we do not poll (amazon, purolator ...) are
  "foreign": claimed = valid foreign numbers that a detector attributes to one of our carriers.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from carriers.detection import detect_carrier, normalize_tracking_number  # noqa: E402

CSV_PATH = REPO / "tracking" / "tests" / "fixtures" / "tracking_numbers.csv"
POLLED = ("ups", "fedex", "usps", "dhl", "canada_post")
REPORTED = (*POLLED, "other")


def s10_carrier(number: str) -> str:
    return {"US": "usps", "CA": "canada_post"}.get(normalize_tracking_number(number)[-2:], "other")


def expected_carrier(row: dict[str, str]) -> str:
    """Our carrier code for a CSV row; carriers we do not poll keep their own name."""
    return s10_carrier(row["number"]) if row["carrier"] == "s10" else row["carrier"]


# A detector maps a raw number to (best carrier or None, every carrier that validates).
Detector = Callable[[str], tuple[str | None, set[str]]]


def ours(number: str) -> tuple[str | None, set[str]]:
    detection = detect_carrier(number)
    best = detection.candidates[0].carrier if detection.candidates else None
    return best, {candidate.carrier for candidate in detection.candidates}


def package_detector() -> Detector | None:
    try:
        import tracking_numbers  # optional: it lives in a throwaway venv, never in the project
    except ImportError:
        return None

    def as_our_code(code: str, number: str) -> str:
        return s10_carrier(number) if code == "s10" else code

    def detect(number: str) -> tuple[str | None, set[str]]:
        best = tracking_numbers.get_tracking_number(number)
        every = set()
        for definition in tracking_numbers.DEFINITIONS:
            result = definition.test(number)
            if result and result.valid:
                every.add(as_our_code(result.courier.code, number))
        return (as_our_code(best.courier.code, number) if best else None), every

    return detect


def measure(detector: Detector, rows: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        expected = expected_carrier(row)
        best, every = detector(row["number"])
        group = expected if expected in REPORTED else "foreign"
        tally = counts[group]
        if row["valid"] == "true":
            tally["valid"] += 1
            tally["top"] += best == expected
            tally["any"] += expected in every
            tally["claimed"] += group == "foreign" and best in POLLED
        else:
            tally["invalid"] += 1
            tally["accepted"] += expected in every
    for group in REPORTED:
        for key, value in counts[group].items():
            counts["total"][key] += value
    return counts


def share(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.0%})" if whole else "0"


def table(results: dict[str, dict[str, dict[str, int]]]) -> str:
    names = list(results)
    columns = "".join(f" {name} top | {name} any | {name} invalid accepted |" for name in names)
    lines = ["| carrier | valid |" + columns, "|---|---|" + "---|---|---|" * len(names)]
    for group in (*REPORTED, "total"):
        valid = results[names[0]][group]["valid"]
        cells = [group, str(valid)]
        for name in names:
            tally = results[name][group]
            cells += [share(tally["top"], valid), share(tally["any"], valid)]
            cells.append(f"{tally['accepted']}/{tally['invalid']}")
        lines.append("| " + " | ".join(cells) + " |")
    foreign = results[names[0]]["foreign"]["valid"]
    claims = ", ".join(f"{name} {results[name]['foreign']['claimed']}" for name in names)
    lines.append(f"\nForeign valid numbers claimed by one of our carriers (of {foreign}): {claims}")
    return "\n".join(lines)


def main() -> None:
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    results = {"ours": measure(ours, rows)}
    package = package_detector()
    if package is None:
        print("tracking_numbers is not importable here: measuring ours only.\n")
    else:
        results["package"] = measure(package, rows)
    print(table(results))


if __name__ == "__main__":
    main()
