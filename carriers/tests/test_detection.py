"""Carrier detection: the shared sample CSV, normalization, ranking and each check-digit algorithm.

Pure Python: runs with the Django suite, or without Django settings (--noconftest skips the root
conftest.py, which imports models):
    .venv/bin/python -m pytest -p no:django --noconftest tracking/tests/test_detection.py -q
"""

import csv
from pathlib import Path

import pytest

from carriers.detection import (
    FORMATS,
    Candidate,
    Detection,
    detect_carrier,
    dhl_mod7,
    fedex_mod11,
    is_valid_for_carrier,
    mod10,
    normalize_tracking_number,
    s10_mod11,
)

FIXTURE = Path(__file__).parent / "fixtures" / "tracking_numbers.csv"
POLLED = {"ups", "fedex", "usps", "dhl", "canada_post"}


def load_rows() -> list[tuple[str, str, bool]]:
    """(raw number, our carrier code, valid). S10 rows belong to the country's post."""
    with FIXTURE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [(row["number"], expected_carrier(row), row["valid"] == "true") for row in rows]


def expected_carrier(row: dict[str, str]) -> str:
    if row["carrier"] != "s10":
        return row["carrier"]
    country = normalize_tracking_number(row["number"])[-2:]
    return {"US": "usps", "CA": "canada_post"}.get(country, "other")


ROWS = load_rows()
DETECTED = POLLED | {"other"}  # "other": S10 items of postal operators we do not poll
OURS = [(number, carrier) for number, carrier, valid in ROWS if valid and carrier in DETECTED]

# Valid rows whose labelled carrier is not among the candidates, and why.
KNOWN_UNDETECTED = {
    # FedEx sandbox 10-digit numbers (bloodhound): no FedEx 10-digit format has a published check
    # digit; they pass DHL Express mod 7 and are detected as DHL.
    ("2873008051", "fedex"),
    ("1960003216", "fedex"),
    ("1208673524", "fedex"),
    ("1636374036", "fedex"),
    # FedEx sandbox NOTFOUND number: fails the FedEx Express check digit.
    ("647719948679", "fedex"),
    # bloodhound's FedEx list, but it validates only as a USPS 20-digit number with implied AI 91.
    ("02931503799192766595", "fedex"),
    # tracking_number_data history "USPS91 (20)": a SmartPost number shown without its "92";
    # we read that form as FedEx only (the same form is labelled invalid for USPS elsewhere).
    ("61292700768711948021", "usps"),
    # DHL eCommerce 14-digit numbers have no check digit and no prefix: not detected on purpose.
    ("60120172242323", "dhl"),
    ("5108 7693037816", "dhl"),
    ("60120174971147", "dhl"),
    # DHL Global Mail 16 digits and a 25-digit DHL Paket fixture: no published format.
    ("1071180100692707", "dhl"),
    ("0034043333301020022796580", "dhl"),
}

# Valid rows detected (their carrier is a candidate) but ranked below USPS: consolidator IMpbs
# that USPS delivers and tracks. The same numbers are labelled valid for USPS in the CSV too.
KNOWN_RANKED_BELOW_USPS = {
    ("9261292700768711948021", "fedex"),
    ("420 11213 92 6129098349792366623 8", "fedex"),
    ("92 6129098349792366623 8", "fedex"),
    ("9261293148703201595357", "fedex"),
    ("9274899992136003821767", "fedex"),
    ("420902459261290336128704042634", "dhl"),
    ("420941179261290336128704062441", "dhl"),
    ("420926029261290336128704067248", "dhl"),
    ("420902729261290336128704124163", "dhl"),
    ("420950549261290336128704133837", "dhl"),
    ("420193809261290336128704280838", "dhl"),
    ("420900469261290336128704216936", "dhl"),
    ("420944019261299999877816190127", "dhl"),
    ("420480369374810912400407068201", "dhl"),
}

