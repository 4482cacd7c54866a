"""Personal data in texts, found with presidio-analyzer's pattern recognizers (maintained regexes
with checksums: Luhn for cards, the PESEL and fiscal-code check digits, ``phonenumbers`` for phones).

Person names are not looked for: presidio finds them only through a spaCy (or transformers) NER
model, which would have to be downloaded at run time; no offline detector of names is as good.
Presidio's ``AnalyzerEngine`` loads such a model, so the recognizers are called one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: A phone number as people write one: international (+...), an area code in brackets, or digit
#: groups joined by hyphens; not an ISO date.
_PHONE_LIKE = re.compile(r"^(\+[\d\s\-()]+|\(\d{2,5}\)\s?\d[\d\s\-]*|\d{1,5}(-\d{2,5}){1,4})$")
_DATE_LIKE = re.compile(r"^\d{2,4}-\d{2}-\d{2}(\D|$)")

#: Where an accepted phone can be: a run of digits, spaces, brackets, hyphens and plus signs with at
#: least 7 digits (what `_phone_like` accepts is such a run or part of one) ...
_PHONE_RUN = re.compile(r"[\d()+\-\s]{7,}")
#: ... holding a plus sign or a bracket, or digits joined by hyphens (`_PHONE_LIKE`'s three forms).
_HYPHENATED = re.compile(r"[\d-]*\d-\d[\d-]*")

#: Scores below this are presidio's "weak" patterns (e.g. any 9 digits as an SSN): not reported.
MIN_SCORE = 0.4


@dataclass(frozen=True)
class Found:
    entity: str  # presidio's entity type, e.g. EMAIL_ADDRESS
    start: int
    end: int


@lru_cache(maxsize=1)
def _recognizers() -> tuple[Any, ...]:
    import tldextract
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        ItFiscalCodeRecognizer,
        PhoneRecognizer,
        PlPeselRecognizer,
        UkNinoRecognizer,
        UsSsnRecognizer,
    )

    class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        """presidio checks the domain with tldextract, which downloads the public suffix list by
        default; its bundled snapshot is what we use (no network at run time)."""

        _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def validate_result(self, pattern_text: str) -> bool:
            return bool(self._extract(pattern_text).fqdn)

    return (OfflineEmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(),
            UsSsnRecognizer(), UkNinoRecognizer(), ItFiscalCodeRecognizer(), PlPeselRecognizer())


def find_pii(text: str) -> list[Found]:
    """Personal data in `text`, longest first where spans overlap (a card number is not also a phone)."""
    hits: list[Found] = []
    scored = []
    phones = _may_hold_phone(text)
    for recognizer in _recognizers():
        if not phones and "PHONE_NUMBER" in recognizer.supported_entities:
            continue  # the slowest recognizer (phonenumbers scans every region), and nothing it finds would be kept
        for r in recognizer.analyze(text, recognizer.supported_entities, None):
            if r.score < MIN_SCORE or (r.entity_type != "EMAIL_ADDRESS" and _embedded(text, r.start, r.end)):
                continue
            value = text[r.start:r.end]
            if ((r.entity_type != "PHONE_NUMBER" or _phone_like(value))
                    and (r.entity_type != "CREDIT_CARD" or _card_like(value))):
                scored.append((r.score, r.end - r.start, Found(r.entity_type, r.start, r.end)))
    for _, _, found in sorted(scored, key=lambda x: (-x[0], -x[1], x[2].start)):
        if all(found.end <= h.start or found.start >= h.end for h in hits):
            hits.append(found)
    return sorted(hits, key=lambda h: h.start)


#: Characters that join two pieces of one token: a hash or UUID's hyphens, a decimal point, a path.
_JOINERS = "-._/\\"


def _embedded(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is part of a longer token: a letter or digit right beside it, or a joiner
    (`_JOINERS`) with one beyond. Numbers in technical text match the recognizers' digit patterns and
    checksums by chance (1 in 10 pass Luhn): card numbers inside 19-digit ids, PESELs inside commit
    hashes and tweet URLs, phones inside UUIDs; written personal data stands apart from what surrounds it."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or after.isalnum():
        return True
    return ((before in _JOINERS and start > 1 and text[start - 2].isalnum())
            or (after in _JOINERS and end + 1 < len(text) and text[end + 1].isalnum()))


#: Card networks' number prefixes and lengths (ISO/IEC 7812 issuer ranges as the networks publish them),
#: as (lowest prefix, highest prefix, lengths): Visa, Mastercard, American Express, Discover, Diners
#: Club, JCB, UnionPay, Maestro.
_CARDS = (
    ("4", "4", (13, 16, 19)),
    ("51", "55", (16,)), ("2221", "2720", (16,)),
    ("34", "34", (15,)), ("37", "37", (15,)),
    ("6011", "6011", (16, 17, 18, 19)), ("644", "649", (16, 17, 18, 19)), ("65", "65", (16, 17, 18, 19)),
    ("622126", "622925", (16, 17, 18, 19)),
    ("300", "305", (14, 15, 16, 17, 18, 19)), ("36", "36", (14, 15, 16, 17, 18, 19)),
    ("38", "39", (14, 15, 16, 17, 18, 19)),
    ("3528", "3589", (16, 17, 18, 19)),
    ("62", "62", (16, 17, 18, 19)),
    ("50", "50", tuple(range(12, 20))), ("56", "69", tuple(range(12, 20))),
)


def _card_like(value: str) -> bool:
    """Whether `value`'s digits could be a card number: a network's prefix and one of its lengths (presidio's
    pattern takes any 12 to 19 digits that pass Luhn, as one long number in ten does)."""
    digits = "".join(c for c in value if c.isdigit())
    return any(len(digits) in lengths and low <= digits[:len(low)] <= high for low, high, lengths in _CARDS)


def _may_hold_phone(text: str) -> bool:
    """Whether `text` has a place where `_phone_like` could accept a phone: a `_PHONE_RUN` of 7 or more
    digits holding `+` or `(` (the international and area-code forms), or digits joined by hyphens, 7 or
    more of them (the third form). Runs of digits and spaces alone (tables, ids, sums) cannot be one."""
    for m in _PHONE_RUN.finditer(text):
        run = m.group()
        if sum(c.isdigit() for c in run) < 7:
            continue
        if "+" in run or "(" in run or any(sum(c.isdigit() for c in h) >= 7 for h in _HYPHENATED.findall(run)):
            return True
    return False


def _phone_like(value: str) -> bool:
    """presidio's phone matcher (``phonenumbers``) also takes bare digit runs, decimals, version
    numbers, dates and table columns ('333971', '0.9963', '16.8.6', '2022-03-10-19', '0 96 5476') in
    technical and medical text; a phone has at least 7 digits and is written as `_PHONE_LIKE` says."""
    value = value.strip()
    return (sum(c.isdigit() for c in value) >= 7 and bool(_PHONE_LIKE.match(value))
            and not _DATE_LIKE.match(value))


def redact(text: str) -> str:
    """`text` with each piece of personal data replaced by its type, e.g. ``<EMAIL_ADDRESS>``."""
    out, last = [], 0
    for found in find_pii(text):
        out += [text[last:found.start], f"<{found.entity}>"]
        last = found.end
    return "".join(out) + text[last:]


def mask(value: str) -> str:
    """What a report may show of a found value: its first character and its length, never the rest."""
    return f"{value[:1]}…({len(value)} chars)" if value else ""
