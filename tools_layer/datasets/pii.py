"""Personal data in text: where e-mail addresses, phone numbers, Chinese resident ID numbers, payment
card numbers, IP addresses and URLs with credentials are, and the text with each replaced by its type.

Each kind is checked beyond its shape, so that order numbers, dates and version strings are not taken
for personal data: a phone number must be valid for its region (the `phonenumbers` library, Google's
libphonenumber metadata), an ID number must carry its ISO 7064 MOD 11-2 check digit and a real birth
date, a card number must pass the Luhn check and start like a card network's, an IP address must
parse. Kinds are found in a fixed order and a span taken by one is not searched again by the next
(an 18-digit ID number is not also read as a phone number). The precision and recall of each kind
are held to a labelled set in tests/tools_layer/data/pii_labelled.jsonl.
"""

import datetime
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

import phonenumbers

EMAIL, PHONE, ID_NUMBER, CARD, IP, URL_CREDENTIALS = "email", "phone", "id_number", "card", "ip", "url_credentials"
KINDS = (URL_CREDENTIALS, EMAIL, ID_NUMBER, CARD, IP, PHONE)
PLACEHOLDERS = {
    EMAIL: "<EMAIL>",
    PHONE: "<PHONE>",
    ID_NUMBER: "<ID_NUMBER>",
    CARD: "<CARD>",
    IP: "<IP>",
    URL_CREDENTIALS: "<URL_CREDENTIALS>",
}
# Numbers without a country code are read as Chinese first, then as North American: the two regions
# of the platform's users. A number with "+" and a country code is read as what it says.
PHONE_REGIONS = ("CN", "US")

_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[\w.~%!$&*+,;=-]+:[\w.~%!$&*+,;=-]+@[A-Za-z0-9._~:/?#@!$&*+,;=%-]+"
)
# ASCII boundaries, not \b: a Chinese character right before or after an address is \w to `re`.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
# The fewest digits of any phone number the regions' plans hold (a Chinese landline without its area
# code has 7): a text without such a run is not handed to phonenumbers' matcher, the slowest check.
_PHONE_DIGITS = re.compile(r"\d(?:[\s().\-/]{0,2}\d){6,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Issuer prefixes of the networks whose cards people hold: Visa, Mastercard (51-55, 2221-2720),
# American Express, Discover, JCB, Diners, UnionPay, Maestro.
_CARD_PREFIX = re.compile(
    r"^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9]|2)|35(?:2[89]|[3-8])|3(?:0[0-5]|[689])|5[06-8]|6\d)"
)
# A digit run this long is read by phonenumbers only as far as it is plausible; the matcher's leniency
# VALID keeps numbers valid for their region.
_PHONE_LENIENCY = phonenumbers.Leniency.VALID


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str


def id_number_valid(value: str) -> bool:
    """A Chinese resident ID number (GB 11643-1999): 17 digits, then the MOD 11-2 check character, with
    a birth date that exists and is not in the future."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != value[17].upper():
        return False
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_valid(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    # 17 and 18 digits are only UnionPay's (62…); other networks issue 13 to 16, and 19.
    if len(digits) in (17, 18) and not digits.startswith("62"):
        return False
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn_valid(digits)


def _ip_valid(candidate: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    # "1.2.3.4" in a version string is rare next to real addresses; "::" alone is not an address anyone leaks.
    return not (address.version == 6 and candidate.count(":") < 3)


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def find_pii(text: str, *, kinds: tuple[str, ...] | frozenset[str] = KINDS) -> list[Finding]:
    """Every finding of the asked kinds, in text order, none overlapping another."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def keep(kind: str, start: int, end: int) -> None:
        if _free(taken, start, end):
            taken.append((start, end))
            found.append(Finding(kind, start, end, text[start:end]))

    if URL_CREDENTIALS in kinds and "://" in text:
        for match in _URL_CREDENTIALS.finditer(text):
            # A sentence's own full stop or comma after the URL is not part of it.
            keep(URL_CREDENTIALS, match.start(), match.start() + len(match.group().rstrip(".,;:!?")))
    if EMAIL in kinds and "@" in text:
        for match in _EMAIL.finditer(text):
            keep(EMAIL, *match.span())
    has_digits = any(char.isdigit() for char in text)
    if not has_digits:
        return sorted(found, key=lambda finding: finding.start)
    if ID_NUMBER in kinds:
        for match in _ID_NUMBER.finditer(text):
            if id_number_valid(match.group()):
                keep(ID_NUMBER, *match.span())
    if CARD in kinds:
        for match in _CARD.finditer(text):
            if card_valid(match.group()):
                keep(CARD, *match.span())
    if IP in kinds:
        for match in _IPV4.finditer(text):
            if _ip_valid(match.group()):
                keep(IP, *match.span())
        if text.count(":") >= 3:
            for match in _IPV6.finditer(text):
                if _ip_valid(match.group()):
                    keep(IP, *match.span())
    if PHONE in kinds and _PHONE_DIGITS.search(text):
        for region in PHONE_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=_PHONE_LENIENCY):
                keep(PHONE, match.start, match.end)
    return sorted(found, key=lambda finding: finding.start)


def redact(text: str, findings: list[Finding]) -> str:
    """The text with each finding replaced by its type's placeholder (<EMAIL>, <PHONE>, …)."""
    parts, last = [], 0
    for finding in findings:
        parts.append(text[last : finding.start])
        parts.append(PLACEHOLDERS[finding.kind])
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)


def count_kinds(findings: list[Finding]) -> Counter:
    return Counter(finding.kind for finding in findings)
