"""Personal data in texts (presidio's pattern recognizers): the phone recognizer only where a phone can be."""

from __future__ import annotations

import json

import pytest

from hpsearch.data import _pii

from ..conftest import SHARED_DATASETS, need

PHONES = ["call +44 20 7946 0958 today", "office (020) 7946-0958.", "ring 555-123-4567 or", "+1 (415) 555-2671"]
NOT_PHONES = ["version 16.8.6 and p=0.9963", "on 2022-03-10-19 at 10:30", "pid 333971 exited", "no digits at all"]


def _phone_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    phone = next(r for r in _pii._recognizers() if "PHONE_NUMBER" in r.supported_entities)
    calls: list[str] = []
    analyze = phone.analyze

    def counted(text, *args, **kwargs):
        calls.append(text)
        return analyze(text, *args, **kwargs)

    monkeypatch.setattr(phone, "analyze", counted)
    return calls


@pytest.mark.parametrize("text", PHONES)
def test_phones_as_people_write_them_are_found(text: str) -> None:
    assert [f.entity for f in _pii.find_pii(text)] == ["PHONE_NUMBER"]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_numbers_that_are_not_phones_are_not(text: str) -> None:
    assert _pii.find_pii(text) == []


def test_the_phone_recognizer_runs_only_where_a_phone_could_be_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _phone_calls(monkeypatch)
    for text in NOT_PHONES[2:] + ["write to someone@example.com", "step 12 of 57, loss 0.4",
                                  "multiplying 46283860790870 with 125091515651", "row 0 96 5476 123 8"]:
        _pii.find_pii(text)
    assert calls == []
    _pii.find_pii(PHONES[0])
    assert calls == [PHONES[0]]
    assert _pii.find_pii("card 4111 1111 1111 1111 here")  # the card still found, not taken for a phone
    assert [f.entity for f in _pii.find_pii("card 4111 1111 1111 1111 here")] == ["CREDIT_CARD"]


@pytest.mark.parametrize("dataset", ["engineering_issues", "legal_unfair_tos", "medical_abstracts"])
def test_skipping_the_phone_recognizer_finds_the_same_on_the_real_sets(dataset: str, monkeypatch) -> None:
    """Every text with a digit run of 7 or more (where a phone could be), and as many without, from
    each shared set: the same personal data found as with the phone recognizer run on every text."""
    path = SHARED_DATASETS / dataset / "train.jsonl"
    need(path.is_file(), f"the shared {dataset} set")
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    holding = [t for t in texts if _pii._may_hold_phone(t)][:150]
    texts = holding + [t for t in texts if not _pii._may_hold_phone(t)][:len(holding) + 20]
    skipped = [_pii.find_pii(t) for t in texts]
    monkeypatch.setattr(_pii, "_may_hold_phone", lambda text: True)
    assert [_pii.find_pii(t) for t in texts] == skipped


@pytest.mark.parametrize("text", [
    "--crash-reporter-id 59c088fe-0302-4503-ae22-25d7a3fc3048 |",  # a phone's digits inside a UUID
    "see https://github.com/org/repo/commit/fee881376914381062deb767759d144d0f07d760 added",  # a PESEL in a hash
    "tf.constant(-8968073515812833920, shape=[2, 2])",  # a PESEL's 11 digits inside a 19-digit number
    "RotatedRect(center=(824.6421183672817, 280.28737007069833))",  # card digits after a decimal point
    "https://cirrus-ci.com/task/5522204518514688?logs=ci#L1609",  # card digits in a URL's path
])
def test_numbers_inside_longer_tokens_are_not_personal_data(text: str) -> None:
    assert _pii.find_pii(text) == []


def test_the_same_numbers_standing_apart_are() -> None:
    assert [f.entity for f in _pii.find_pii("paid with 5522204518514688 twice")] == ["CREDIT_CARD"]
    assert [f.entity for f in _pii.find_pii("call 0302-4503-112 today")] == ["PHONE_NUMBER"]
    assert [f.entity for f in _pii.find_pii("mail jan.kowalski@example.com now")] == ["EMAIL_ADDRESS"]


@pytest.mark.parametrize("number", ["4242 4242 4242 4242", "5555-5555-5555-4444", "378282246310005", "6011111111111117",
                                    "30569309025904", "3530111333300000", "5105105105105100"])
def test_card_numbers_of_each_network_are_found(number: str) -> None:
    """The networks' published test numbers (Visa, Mastercard, Amex, Discover, Diners, JCB)."""
    assert [f.entity for f in _pii.find_pii(f"paid with {number} yesterday")] == ["CREDIT_CARD"]


@pytest.mark.parametrize("text", ["overflow when multiplying 46283860790870 with 125091515651",  # Visa has no 14
                                  "in vsetvl_e64m1 (a=516770465071103) at"])  # nor Mastercard 15 digits
def test_luhn_valid_numbers_no_network_issues_are_not_cards(text: str) -> None:
    assert _pii.find_pii(text) == []
