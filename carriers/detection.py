"""Which carrier issued a tracking number: published formats and check digits, nothing else.

Pure Python (no Django, no I/O). Detection is a ranked hint: the OMS's carrier always wins and the
carrier's API has the last word (TRACKING.md). Formats and check-digit rules follow
jkeen/tracking_number_data; docs/detection.md lists them, the ranking and what is not covered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import cycle

__all__ = [
    "Candidate",
    "Detection",
    "detect_carrier",
    "is_valid_for_carrier",
    "normalize_tracking_number",
]

# Spaces, every other Unicode whitespace, ASCII and Unicode dashes, soft hyphens and the zero-width
# characters that e-mail templates slip between digit groups.
_SEPARATORS = re.compile(r"[\s\-\u00ad\u2010-\u2015\u2212\ufe63\uff0d\u200b-\u200d\u2060\ufeff]+")
_ALPHANUMERIC = re.compile(r"[0-9A-Z]+", re.ASCII)
MAX_LENGTH = 40  # the longest format, 420 + ZIP+4 + a 26-digit IMpb, has 38 characters


def normalize_tracking_number(raw: str) -> str:
    """Strip spaces, dashes and other whitespace, and uppercase: `1z 999-aa1` -> `1Z999AA1`."""
    if not isinstance(raw, str):
        return ""
    return _SEPARATORS.sub("", raw).upper()


# ---------------------------------------------------------------------------------------------
# Check-digit algorithms: each returns the expected check digit of a payload, i.e. the characters
# the check digit covers (for some formats only part of the number).
# ---------------------------------------------------------------------------------------------

CheckDigit = Callable[[str], int]


def _value(char: str) -> int:
    """A digit is itself; UPS turns a letter into (ASCII code - 3) mod 10: A=2, B=3 ... I=0, J=1."""
    return ord(char) - ord("0") if char <= "9" else (ord(char) - 3) % 10


def _weighted_sum(payload: str, weights: tuple[int, ...]) -> int:
    """Sum of value x weight, the weights cycling leftwards from the payload's last character."""
    return sum(_value(char) * weight for char, weight in zip(reversed(payload), cycle(weights)))


def mod10(weights: tuple[int, ...], implied_prefix: str = "") -> CheckDigit:
    """10 - (weighted sum mod 10), 0 for 10. `implied_prefix` counts digits a label leaves out."""
    return lambda payload: -_weighted_sum(implied_prefix + payload, weights) % 10


def fedex_mod11(payload: str) -> int:
    """FedEx: weights 1, 3, 7 leftwards from the last payload digit; (sum mod 11) mod 10."""
    return _weighted_sum(payload, (1, 3, 7)) % 11 % 10


def dhl_mod7(payload: str) -> int:
    """DHL Express: the serial number modulo 7."""
    return int(payload) % 7


