"""Generic bad input, as hypothesis strategies that every vendor's doors compose: bodies, ids, signatures, paths.

Each strategy draws ``(what, value)``: the value to send and one line saying what is wrong with it, for the report.
Large values are built from a drawn size, never drawn byte by byte (hypothesis would spend minutes on a megabyte).
"""

from __future__ import annotations

import base64
import json
import string
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

Drawn = tuple[str, Any]

MAX_BODY = 4 * 1024 * 1024
"""The largest body sent: far over every door's limit and below API Gateway's 10 MB, so the door must refuse it."""
MAX_DEPTH = 100_000
MAX_URL_PART = 4000
"""API Gateway takes a request line and headers of 10 KB in all: longer parts would never reach a door."""

NON_ASCII_DIGITS = (
    "²",  # superscript two: str.isdigit() says yes, int() says no
    "¹²³",
    "١٢٣",  # Arabic-Indic: int() reads them as 123
    "۳۴۰",  # Extended Arabic-Indic
    "１２３",  # full width
    "३४०",  # Devanagari
    "𝟑𝟒𝟎",  # mathematical bold
    "٣٤٠٠٠٠٠٠١",
    "½",
    "Ⅻ",
    "12³",
)
TRICKY_TEXT = (
    "\ufeff",  # byte-order mark
    "\x00",
    "\u202e",  # right-to-left override
    "e\u0301",  # e + combining acute
    "ß",
    "😀",
    "\uffff",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "${jndi:ldap://127.0.0.1/x}",
    "%00",
    "%2e%2e%2f",
    "\\",
    "{{7*7}}",
)
LONE_SURROGATES = ("\\ud800", "\\udfff", "\\ud83d", "\\udc00", "\\ud800\\ud800")
"""As JSON escapes: valid JSON text whose string Python decodes to a str that cannot be encoded as UTF-8."""
OTHER_METHODS = ("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def sized(low: int, high: int) -> SearchStrategy[int]:
    """A size between low and high, its edges and a few round figures drawn often (where off-by-ones live)."""
    edges = [s for s in (low, low + 1, high, 1 << 16, 1 << 20) if low <= s <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


# -- text ---------------------------------------------------------------------------------------------------------
def tricky_text() -> SearchStrategy[str]:
    """Non-ASCII and hostile text: BOM, NUL, bidi marks, emoji, markup, template and log injection, any unicode."""
    return st.one_of(
        st.sampled_from(TRICKY_TEXT),
        st.sampled_from(NON_ASCII_DIGITS),
        st.text(min_size=1, max_size=24),  # any unicode but lone surrogates (those cannot be UTF-8)
    )


def non_ascii_digits() -> SearchStrategy[str]:
    """Digits that are not ASCII: ``str.isdigit()`` and ``int()`` accept many of them; an id check must not."""
    ascii_free = st.characters(categories=["Nd", "No"], exclude_characters=string.digits)
    return st.one_of(st.sampled_from(NON_ASCII_DIGITS), st.text(ascii_free, min_size=1, max_size=12))


def long_text(low: int = 256, high: int = MAX_URL_PART) -> SearchStrategy[Drawn]:
    return st.tuples(sized(low, high), st.sampled_from("a9-é")).map(lambda d: (f"{d[0]} × {d[1]!r}", d[1] * d[0]))


# -- JSON bodies --------------------------------------------------------------------------------------------------
def wrong_types() -> SearchStrategy[Drawn]:
    """JSON values of a type no id, key or name field has, or numbers out of any range."""
    return st.one_of(
        st.sampled_from([None, True, False, "", [], {}, 0, -1, 1.5, 1e300, "1e3", "0x1f", " 7", "7 ", "+7", "-7"]),
        st.integers(max_value=-1),
        st.integers(min_value=10**19),  # beyond a signed 64-bit integer
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.integers(0, 9), min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["id", "value", "$gt"]), st.integers(0, 9), min_size=1, max_size=2),
    ).map(lambda value: (f"{type(value).__name__} {json.dumps(value)[:40]}", value))


