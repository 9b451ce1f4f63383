"""The guards every inbound door runs before it believes a byte: what a sender of bad input is told."""

from __future__ import annotations

from decimal import Decimal

import pytest

from koppel.errors import InputError, SignatureError
from koppel.inbound import (
    MAX_JSON_DEPTH,
    TooLargeError,
    ascii_digits,
    opaque_token,
    raw_body,
    read_json,
    same_secret,
)


def test_well_formed_json_is_read_with_exact_amounts() -> None:
    assert read_json(b'{"id": 12, "total": 19.99}', "webhook") == {"id": 12, "total": Decimal("19.99")}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a leading byte-order mark
        (b'{"total": NaN}', "NaN is not a JSON number"),
        (b'{"total": -Infinity}', "is not a JSON number"),
        (b'{"id": 1, "id": 2}', "appears twice"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"id": 1', "not valid JSON"),
        (b'"\\ud800"x', "not valid JSON"),
    ],
)
def test_ambiguous_or_malformed_json_is_refused_with_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as refused:
        read_json(body, "webhook")
    assert refused.value.status == 400


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000, 100_000])
def test_deeply_nested_json_is_refused_before_it_is_parsed(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    with pytest.raises(InputError, match="nests JSON deeper"):
        read_json(body, "webhook")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = b'{"note": "' + b"[{" * 1000 + b'\\"]"}'
    assert read_json(body, "webhook")["note"].startswith("[{[{")


def test_json_as_deep_as_allowed_is_read() -> None:
    value = read_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, "webhook")
    depth = 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == MAX_JSON_DEPTH


def test_an_oversized_body_is_a_413() -> None:
    with pytest.raises(TooLargeError, match="at most") as refused:
        read_json(b" " * (300 * 1024), "webhook")
    assert refused.value.status == 413


@pytest.mark.parametrize(
    "value", ["²", "١٢٣", "12a", "", " 12", "-1", "1" * 20, "0340000004", "0", 1.5, True, None, [1]]
)
def test_ids_are_ascii_digits_or_refused(value: object) -> None:
    with pytest.raises(InputError, match="must be a number"):
        ascii_digits(value, "the order id")


def test_ascii_ids_are_taken_as_text() -> None:
    assert ascii_digits(123, "id") == "123"
    assert ascii_digits("340000004", "id") == "340000004"


def test_secrets_compare_in_constant_time_whatever_the_sender_put_in_them() -> None:
    # compare_digest raises TypeError on a non-ASCII str; on bytes it simply answers
    assert same_secret("ç" * 10, "abc") is False
    assert same_secret("abc", "abc") is True
    assert same_secret("\ud800", "abc") is False


@pytest.mark.parametrize("value", [None, 42, "", "short", "ç" * 40, "a" * 129, "a b" * 20, "../" * 20])
def test_a_token_koppel_did_not_issue_is_refused_without_saying_more(value: object) -> None:
    with pytest.raises(SignatureError, match=r"^the start link is not valid$"):
        opaque_token(value, "the start link is not valid")


def test_a_base64_body_is_decoded_and_a_broken_one_refused() -> None:
    assert raw_body("eyJpZCI6IDF9", True) == b'{"id": 1}'
    with pytest.raises(InputError, match="base64"):
        raw_body("not base64!", True)