# Rows labelled invalid that still validate for their carrier, and why.
KNOWN_FALSE_ACCEPTS = {
    # An old tracking_number_data vector; the number passes the USPS 20-digit implied-91 check
    # (tracking_number_data v2 accepts it too).
    ("61299998820821171812", "usps"),
    # Invalid only as a 10-digit DHL Express number; its JVGL piece-ID shape has no check digit.
    ("JVGL3099999999", "dhl"),
}

# Valid numbers of carriers we do not poll that one of our formats also accepts (same shape,
# check digit passes by chance or by design): the OMS carrier wins in these cases.
KNOWN_FOREIGN_CLAIMS = {
    ("78045768393", "old_dominion"): "dhl",  # 11 digits passing mod 7
    ("287809468872", "purolator"): "fedex",  # Purolator 12 digits also pass FedEx mod 11
    ("320610804900", "purolator"): "fedex",
    ("331434972567", "purolator"): "dhl",  # ... or DHL Paket's 4/9 weights
}


def top_carrier(raw: str) -> str | None:
    candidates = detect_carrier(raw).candidates
    return candidates[0].carrier if candidates else None


# --- the sample CSV -------------------------------------------------------------------------


def test_fixture_has_the_shared_csv_rows():
    # given the copy of /work/shared/samples/tracking_numbers.csv
    # when it is loaded
    # then it holds the 503 rows and the 273 valid rows of carriers we detect
    assert len(ROWS) == 503
    assert len(OURS) == 273


def test_valid_rows_have_their_carrier_among_candidates():
    # given every valid row of a carrier we detect
    # when each is detected
    undetected = {
        (number, carrier)
        for number, carrier in OURS
        if carrier not in {c.carrier for c in detect_carrier(number).candidates}
    }
    # then only the known cases miss: 261 of 273 (95.6%)
    assert undetected == KNOWN_UNDETECTED
    assert len(OURS) - len(undetected) == 261


def test_valid_rows_rank_their_carrier_first():
    # given every valid row of a carrier we detect
    # when each is detected
    not_first = {(number, carrier) for number, carrier in OURS if top_carrier(number) != carrier}
    # then the best candidate is the labelled carrier for 247 of 273 (90.5%)
    assert not_first == KNOWN_UNDETECTED | KNOWN_RANKED_BELOW_USPS
    assert len(OURS) - len(not_first) == 247


def test_consolidator_rows_ranked_below_usps_still_list_their_carrier():
    # given the consolidator IMpbs that USPS tracks
    for number, carrier in KNOWN_RANKED_BELOW_USPS:
        # when detected
        detection = detect_carrier(number)
        # then USPS clearly wins and the consolidator is a candidate
        assert detection.carrier == "usps"
        assert carrier in {candidate.carrier for candidate in detection.candidates}


def test_invalid_rows_do_not_validate_for_their_carrier():
    # given every invalid row of a carrier we detect (S10 ones by country)
    invalid = [(n, c) for n, c, valid in ROWS if not valid and c in DETECTED]
    # when validated against their own carrier
    accepted = {
        (number, carrier) for number, carrier in invalid if is_valid_for_carrier(number, carrier)
    }
    # then only the known cases pass: 2 of 82
    assert len(invalid) == 82
    assert accepted == KNOWN_FALSE_ACCEPTS


def test_foreign_carriers_numbers_are_rarely_claimed():
    # given the valid numbers of carriers we do not poll (amazon, purolator, lasership ...)
    foreign = [(n, c) for n, c, valid in ROWS if valid and c not in DETECTED]
    # when detected
    claimed = {(n, c): top_carrier(n) for n, c in foreign if top_carrier(n) is not None}
    # then only the known shape collisions land on one of our carriers: 4 of 101
    assert len(foreign) == 101
    assert claimed == KNOWN_FOREIGN_CLAIMS


# --- normalization --------------------------------------------------------------------------


