"""A ready scene: a realistic Dutch B2B deal, as the preview fixture (tests/fixtures/pipedrive) shows it.

Pipedrive keeps one tax method per deal [V], so both lines are 21 % exclusive, as Dutch B2B prices are
quoted without VAT; the heat pumps carry a 7.5 % discount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devkit.sandboxes.pipedrive.products import ProductLine

if TYPE_CHECKING:
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox


def dutch_b2b_deal(sandbox: PipedriveSandbox) -> int:
    """Seed an organization, its contact person and a deal with two products; returns the deal id."""
    org = sandbox.add_organization(
        "Van den Berg Installatietechniek B.V.",
        address={
            "route": "Stationsplein",
            "street_number": "45",
            "postal_code": "3511 ED",
            "locality": "Utrecht",
            "admin_area_level_1": "Utrecht",
            "country": "Nederland",
        },
    )
    person = sandbox.add_person(
        "Eva van den Berg",
        emails=[
            {"value": "eva@vandenberg-installatie.nl", "primary": True, "label": "work"},
            {"value": "facturen@vandenberg-installatie.nl", "label": "other"},
        ],
        phones=[{"value": "+31 30 234 5678", "primary": True, "label": "work"}],
        org_id=org["id"],
    )
    deal = sandbox.add_deal(
        "Warmtepompen nieuwbouw Leidsche Rijn",
        [
            ProductLine("Warmtepomp Daikin Altherma 3 H HT 16 kW", "6495.00", 2, discount="7.5", tax=21),
            ProductLine("Installatie en inregeling (uur)", "85.00", 16, tax=21),
        ],
        person_id=person["id"],
        org_id=org["id"],
    )
    return int(deal["id"])
