"""Validation of redaction candidates by well-kept libraries.

The vectorised screen finds candidates; a rule's check decides which part of each candidate is
personal data or a secret, and the value that names it (the one its pseudonym is keyed on).
Checksums and national rules come from python-stdnum, phone numbers from phonenumbers
(Google's libphonenumber metadata), addresses from the standard `ipaddress` module. A check runs
once per distinct candidate, so its cost follows the matches, not the rows.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.es import cif, dni, nie
from stdnum.us import ssn


@dataclass(frozen=True)
class Found:
    """A span of a candidate to replace, and the normalised value it stands for."""

    start: int
    end: int
    value: str


Check = Callable[[str], list[Found]]

# Digit groups of a number as written: `4111 1111-1111.1111`.
GROUP = re.compile(r"[0-9A-Za-z]+")
# Card networks by leading digits, with the lengths each issues (ISO/IEC 7812 ranges as the
# networks publish them). A Luhn-valid number outside them (an epoch time in milliseconds,
# an order number) is not taken for a card.
CARD_NETWORKS: tuple[tuple[tuple[str, ...], range], ...] = (
    (("4",), range(13, 20)),  # Visa: 13, 16 and 19 in use; 13-19 accepted
    (("51", "52", "53", "54", "55", *map(str, range(2221, 2721))), range(16, 17)),  # Mastercard
    (("34", "37"), range(15, 16)),  # American Express
    (("300", "301", "302", "303", "304", "305", "36", "38", "39"), range(14, 20)),  # Diners
    (("35",), range(16, 20)),  # JCB
    (("6",), range(13, 20)),  # Discover, UnionPay, Maestro
    (("50", "56", "57", "58"), range(13, 20)),  # Maestro
    (("2200", "2201", "2202", "2203", "2204"), range(16, 20)),  # Mir
    (("81", "82", "9792"), range(16, 17)),  # RuPay, Troy
)
CVV = re.compile(r"[0-9]{3,4}")
CARD_DIGITS = 19


def _groups(text: str) -> list[re.Match[str]]:
    return list(GROUP.finditer(text))


def _spans_longest_first(count: int, most: int) -> list[tuple[int, int]]:
    """Contiguous ranges of at most `most` of `count` groups, longest first, then leftmost."""
    return [
        (first, first + size)
        for size in range(min(count, most), 0, -1)
        for first in range(count - size + 1)
    ]


def _card_network(digits: str) -> bool:
    return any(
        digits.startswith(prefixes) and len(digits) in lengths
        for prefixes, lengths in CARD_NETWORKS
    )


def _grouped_as_card(sizes: list[int]) -> bool:
    """Digit groups as cards are written: in one run, in fours (the last of one to four), or
    4-6-5 and 4-6-4 (American Express, Diners). Other groupings are other numbers side by side
    (a list of phones, scores), whose digits may happen to pass Luhn."""
    return (
        len(sizes) == 1
        or sizes in ([4, 6, 5], [4, 6, 4])
        or (all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4)
    )


def card(candidate: str) -> list[Found]:
    """The longest run of digit groups, grouped as a card is, that is a Luhn-valid number of a
    card network; a security code written right after it, as the candidate's last group, goes
    with it."""
    groups = _groups(candidate)
    # A card has at most 19 digits, so at most 19 groups: the run may be far longer.
    for first, last in _spans_longest_first(len(groups), CARD_DIGITS):
        digits = "".join(group[0] for group in groups[first:last])
        if (
            13 <= len(digits) <= 19
            and _grouped_as_card([len(group[0]) for group in groups[first:last]])
            and _card_network(digits)
            and luhn.is_valid(digits)
        ):
            end = groups[last - 1].end()
            if last == len(groups) - 1 and CVV.fullmatch(groups[last][0]):
                end = groups[last].end()
            return [Found(groups[first].start(), end, digits)]
    return []


def iban_number(candidate: str) -> list[Found]:
    """The longest leading run of groups that is a valid IBAN (mod 97 and the country's
    format), so a word written after the number stays."""
    groups = _groups(candidate)
    for last in range(len(groups), 0, -1):
        compact = "".join(group[0] for group in groups[:last]).upper()
        if len(compact) >= 15 and iban.is_valid(compact):
            return [Found(0, groups[last - 1].end(), compact)]
    return []


def _national(module, number: re.Pattern[str]) -> Check:
    """A national id ending the candidate (`number`), by its module's check; a word glued in
    front of it stays."""

    def check(candidate: str) -> list[Found]:
        found = number.search(candidate)
        if found is None:
            return []
        compact = re.sub(r"[\s.\-]", "", found[0]).upper()
        return [Found(found.start(), len(candidate), compact)] if module.is_valid(compact) else []

    return check


DNI_NUMBER = re.compile(r"(?:[0-9]{8}|[0-9]{2}\.[0-9]{3}\.[0-9]{3})[ -]?[A-Za-z]$")
NIE_NUMBER = re.compile(r"[XYZxyz][ -]?[0-9]{7}[ -]?[A-Za-z]$")
CIF_NUMBER = re.compile(r"[ABCDEFGHJNPQRSUVW][0-9]{7}[0-9A-J]$")


SSN_DIGITS = re.compile(r"[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{4}$")


def us_ssn(candidate: str) -> list[Found]:
    """A US SSN by the SSA's rules (no area 000, 666 or 9xx, group 00, serial 0000, nor the
    numbers published in advertising); a keyword before it stays."""
    number = SSN_DIGITS.search(candidate)
    if number is None:
        return []
    digits = re.sub(r"[ -]", "", number[0])
    return [Found(number.start(), number.end(), digits)] if ssn.is_valid(digits) else []


def phone_check(regions: tuple[str, ...]) -> Check:
    """Valid phone numbers by libphonenumber: international ones (+34 …, 0034 …) anywhere,
    national ones (612 34 56 78, 020 7946 0958) for any of `regions`, the first one first, also
    where other digit groups stand beside them (`paso 3 612 34 56 78`, `612 34 56 78 2 veces`)."""
    national = [NationalNumbers(region) for region in regions]

    def check(candidate: str) -> list[Found]:
        candidate = candidate.translate(SPACES)  # one character for one: spans stay
        found: list[Found] = []
        for region in regions:
            found += _matched(candidate, 0, len(candidate), region, found)
        found += _international(candidate, found)
        for run in national:
            found += run.beside_other_groups(candidate, found)
        return sorted(found, key=lambda f: f.start)

    return check


# Spaces libphonenumber does not take for separators, as the one it does.
SPACES = str.maketrans(dict.fromkeys("\t\u2007\u2009\u202f", " "))


def _international(candidate: str, found: list[Found]) -> list[Found]:
    """Numbers written with their country code (+34 61 234 5678) in any grouping: the code
    says it is a phone number, whatever the groups."""
    if "+" not in candidate:
        return []
    new: list[Found] = []
    for match in phonenumbers.PhoneNumberMatcher(
        candidate, "ZZ", leniency=phonenumbers.Leniency.VALID
    ):
        if "+" in match.raw_string:
            start = candidate.index("+", match.start, match.end)
            if _free(start, match.end, [*found, *new]):
                new.append(_phone(start, match.end, match.number))
    return new


def _free(start: int, end: int, found: list[Found]) -> bool:
    """Whether `start:end` overlaps none of `found`."""
    return not any(start < f.end and f.start < end for f in found)


def _phone(start: int, end: int, number: phonenumbers.PhoneNumber) -> Found:
    """A phone number found at `start:end`, named in E.164 (its pseudonym's value)."""
    return Found(
        start, end, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )


def _matched(candidate: str, begin: int, end: int, region: str, found: list[Found]) -> list[Found]:
    """The numbers libphonenumber finds in `candidate[begin:end]` for `region` that overlap
    none of `found` and are no amount."""
    text = candidate[begin:end]
    new: list[Found] = []
    for match in phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
    ):
        start = match.start
        # An opening parenthesis the number does not close belongs to the text.
        while text[start] == "(" and text.count(")", start, match.end) < (
            text.count("(", start, match.end)
        ):
            start += 1
        start, stop = start + begin, match.end + begin
        if not _free(start, stop, [*found, *new]):
            continue
        if THOUSANDS.fullmatch(candidate, start, stop) and DECIMALS.fullmatch(candidate, stop):
            continue  # 888.609.697,71: an amount as Europe writes it
        new.append(_phone(start, stop, match.number))
    return new