def test_normalization_strips_spaces_dashes_and_uppercases():
    # given a number typed with spaces, dashes, tabs, a no-break space and lowercase letters
    raw = " 1z 999-aa1\t0123\u00a04567-84\n"
    # when normalized
    number = normalize_tracking_number(raw)
    # then only the uppercase characters remain
    assert number == "1Z999AA10123456784"


def test_normalization_strips_unicode_dashes_and_zero_width_characters():
    # given digits separated by an en dash, a zero-width space and a soft hyphen
    raw = "9400\u20131118\u200b9922\u00ad3818218407"
    # when normalized
    number = normalize_tracking_number(raw)
    # then the digits are joined
    assert number == "9400111899223818218407"


def test_detection_works_on_lowercase_spaced_input():
    # given a lowercase, spaced UPS number and a lowercase spaced S10 number
    # when detected
    ups = detect_carrier("1z 3913 yy03 4431 3151")
    usps = detect_carrier("ec 207 920 162 us")
    # then both are found and reported normalized
    assert ups == Detection("1Z3913YY0344313151", (Candidate("ups", "ups_1z", 1.0),))
    assert usps == Detection("EC207920162US", (Candidate("usps", "usps_s10", 1.0),))


# --- ranking and ambiguity ------------------------------------------------------------------


def test_twelve_digits_passing_fedex_and_dhl_paket_is_ambiguous():
    # given a FedEx Express number whose digits also pass DHL Paket's 4/9 check
    # when detected
    detection = detect_carrier("399368623212")
    # then both are candidates, FedEx first, and neither clearly wins
    assert detection.candidates == (
        Candidate("fedex", "fedex_express_12", 0.5),
        Candidate("dhl", "dhl_paket_12", 0.45),
    )
    assert detection.carrier is None
    assert detection.is_ambiguous is True


def test_twelve_digits_passing_only_fedex_is_fedex():
    # given a FedEx Express number that fails DHL Paket's check
    # when detected
    detection = detect_carrier("986578788855")
    # then FedEx is the carrier
    assert detection.candidates == (Candidate("fedex", "fedex_express_12", 0.5),)
    assert detection.carrier == "fedex"
    assert detection.is_ambiguous is False


def test_consolidator_impb_is_usps_with_alternatives():
    # given an AI 92 IMpb, which FedEx SmartPost, DHL eCommerce and UPS Mail Innovations also print
    # when detected
    detection = detect_carrier("9261292700768711948021")
    # then USPS clearly wins and the consolidators follow
    assert detection.candidates == (
        Candidate("usps", "usps_impb", 0.9),
        Candidate("ups", "ups_mail_innovations", 0.5),
        Candidate("fedex", "fedex_smartpost", 0.5),
        Candidate("dhl", "dhl_ecommerce_impb", 0.5),
    )
    assert detection.carrier == "usps"
    assert detection.is_ambiguous is False


def test_usps_routing_prefix_with_zip_and_zip_plus_four():
    # given the same kind of IMpb behind "420" + ZIP and "420" + ZIP+4
    # when detected
    zip5 = detect_carrier("420 92155 95 0550 0020 7143 0000 0128")
    zip9 = detect_carrier("420 92155 1234 95 0550 0020 7143 0000 0128")
    # then both are USPS IMpbs (AI 95 is USPS retail: no consolidator reading)
    assert zip5.candidates == (Candidate("usps", "usps_impb", 0.9),)
    assert zip9.candidates == (Candidate("usps", "usps_impb", 0.9),)


def test_s10_country_decides_the_carrier():
    # given the same S10 serial from four countries
    # when detected
    carriers = {cc: detect_carrier(f"RB123456785{cc}").carrier for cc in ("US", "CA", "GB", "XX")}
    # then US is USPS, CA is Canada Post, another post is "other", and XX is no country
    assert carriers == {"US": "usps", "CA": "canada_post", "GB": "other", "XX": None}


