"""Koppel's logger as every handler uses it: e-mail addresses masked in every line, wire traces kept out."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest

from koppel.observability import logger, mask_emails

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What Koppel's logger wrote so far in this test, one dict per JSON line (its stream and level restored)."""
    handler: Any = logger.registered_handler
    stream, level = io.StringIO(), logger.log_level
    previous = handler.setStream(stream)
    logger.setLevel("DEBUG")
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(previous)
        logger.setLevel(level)
        logger.remove_keys(["customer"])


def test_an_email_address_in_a_message_is_masked_to_its_first_letter_and_domain(logged) -> None:
    # When a handler logs a sentence that names a customer's address
    logger.info("no relation found for J.Jansen@Example.nl, creating one")
    # Then the line keeps the first letter and the domain, not the address
    assert logged()[0]["message"] == "no relation found for J***@Example.nl, creating one"


def test_email_addresses_in_every_extra_value_and_appended_key_are_masked_and_the_rest_is_kept(logged) -> None:
    # Given a key appended for the invocation and an extra value that nests the customer
    logger.append_keys(customer="fatima.elamrani@example.nl")
    party = {"name": "Fatima el Amrani", "email": "fatima.elamrani@example.nl", "orders": 3, "vip": True}
    # When a handler logs with them, and a vendor's refusal that names an address in its URL
    logger.debug("party", extra={"party": party, "reason": "GET /v1/relation?email=info%40bakkerijjansen.nl (404)"})
    line = logged()[0]
    # Then every address is masked, also URL-encoded, and numbers, flags and names are what they were
    assert line["customer"] == "f***@example.nl"
    assert line["party"] == {"name": "Fatima el Amrani", "email": "f***@example.nl", "orders": 3, "vip": True}
    assert line["reason"] == "GET /v1/relation?email=i***%40bakkerijjansen.nl (404)"
    assert "elamrani" not in json.dumps(line) and "info%40" not in json.dumps(line)


def test_an_email_address_in_an_exception_and_its_traceback_is_masked(logged) -> None:
    # When a handler logs an exception whose message names an address
    try:
        raise ValueError("e-Boekhouden refused relation einkauf@fahrrad-mueller.de")
    except ValueError:
        logger.exception("delivery failed")
    line = logged()[0]
    # Then neither the exception text nor the traceback shows it
    assert "einkauf@" not in json.dumps(line)
    assert "e***@fahrrad-mueller.de" in line["exception"]


def test_text_without_an_address_is_left_as_it_is() -> None:
    # Given text with @ signs that are not e-mail addresses
    text = "booked @ 10:00 on ledger@2.0, decorator @logger.inject_lambda_context"
    # Then masking changes nothing
    assert mask_emails(text) == text


@pytest.fixture
def root_at_debug() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(level)


def test_the_aws_sdk_and_urllib3_wire_traces_stay_out_even_when_everything_logs_at_debug(root_at_debug) -> None:
    # Given the root logger at DEBUG (Lambda's application log level set to DEBUG does that)
    # Then the AWS SDK and urllib3, which would log whole requests and answers (secret values among them), do not
    for name in ("botocore", "botocore.endpoint", "botocore.parsers", "boto3", "urllib3.connectionpool"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    # And their warnings (a retry, a refused connection) still reach the logs
    assert logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.WARNING)