# An amount in European notation: thousands after dots, then a decimal comma and cents (the
# phone rule's pattern takes the cents into the candidate).
THOUSANDS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")
DECIMALS = re.compile(r",[0-9]{1,2}")


# Digit groups as written; a number is at most 17 digits (15, and an international prefix).
DIGIT_GROUP = re.compile(r"[0-9]+")
MOST_DIGITS = 17


class NationalNumbers:
    """A region's national numbers among other digit groups. libphonenumber reads a run of
    groups as one number or as none, so `3 612 34 56 78` holds no number for it. Here each run
    of whole groups that could be one (its digits fit the region's national pattern, with or
    without the national prefix) is read again on its own."""

    def __init__(self, region: str) -> None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        self.region = region
        pattern = metadata.general_desc.national_number_pattern if metadata else None
        self.shape = (
            re.compile(f"(?:{metadata.national_prefix or ''})?(?:{pattern})") if pattern else None
        )

    def beside_other_groups(self, candidate: str, found: list[Found]) -> list[Found]:
        if self.shape is None:
            return []
        groups = [g for g in DIGIT_GROUP.finditer(candidate) if not _inside(g, found)]
        new: list[Found] = []
        first = 0
        while first < len(groups):
            read = self._read_from(candidate, groups, first, [*found, *new])
            if read is None:
                first += 1
                continue
            number, last = read
            new.append(number)
            first = last + 1
        return new

    def _read_from(
        self, candidate: str, groups: list[re.Match], first: int, found: list[Found]
    ) -> tuple[Found, int] | None:
        """The shortest run of groups from `first` that is one valid number, and its last."""
        digits = ""
        for last in range(first, len(groups)):
            if last > first and groups[last - 1].end() + 3 < groups[last].start():
                return None  # no longer one run: as the screen's separators, at most three
            digits += groups[last][0]
            if len(digits) > MOST_DIGITS:
                return None
            if not self.shape.fullmatch(digits):
                continue
            start, end = groups[first].start(), groups[last].end()
            start -= candidate[start - 1 : start] == "("
            numbers = _matched(candidate, start, end, self.region, found)
            if numbers and (numbers[0].start, numbers[0].end) == (groups[first].start(), end):
                return numbers[0], last
        return None