def broken_json(valid: bytes) -> SearchStrategy[Drawn]:
    """``valid`` (a genuine body) broken the ways a sender, a proxy or an attacker breaks JSON."""
    inside = st.integers(1, max(1, len(valid) - 1))
    return st.one_of(
        inside.map(lambda n: (f"truncated after {n} bytes", valid[:n])),
        st.just(("a byte-order mark before the JSON", b"\xef\xbb\xbf" + valid)),
        inside.map(lambda n: (f"invalid UTF-8 at byte {n}", valid[:n] + b"\xff\xfe" + valid[n:])),
        inside.map(lambda n: (f"NUL at byte {n}", valid[:n] + b"\x00" + valid[n:])),
        st.sampled_from([b"x", b"}", b",{}", b"\x00", b"\n{}"]).map(lambda s: (f"trailing {s!r}", valid + s)),
        st.sampled_from([b"", b" ", b"\n\t", b"null", b"[]", b'"text"', b"42", b"true", b"[{}]", b"{}"]).map(
            lambda body: (f"empty, or not an object: {body!r}", body)
        ),
        st.sampled_from([b'{"id": NaN}', b'{"id": Infinity}', b'{"id": -Infinity}', b"{'id': 1}", b"{id: 1}"]).map(
            lambda body: (f"not JSON: {body!r}", body)
        ),
        st.binary(min_size=1, max_size=64).map(lambda body: (f"random bytes {body[:16]!r}", body)),
    )


def deep_json(wrap: Any = None) -> SearchStrategy[Drawn]:
    """Arrays or objects nested from just past any sane limit to 100,000 deep, optionally as the value of a field
    of ``wrap`` (a dict: the nesting replaces the value of its first key)."""

    def build(drawn: tuple[int, str]) -> Drawn:
        depth, shape = drawn
        opener, closer = (b"[", b"]") if shape == "array" else (b'{"a":', b"}")
        nested = opener * depth + b"1" + closer * depth
        if wrap:
            key = next(iter(wrap))
            prefix = json.dumps({key: 0}).encode()[:-2]  # '{"id": ' without the 0 and the closing brace
            nested = prefix + nested + b"}"
        return (f"{shape}s nested {depth} deep" + (" in a field" if wrap else ""), nested)

    depths = st.one_of(st.sampled_from([65, 1_000, 10_000, MAX_DEPTH]), st.integers(65, MAX_DEPTH))
    return st.tuples(depths, st.sampled_from(["array", "object"])).map(build)


def oversized(limit: int, shape: dict[str, Any]) -> SearchStrategy[Drawn]:
    """A body of more than ``limit`` bytes: ``shape`` padded with a long string field (valid JSON otherwise), or
    plain filler bytes."""

    def build(drawn: tuple[int, bool]) -> Drawn:
        size, as_json = drawn
        if not as_json:
            return (f"{size} bytes of filler", b"x" * size)
        head = json.dumps({**shape, "padding": ""}).encode()
        body = head[:-2] + b"x" * max(0, size - len(head)) + b'"}'
        return (f"{len(body)} bytes of JSON", body)

    return st.tuples(sized(limit + 1, MAX_BODY), st.booleans()).map(build)


def json_with(shape: dict[str, Any], field: str, raw_value: str) -> bytes:
    """``shape`` as JSON with ``field`` set to ``raw_value`` written as it is (an escape such as \\ud800 stays one)."""
    marker = "\u0000marker\u0000"
    text = json.dumps({**shape, field: marker}, ensure_ascii=False)
    return text.replace(json.dumps(marker), raw_value).encode("utf-8")


def lone_surrogate_in(shape: dict[str, Any], field: str) -> SearchStrategy[Drawn]:
    return st.sampled_from(LONE_SURROGATES).map(
        lambda escape: (f"lone surrogate {escape} in {field}", json_with(shape, field, f'"{escape}"'))
    )


