from __future__ import annotations

import json
from decimal import Decimal

import pytest

from koppel import wire


def test_amounts_go_out_as_the_exact_number_literals_they_are() -> None:
    # Given a body with amounts in cents, a null and non-ASCII text
    body = {"factuurbedrag": Decimal("590.00"), "btw": [{"btwBedrag": Decimal("102.40")}], "x": None, "naam": "Café"}
    # When it is written as JSON
    text = wire.dumps(body)
    # Then the vendor reads numbers with exactly those digits, never a float's approximation
    assert text == '{"factuurbedrag":590.00,"btw":[{"btwBedrag":102.40}],"x":null,"naam":"Café"}'
    assert json.loads(text, parse_float=Decimal) == body


def test_a_float_never_reaches_a_vendor() -> None:
    with pytest.raises(TypeError, match="must be Decimal"):
        wire.dumps({"bedrag": 0.1 + 0.2})


def test_indented_output_is_still_the_same_json() -> None:
    body = {"requests": [{"method": "GET", "body": None}, {"method": "POST", "body": {"a": Decimal("1.5")}}]}
    assert json.loads(wire.dumps(body, indent=2), parse_float=Decimal) == body