def _inside(group: re.Match, found: list[Found]) -> bool:
    return any(f.start <= group.start() and group.end() <= f.end for f in found)


# A North American number as written (the `north_american_phone` rule's shape): an area code
# of 2-9 and two digits, in parentheses or followed by a separator; three digits, a separator,
# four digits; `+1` or `1` in front goes with it. Or +1 and ten digits run together.
NORTH_AMERICAN_NUMBER = re.compile(
    r"(?<![0-9])(?:(?:\+\s?)?1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])"
    r"[0-9]{3}[ .-][0-9]{4}$|\+1[2-9][0-9]{9}$"
)


def north_american_phone(regions: tuple[str, ...]) -> Check:
    """A number in the North American shape, whether or not libphonenumber knows its area code
    (555 is none) and whatever `regions` are: a phone number all the same, keyed on +1 and its
    ten digits. Where libphonenumber reads the whole candidate as one valid number of its
    country code or of `regions` (`+39 312 345 6789`), it is that number, as for other phones."""
    strict = phone_check(regions)

    def check(candidate: str) -> list[Found]:
        found = strict(candidate)
        if len(found) == 1 and (found[0].start, found[0].end) == (0, len(candidate)):
            return found
        number = NORTH_AMERICAN_NUMBER.search(candidate)
        if number is None:
            return []
        digits = re.sub(r"[^0-9]", "", number[0])[-10:]
        # E.164, as libphonenumber writes every other phone number's value.
        return [Found(number.start(), number.end(), f"+1{digits}")]

    return check


IPV4_LEAD = re.compile(r"[0-9]")


def ipv4(candidate: str) -> list[Found]:
    """An IPv4 address of exactly four parts that names a host. A version (`version 10.2.1.4`,
    `v1.2.3.4`, `pkg==2.0.0.1`), a section (`section 3.2.1.4`), a longer dotted number (an OID)
    or a network (`10.20.0.0`, `Chrome/120.0.0.0`: of no one host) is not one."""
    if not IPV4_LEAD.match(candidate):
        return []  # the rule's pattern took a version or section word in front of it
    try:
        address = ipaddress.IPv4Address(candidate)
    except ValueError:
        return []
    if address.packed[2:] == b"\x00\x00":
        return []
    return [Found(0, len(candidate), str(address))]


def ipv6(candidate: str) -> list[Found]:
    """An IPv6 address in any notation (compressed, with an embedded IPv4 address or a zone);
    words of hex letters around `::` (`dead::beef`) hold no digit and are left alone."""
    address_text = candidate.split("%", 1)[0]
    if not any(character.isdigit() for character in address_text):
        return []
    try:
        address = ipaddress.IPv6Address(address_text)
    except ValueError:
        return []
    mapped = address.ipv4_mapped
    return [Found(0, len(candidate), str(mapped) if mapped else address.compressed)]


EMAIL_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
EMAIL_LOCAL = re.compile(r"[\w.%+'-]")
EMAIL_DOMAIN = re.compile(r"[^\W_]|[.-]")


# The longest a domain name is (RFC 1035): a longer text holds no address beyond it.
DOMAIN_LENGTH = 253


def _domains_in(text: str) -> Iterator[str]:
    """`text`, then its prefixes no longer than a domain name, longest first."""
    yield text
    yield from (text[:end] for end in range(min(len(text) - 1, DOMAIN_LENGTH), 0, -1))


def _well_formed_domain(domain: str) -> bool:
    labels = domain.split(".")
    top = labels[-1]
    return (
        len(labels) >= 2
        and all(EMAIL_LABEL.match(label) for label in labels)
        and ((top.isalpha() and len(top) >= 2) or top.startswith("xn--"))
    )