def s10_mod11(payload: str) -> int:
    """UPU S10: weights 8,6,4,2,3,5,9,7 on the 8 serial digits; 11 - (sum mod 11); 10->0, 11->5."""
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    total = sum(_value(char) * weight for char, weight in zip(payload, weights, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


UPS_MOD10 = mod10((1, 2))  # 1Z and waybills: x1, x2, x1 ... from the left of 15 or 9 characters
GS1_MOD10 = mod10((3, 1))  # GS1, USPS IMpb, Canada Post, FedEx Ground: x3 on the last payload digit
IDENTCODE_MOD10 = mod10((4, 9))  # Deutsche Post Identcode weights, used by DHL Paket's 12 digits

# ---------------------------------------------------------------------------------------------
# Ranking. A score says how unlikely it is that a number from elsewhere fits the format by chance;
# it is not a probability. Letters plus a check digit (1Z..., AA123456789US, SBX...) are practically
# unique. A numeric prefix or an unusual length plus a check digit (IMpb 92..., FedEx 96..., DHL
# 00340434..., FedEx 34 digits) comes next, then a distinctive prefix without a published check
# digit (JJD, GM). A bare length plus a check digit lets ~1 in 10 random numbers through, so a
# 12-digit number may be FedEx Express or DHL Paket; DHL's mod 7 ranks last because 10-11 digits
# is also the length of phone, order and freight numbers.
# Consolidators (FedEx SmartPost, DHL eCommerce, UPS Mail Innovations) hand parcels to USPS under
# an ordinary AI 92/93 IMpb, so their reading ranks below USPS, which tracks every IMpb whoever
# printed it. A carrier wins when its best score beats every other carrier's best by CLEAR_MARGIN;
# otherwise the detection is ambiguous. Equal scores keep the order of FORMATS.
# ---------------------------------------------------------------------------------------------

LETTERS = 1.0  # letters + check digit
PREFIXED = 0.9  # numeric prefix + check digit
LONG = 0.8  # unusual length (or a single letter) + check digit
UNCHECKED = 0.7  # distinctive prefix, no published check digit
LENGTH = 0.5  # only a length + a check digit
CONSOLIDATOR = 0.5  # a consolidator's reading of a USPS IMpb
REGIONAL = 0.45  # DHL Paket's 12 digits: FedEx Express's shape, rarer in our market
MOD7 = 0.4  # 10-11 digits + mod 7
CLEAR_MARGIN = 0.2

# ISO 3166-1 alpha-2: the last two letters of an S10 number name the issuing postal operator.
_ISO_3166_ALPHA_2 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM "
    "ZW"
)
_COUNTRIES = frozenset(_ISO_3166_ALPHA_2.split())
_OTHER_POSTS = "|".join(sorted(_COUNTRIES - {"US", "CA"}))
SANDBOX_SCENARIOS = ("DELIVERED", "EXCEPTION", "RETURN", "PICKUP", "FAILED", "LOST")

# Pattern notation: a regular expression for the whole normalized number in which <...> is the
# payload the check digit covers and # is the check digit.
S10 = "[A-Z]{2}<[0-9]{8}>#"  # + the 2-letter country
IMPB = "<9[1-5][0-9]{19}|9[1-5][0-9]{23}>#"  # application identifier 91-95, 22 or 26 digits
IMPB_92 = "<92[0-9]{19}>#"  # the 22-digit IMpb consolidators print: AI 92 (FedEx, UPS) ...
IMPB_92_93 = "<9[23][0-9]{19}>#"  # ... or 92/93 (DHL)


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    carrier: str
    pattern: re.Pattern[str]
    check_digit: CheckDigit | None  # None: no published check digit, the prefix identifies it
    score: float
    routed: bool  # also read behind a USPS "420 + ZIP" routing prefix


def _format(
    name: str,
    carrier: str,
    pattern: str,
    check_digit: CheckDigit | None,
    score: float,
    *,
    routed: bool = False,
) -> _Format:
    regex = pattern.replace(">", ")").replace("<", "(?P<payload>").replace("#", "(?P<check>[0-9])")
    return _Format(name, carrier, re.compile(regex, re.ASCII), check_digit, score, routed)


FORMATS: tuple[_Format, ...] = (
    _format("sandbox", "sandbox", f"SBX(?:{'|'.join(SANDBOX_SCENARIOS)})[0-9]+", None, LETTERS),
    # --- UPS
    _format("ups_1z", "ups", "1Z<[0-9A-Z]{15}>#", UPS_MOD10, LETTERS),
    # UPS documents these CIE test numbers (shipper 12345E) for its test environment, which the
    # adapters can be pointed at, but most of them fail the check digit.
    _format("ups_cie_test", "ups", "1Z12345E[0-9]{10}", None, UNCHECKED),
    _format("ups_waybill", "ups", "[HJKTV]<[0-9]{9}>#", UPS_MOD10, LONG),
    _format("ups_mail_innovations", "ups", IMPB_92, GS1_MOD10, CONSOLIDATOR, routed=True),
    # --- FedEx
    _format("fedex_express_12", "fedex", "<[0-9]{11}>#", fedex_mod11, LENGTH),
    _format("fedex_door_tag", "fedex", "DT<[0-9]{11}>#", fedex_mod11, LETTERS),
    _format("fedex_ground_15", "fedex", "<[0-9]{14}>#", GS1_MOD10, LENGTH),
    _format("fedex_ground_sscc_18", "fedex", "00<[0-9]{15}>#", GS1_MOD10, LENGTH),
    _format("fedex_ground_96_22", "fedex", "96[0-9]{5}<[0-9]{14}>#", GS1_MOD10, PREFIXED),
    _format("fedex_ground_gsn_34", "fedex", "96[0-9]{18}<[0-9]{13}>#", fedex_mod11, PREFIXED),
    _format("fedex_express_34", "fedex", "1[0-9]{19}<[0-9]{13}>#", fedex_mod11, LONG),
    _format("fedex_astra_32", "fedex", "3[0-9]{15}<[0-9]{11}>#[0-9]{4}", fedex_mod11, LONG),
    _format("fedex_smartpost", "fedex", IMPB_92, GS1_MOD10, CONSOLIDATOR, routed=True),
    # FedEx prints SmartPost / Ground Economy IMpbs without their "92" (service code, a 9-digit
    # mailer ID starting with 9, serial, check), but the check digit still counts the 92.
    _format("fedex_smartpost_20", "fedex", "<[0-9]{3}9[0-9]{15}>#", mod10((3, 1), "92"), LENGTH),
    # --- USPS
    _format("usps_impb", "usps", IMPB, GS1_MOD10, PREFIXED, routed=True),
    # Legacy 20 digits (71... certified mail, 03...); a leading "00" is a GS1 SSCC, not USPS.
    _format("usps_20", "usps", "(?!00)<[0-9]{19}>#", GS1_MOD10, LENGTH),
    _format("usps_20_implied_91", "usps", "<[0-9]{19}>#", mod10((3, 1), "91"), LENGTH),
    _format("usps_s10", "usps", S10 + "US", s10_mod11, LETTERS),
    # --- DHL
    _format("dhl_express_10", "dhl", "<[0-9]{9}>#", dhl_mod7, MOD7),
    _format("dhl_express_11", "dhl", "<[0-9]{10}>#", dhl_mod7, MOD7),
    _format("dhl_express_piece_id", "dhl", "J(?:JD|VGL)[0-9]{10}", None, UNCHECKED),
    _format("dhl_express_license_plate", "dhl", "JD[0-9]{18}", None, UNCHECKED),
    _format("dhl_ecommerce_gm", "dhl", "GM[0-9A-Z]{16,20}", None, UNCHECKED),
    _format("dhl_ecommerce_impb", "dhl", IMPB_92_93, GS1_MOD10, CONSOLIDATOR, routed=True),
    _format("dhl_paket_sscc", "dhl", "<00340434[0-9]{11}>#", GS1_MOD10, PREFIXED),
    _format("dhl_paket_12", "dhl", "<[0-9]{11}>#", IDENTCODE_MOD10, REGIONAL),
    # --- Canada Post
    _format("canada_post_16", "canada_post", "<[0-9]{15}>#", GS1_MOD10, LENGTH),
    _format("canada_post_s10", "canada_post", S10 + "CA", s10_mod11, LETTERS),
    # --- S10 items of other postal operators: not pollable, but recognizably postal mail.
    _format("postal_s10", "other", S10 + f"(?:{_OTHER_POSTS})", s10_mod11, LETTERS),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    carrier: str  # TRACKING.md carrier code
    format: str  # e.g. "ups_1z", "fedex_express_12", "usps_s10"
    score: float  # higher = more likely; candidates sorted by it, best first


@dataclass(frozen=True, slots=True)
class Detection:
    number: str  # normalized
    candidates: tuple[Candidate, ...]  # only formats whose check digit validates, best first

    @property
    def carrier(self) -> str | None:
        """The carrier when only one matches, or when its best score clearly beats the others'."""
        if not self.candidates:
            return None
        best = self.candidates[0]
        rivals = [c.score for c in self.candidates if c.carrier != best.carrier]
        if not rivals or best.score - max(rivals) >= CLEAR_MARGIN:
            return best.carrier
        return None

    @property
    def is_ambiguous(self) -> bool:
        """Several distinct carriers validate and none clearly wins."""
        return bool(self.candidates) and self.carrier is None


def _routed_impbs(number: str) -> tuple[str, ...]:
    """The IMpb behind a USPS routing barcode: "420" + ZIP (5 digits) or ZIP+4 (9 digits)."""
    if not number.startswith("420"):
        return ()
    return (number[8:], number[12:])


def _validates(fmt: _Format, number: str) -> bool:
    match = fmt.pattern.fullmatch(number)
    if match is None:
        return False
    if fmt.check_digit is None:
        return True
    return fmt.check_digit(match["payload"]) == int(match["check"])


def _matches(fmt: _Format, number: str) -> bool:
    readings = (number, *_routed_impbs(number)) if fmt.routed else (number,)
    return any(_validates(fmt, reading) for reading in readings)


def detect_carrier(raw: str) -> Detection:
    """Every format whose check digit validates, best first. Never raises."""
    number = normalize_tracking_number(raw)
    too_long_or_odd = len(number) > MAX_LENGTH or not _ALPHANUMERIC.fullmatch(number)
    if too_long_or_odd or not number.strip("0"):  # all zeros passes every weighted check
        return Detection(number, ())
    candidates = [
        Candidate(fmt.carrier, fmt.name, fmt.score) for fmt in FORMATS if _matches(fmt, number)
    ]
    candidates.sort(key=lambda candidate: -candidate.score)  # stable: FORMATS order breaks ties
    return Detection(number, tuple(candidates))


def is_valid_for_carrier(raw: str, carrier: str) -> bool:
    """Does the number validate for one of that carrier's formats (a TRACKING.md code)?"""
    return any(candidate.carrier == carrier for candidate in detect_carrier(raw).candidates)