@pytest.mark.parametrize(
    "scenario", ["DELIVERED", "EXCEPTION", "RETURN", "PICKUP", "FAILED", "LOST"]
)
def test_sandbox_numbers_are_sandbox(scenario):
    # given a sandbox number typed in lowercase with dashes
    raw = f"sbx-{scenario.lower()}-0042"
    # when detected
    detection = detect_carrier(raw)
    # then it is the sandbox carrier and nothing else
    assert detection == Detection(f"SBX{scenario}0042", (Candidate("sandbox", "sandbox", 1.0),))


def test_sandbox_needs_a_known_scenario_and_digits():
    # given an unknown scenario and a scenario without digits
    # when detected
    # then neither is anything
    assert detect_carrier("SBXSTOLEN0001").candidates == ()
    assert detect_carrier("SBXDELIVERED").candidates == ()


def test_is_valid_for_carrier():
    # given a UPS 1Z number
    number = "1Z5R89390357567127"
    # when validated against UPS and FedEx
    # then only UPS accepts it
    assert is_valid_for_carrier(number, "ups") is True
    assert is_valid_for_carrier(number, "fedex") is False


def test_ups_cie_test_numbers_are_ups_although_their_check_digit_fails():
    # given a UPS CIE test number that fails the 1Z check digit
    # when detected
    detection = detect_carrier("1Z12345E0205271688")
    # then it is only the documented test form
    assert detection.candidates == (Candidate("ups", "ups_cie_test", 0.7),)


def test_candidates_are_sorted_and_formats_unique():
    # given every format and a multi-candidate detection
    names = [fmt.name for fmt in FORMATS]
    scores = [c.score for c in detect_carrier("9261292700768711948021").candidates]
    # then format names are unique and scores descend
    assert len(names) == len(set(names))
    assert scores == sorted(scores, reverse=True)


# --- garbage never raises -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "-",
        "a",
        "1",
        "😀📦",
        "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits: not ASCII, not a tracking number
        "１Ｚ９９９ＡＡ１０１２３４５６７８４",  # fullwidth
        "\x00\x01\x02",
        "ß" * 50,
        "9" * 10_000,
        "1Z" + "x" * 9_998,
        "NOT_EXISTING_TRACKING_NUMBER",
        "12c &^trackf0",
        "0" * 12,
        "00000000000000000000",
    ],
)
def test_garbage_yields_no_candidates(raw):
    # given input that is not a tracking number
    # when detected
    detection = detect_carrier(raw)
    # then there are no candidates, no carrier and no ambiguity
    assert detection.candidates == ()
    assert detection.carrier is None
    assert detection.is_ambiguous is False


@pytest.mark.parametrize("raw", [None, 123, b"1Z5R89390357567127", ["1Z"]])
def test_non_strings_yield_an_empty_detection(raw):
    # given something that is not a string at all
    # when detected
    detection = detect_carrier(raw)  # type: ignore[arg-type]
    # then the result is empty instead of an exception
    assert detection == Detection("", ())
    assert is_valid_for_carrier(raw, "ups") is False  # type: ignore[arg-type]


# --- check-digit algorithms on hand-checked numbers -----------------------------------------


def test_ups_mod10_converts_letters():
    # given 1Z999AA10123456784: payload 999AA1012345678, A=2
    # odd positions 9+9+2+0+2+4+6+8=40, even positions (9+2+1+1+3+5+7)x2=56, total 96
    # when the check digit is computed
    # then it is 10 - 6 = 4
    assert mod10((1, 2))("999AA1012345678") == 4
    assert detect_carrier("1Z999AA10123456784").carrier == "ups"


def test_ups_waybill_mod10():
    # given K2479825491: payload 247982549 -> 2+7+8+5+9=31 plus (4+9+2+4)x2=38, total 69
    # when the check digit is computed
    # then it is 1, and changing it to 2 is rejected
    assert mod10((1, 2))("247982549") == 1
    assert is_valid_for_carrier("K2479825491", "ups") is True
    assert is_valid_for_carrier("K2479825492", "ups") is False