def email(candidate: str) -> list[Found]:
    """The well-formed address around the candidate's @ (Unicode local parts and IDN domains
    included): what precedes it (`mailto=`, a quote) or follows it (a full stop) stays."""
    at = candidate.rfind("@")
    start = at
    while start > 0 and EMAIL_LOCAL.match(candidate[start - 1]):
        start -= 1
    while start < at and candidate[start] in "'._":
        start += 1
    end = at + 1
    while end < len(candidate) and EMAIL_DOMAIN.match(candidate[end]):
        end += 1
    local = candidate[start:at]
    if not local or len(local) > 64 or local.endswith(".") or ".." in local:
        return []
    # The longest well-formed domain the text starts with: `example.com1`, `example.com_`
    # (markdown) end where the address does.
    domain = next(
        (d for d in _domains_in(candidate[at + 1 : end].rstrip(".-")) if _well_formed_domain(d)),
        None,
    )
    if domain is None:
        return []
    address = candidate[start : at + 1 + len(domain)]
    value = unicodedata.normalize("NFC", address).casefold()
    return [Found(start, at + 1 + len(domain), value)]


def _base64_decoded(text: str, urlsafe: bool) -> bytes | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def jwt(candidate: str) -> list[Found]:
    """A JSON Web Token: its header decodes to a JSON object (signed or not)."""
    decoded = _base64_decoded(candidate.split(".", 1)[0], urlsafe=True)
    try:
        header = json.loads(decoded) if decoded else None
    except (UnicodeDecodeError, ValueError):
        return []
    return [Found(0, len(candidate), candidate)] if isinstance(header, dict) else []


def basic_credentials(candidate: str) -> list[Found]:
    """`Basic <base64 of user:password>`: the token decodes to text holding a colon."""
    token = candidate.split()[-1]
    decoded = _base64_decoded(token, urlsafe=False)
    try:
        text = decoded.decode() if decoded else ""
    except UnicodeDecodeError:
        return []
    return [Found(0, len(candidate), candidate)] if ":" in text else []


SECRET_BODY = re.compile(r"[A-Za-z0-9/+]{40}")


def aws_secret_key(candidate: str) -> list[Found]:
    """Forty characters of base64 standing alone, mixing upper case, lower case and digits as
    a random key does (a hex digest or a path does not)."""
    body = SECRET_BODY.search(candidate)
    if body is None:
        return []
    key = body[0]
    if (
        any(c.isupper() for c in key)
        and any(c.islower() for c in key)
        and any(c.isdigit() for c in key)
        and key.count("/") <= 3
        and not key.startswith("/")
    ):
        return [Found(body.start(), body.end(), key)]
    return []


# What a configuration file or a command line holds where no secret is written.
PLACEHOLDER = re.compile(
    r"[*xX.#-]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\{\{.*\}\}|%s|None|null"
)
# The keyword and what separates it from its value, as the rule's pattern writes them.
KEYWORD = re.compile(r"""[^A-Za-z0-9_.-]?[A-Za-z0-9_.-]+["']?\s*(?:=>|=|:)\s*["']?""")


def keyword_secret(candidate: str) -> list[Found]:
    """The value after `password=`, `api_key: ` and the like (the keyword stays); not a
    placeholder (`********`, `${DB_PASSWORD}`, `<your key>`)."""
    keyword = KEYWORD.match(candidate)
    value = candidate[keyword.end() :] if keyword else ""
    if len(value) < 8 or PLACEHOLDER.fullmatch(value):
        return []
    return [Found(len(candidate) - len(value), len(candidate), value)]


def url_password(candidate: str) -> list[Found]:
    """The password of `scheme://user:password@host` (the user and host stay)."""
    credentials = candidate[candidate.index("://") + 3 : candidate.rindex("@")]
    user, _, password = credentials.partition(":")
    if not password or PLACEHOLDER.fullmatch(password):
        return []
    start = candidate.index("://") + 3 + len(user) + 1
    return [Found(start, start + len(password), password)]


def checks(regions: tuple[str, ...]) -> dict[str, Check]:
    """Every check a rule may name, with phone numbers read for `regions`."""
    return {
        "card": card,
        "iban": iban_number,
        "es_dni": _national(dni, DNI_NUMBER),
        "es_nie": _national(nie, NIE_NUMBER),
        "es_cif": _national(cif, CIF_NUMBER),
        "us_ssn": us_ssn,
        "phone": phone_check(regions),
        "north_american_phone": north_american_phone(regions),
        "ipv4": ipv4,
        "ipv6": ipv6,
        "email": email,
        "jwt": jwt,
        "basic_credentials": basic_credentials,
        "aws_secret_key": aws_secret_key,
        "keyword_secret": keyword_secret,
        "url_password": url_password,
    }


CHECK_NAMES = tuple(checks(("ES",)))