def duplicate_key(shape: dict[str, Any], field: str, second: Any) -> bytes:
    """``field`` twice in one object: a lenient parser takes the last, a strict one refuses."""
    text = json.dumps(shape)
    return (text[:-1] + f", {json.dumps(field)}: {json.dumps(second)}}}").encode()


# -- signatures ---------------------------------------------------------------------------------------------------
def wrong_hex_signatures(correct: str) -> SearchStrategy[Drawn]:
    """Hex signatures that are not ``correct``: near misses, wrong lengths, not hex, not ASCII, overlong."""
    length = len(correct)
    hex_text = st.text("0123456789abcdef", min_size=length, max_size=length).filter(lambda s: s != correct)
    flip = st.integers(0, length - 1).map(
        lambda i: correct[:i] + ("0" if correct[i] != "0" else "1") + correct[i + 1 :]
    )
    return st.one_of(
        st.just(("empty", "")),
        hex_text.map(lambda s: ("random hex of the right length", s)),
        st.text("0123456789abcdef", min_size=1, max_size=200)
        .filter(lambda s: len(s) != length)
        .map(lambda s: (f"random hex of {len(s)} digits", s)),
        flip.map(lambda s: ("the genuine signature with one digit changed", s)),
        st.integers(1, length - 1).map(lambda n: (f"the genuine signature cut to {n} digits", correct[:n])),
        st.sampled_from("0a").map(lambda c: ("the genuine signature with a digit more", correct + c)),
        st.just(("the digest in base64 instead of hex", base64.b64encode(bytes.fromhex(correct)).decode())),
        st.just(("the genuine signature's bytes as text", bytes.fromhex(correct).decode("latin-1"))),
        tricky_text().map(lambda s: (f"not hex: {s[:20]!r}", s)),
        st.tuples(sized(length + 1, 8000), st.sampled_from("fé")).map(
            lambda d: (f"overlong ({d[0]} chars)", d[1] * d[0])
        ),
    ).filter(lambda drawn: "\r" not in drawn[1] and "\n" not in drawn[1])  # a header cannot carry a line break


# -- paths and methods --------------------------------------------------------------------------------------------
def unknown_ids(known: list[str]) -> SearchStrategy[Drawn]:
    """Path segments that name no connection: lookalikes of the known ones, long, non-ASCII, hostile."""
    lookalikes = st.sampled_from(known).flatmap(
        lambda k: st.sampled_from(
            [
                (f"{k} in capitals", k.upper()),
                (f"{k} with a trailing space", k + " "),
                (f"{k} with a trailing NUL", k + "\x00"),
                (f"{k} with a BOM in front", "\ufeff" + k),
                (f"{k} in full-width letters", "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in k)),
                (f"{k} with a suffix", k + "-x"),
                (f"{k} minus its last letter", k[:-1]),
            ]
        )
    )
    return st.one_of(
        lookalikes,
        st.from_regex(r"[a-z0-9][a-z0-9-]{1,62}", fullmatch=True)
        .filter(lambda s: s not in known)
        .map(lambda s: (f"unknown id {s[:20]}", s)),
        tricky_text().map(lambda s: (f"id {s[:20]!r}", s)),
        long_text(63).map(lambda d: (f"id of {d[0]}", d[1])),
        st.sampled_from(["..", ".", "%2e%2e", "..;", "~", "*", "null", "undefined"]).map(lambda s: (f"id {s!r}", s)),
    )


def other_methods(method: str) -> SearchStrategy[Drawn]:
    """Every other method, and this one in other letter cases (API Gateway matches methods case-sensitively)."""
    variants = [m for m in OTHER_METHODS if m != method] + [method.lower(), method.title()]
    return st.sampled_from(variants).map(lambda m: (f"method {m}", m))