def test_fedex_mod11_weights_1_3_7_from_the_right():
    # given 986578788855: payload 98657878885 reversed 5,8,8,8,7,8,7,5,6,8,9 x 1,3,7,...
    # = 5+24+56+8+21+56+7+15+42+8+27 = 269; 269 mod 11 = 5
    # when the check digit is computed
    # then it is 5
    assert fedex_mod11("98657878885") == 5
    assert is_valid_for_carrier("986578788855", "fedex") is True
    assert is_valid_for_carrier("996578788855", "fedex") is False


def test_gs1_mod10_weights_3_1_from_the_right():
    # given Canada Post 0073938000549297: payload 007393800054929 reversed x 3,1,...
    # = 27+2+27+4+15+0+0+0+24+3+27+3+21+0+0 = 153
    # when the check digit is computed
    # then it is 10 - 3 = 7
    assert mod10((3, 1))("007393800054929") == 7
    assert detect_carrier("0073938000549297").carrier == "canada_post"
    assert detect_carrier("0073938000549292").carrier is None


def test_usps_impb_mod10():
    # given 9400111206206406260787 (USPS IMpb, AI 94): payload 940011120620640626078 reversed
    # x 3,1,... = 24+7+0+6+6+6+0+4+18+0+6+6+0+2+3+1+3+0+0+4+27 = 123
    # when the check digit is computed, and the number detected as is and with another last digit
    # then the check digit is 10 - 3 = 7 and the number is USPS only with it
    assert mod10((3, 1))("940011120620640626078") == 7
    assert detect_carrier("9400111206206406260787").carrier == "usps"
    assert detect_carrier("9400111206206406260788").candidates == ()


def test_implied_prefix_counts_the_digits_a_label_leaves_out():
    # given FedEx SmartPost 61299998820821171811, printed without the IMpb's "92":
    # its payload weighs 170 with 3,1 from the right, and the implied 92 adds 2x1 + 9x3 = 29
    # when its check digit is computed with and without the implied 92
    with_92 = mod10((3, 1), "92")("6129999882082117181")
    without = mod10((3, 1))("6129999882082117181")
    # then only the implied 92 gives its check digit: 199 -> 1 (170 alone -> 0)
    assert (with_92, without) == (1, 0)
    assert detect_carrier("61299998820821171811").carrier == "fedex"


def test_dhl_mod7():
    # given 3318810025: 331881002 = 7 x 47411571 + 5
    # when the check digit is computed
    # then it is 5
    assert dhl_mod7("331881002") == 5
    assert detect_carrier("3318810025").carrier == "dhl"
    assert detect_carrier("3318810026").candidates == ()


def test_s10_mod11():
    # given RB123456785GB: 1,2,3,4,5,6,7,8 x 8,6,4,2,3,5,9,7 = 8+12+12+8+15+30+63+56 = 204
    # 204 mod 11 = 6
    # when the check digit is computed
    # then it is 11 - 6 = 5
    assert s10_mod11("12345678") == 5
    assert detect_carrier("RB123456785GB").carrier == "other"
    assert detect_carrier("RB123456786GB").candidates == ()


def test_s10_mod11_maps_10_and_11():
    # given a sum of 0 (11 - 0 = 11) and a sum of 6 x 2 = 12 (12 mod 11 = 1, 11 - 1 = 10)
    # when the check digits are computed
    # then 11 becomes 5 and 10 becomes 0
    assert s10_mod11("00000000") == 5
    assert s10_mod11("00060000") == 0


def test_dhl_paket_identcode_weights_4_9():
    # given DHL Paket 470800204932: 4,7,0,8,0,0,2,0,4,9,3 x 4,9,4,9,...
    # = 16+63+0+72+0+0+8+0+16+81+12 = 268
    # when the check digit is computed
    # then it is 10 - 8 = 2
    assert mod10((4, 9))("47080020493") == 2
    assert detect_carrier("470800204932").candidates == (Candidate("dhl", "dhl_paket_12", 0.45),)
