"""What every inbound door checks before it believes a byte: size, JSON depth and form, ids, secrets.

Each check runs before the body is parsed or any store is read, so an oversized, deeply nested or malformed
request costs nothing and is answered 4xx with a reason. Every vendor's door (webhook, activation callback,
OAuth callback) goes through these, so a vendor added later gets the same guard by using them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from decimal import Decimal
from typing import Any

from koppel.errors import InputError, SignatureError

MAX_BODY_BYTES = 256 * 1024
"""Far below API Gateway's 10 MB: a webhook that tells Koppel what changed is a few hundred bytes."""
MAX_CALLBACK_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32
"""Deeper than any vendor nests; Python's json would raise RecursionError somewhere near a thousand."""
MAX_ID_DIGITS = 19
"""A vendor's numeric id fits in a signed 64-bit integer."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")


class TooLargeError(InputError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=413)


def raw_body(body: str | None, is_base64: bool | None) -> bytes:
    """The request body as the sender sent it, from an API Gateway event (base64 for binary bodies)."""
    if not body:
        return b""
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InputError("the request body is not valid base64") from error
    return body.encode("utf-8", "surrogatepass")


def check_size(body: bytes, limit: int, what: str) -> None:
    if len(body) > limit:
        raise TooLargeError(f"the {what} is {len(body)} bytes; Koppel takes at most {limit} bytes")


def read_json(body: bytes, what: str, *, limit: int = MAX_BODY_BYTES, depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON: UTF-8 without a byte-order mark, no NaN or Infinity, no key twice in one object, no nesting
    deeper than ``depth``, numbers with a fraction as Decimal. Anything else is an InputError that says what."""
    check_size(body, limit, what)
    if _nesting_exceeds(body, depth):
        raise InputError(f"the {what} nests JSON deeper than {depth} levels")
    try:
        text = body.decode("utf-8")  # a leading BOM stays in the text, and json refuses it
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as error:
        raise InputError(f"the {what} is not UTF-8 text") from error
    except ValueError as error:  # JSONDecodeError included
        raise InputError(f"the {what} is not valid JSON: {error}") from error


def ascii_digits(value: object, what: str) -> str:
    """A numeric id as text: ASCII digits only (``'²'`` and ``'١٢'`` pass str.isdigit, not this), at most 19, no
    leading zero."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"{what} must be a number, got {type(value).__name__}")
    text = str(value)
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= MAX_ID_DIGITS) or text.startswith("0"):
        # One spelling per id: "0340000004" would name the same order as "340000004" under another body hash
        raise InputError(
            f"{what} must be a number of at most {MAX_ID_DIGITS} digits without leading zeros, got {text[:40]!r}"
        )
    return text


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison on bytes: compare_digest raises on a str that is not ASCII, and a sender's header
    or body may hold anything."""
    given_bytes = given.encode("utf-8", "surrogatepass") if isinstance(given, str) else given
    expected_bytes = expected.encode("utf-8", "surrogatepass") if isinstance(expected, str) else expected
    return hmac.compare_digest(given_bytes, expected_bytes)


def opaque_token(value: object, refusal: str) -> str:
    """A token Koppel issued (start link, activation reference, OAuth state): url-safe ASCII of 32 to 128 chars,
    checked before it is hashed or looked up. Any other value is refused with ``refusal``: the same sentence as a
    well-formed token that was never issued, expired or used, so a caller learns nothing from the difference."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise SignatureError(refusal)
    return value


def digest(value: str | bytes) -> str:
    """SHA-256 in hex: how a token or a body is stored and looked up, never the token itself."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def _nesting_exceeds(body: bytes, limit: int) -> bool:
    """One pass over the bytes, counting brackets outside strings. Written by hand: the standard json module
    has no depth limit and recurses, and a streaming parser would be a dependency for twelve lines."""
    level = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            level += 1
            if level > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            level -= 1
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result
