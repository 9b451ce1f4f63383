"""What the console's mapping forms share: a ledger field, the revenue ledgers per VAT rate and product group and a
chart of the ledgers the connect step synced (the Dutch packages: SnelStart, e-Boekhouden.nl), and the named chart
a package's connect step stores whole under ``chart`` (QuickBooks Online, Billy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.connectors.contract import CHART_LISTS, Chart, MappingField

if TYPE_CHECKING:
    from collections.abc import Mapping


CHART_LIMIT, NAME_LIMIT = 500, 60
"""At most this many entries per list of a stored chart, names cut at this length: the chart rides in the
connection's item (DynamoDB's 400 KB at most), read per record; a small business keeps a few hundred accounts. Past
the limit a code is taken unchecked, and the package still refuses an unknown one when booking."""


def stored_chart(settings: Mapping[str, Any]) -> Chart:
    """The chart ``after_connect`` stored under ``chart``: list (``ChartList``) → {code: name}; empty lists where
    nothing was stored yet (then any code is taken)."""
    stored = settings.get("chart") or {}
    lists = {part: dict(stored.get(part) or {}) for part in CHART_LISTS}
    return Chart(**{part: codes if len(codes) < CHART_LIMIT else {} for part, codes in lists.items()})


def named_chart(**lists: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The ``chart`` setting ``after_connect`` stores: each list cut at ``CHART_LIMIT`` (then left unchecked)."""
    return {
        part: {code: name[:NAME_LIMIT] for code, name in list(codes.items())[:CHART_LIMIT]}
        for part, codes in lists.items()
    }


def ledger_field(name: str, label: str, help_text: str) -> MappingField:
    return MappingField(name=name, label=label, kind="ledger", help=help_text)


def synced_ledgers(settings: Mapping[str, Any]) -> Chart:
    """The ledgers synced into ``ledger_ids`` (their key → the package's id). Their names are not kept, so each is
    named by its key; the VAT of these packages is no code a person picks from a chart."""
    synced = settings.get("ledger_ids") or {}
    return Chart(ledgers={str(key): str(key) for key in synced}, tax_codes={})


def dutch_revenue_fields(unit: str) -> tuple[MappingField, ...]:
    """Revenue per Dutch VAT rate, intra-EU and export, and per product group; ``unit`` is how the package names a
    ledger ("Ledger number", "Ledger code")."""
    return (
        ledger_field("revenue_high", "Revenue at the high rate (21 %)", f"{unit} sales taxed at 21 % are booked on."),
        ledger_field("revenue_low", "Revenue at the low rate (9 %)", f"{unit} sales taxed at 9 % are booked on."),
        ledger_field("revenue_zero", "Revenue without VAT (0 %)", f"{unit} domestic sales at 0 % are booked on."),
        ledger_field(
            "revenue_intra_eu",
            "Revenue, intra-EU supplies",
            f"{unit} of sales at 0 % to a business in another EU country (reported as ICP).",
        ),
        ledger_field("revenue_export", "Revenue, exports", f"{unit} of sales to customers outside the EU."),
        MappingField(
            name="product_group_ledgers",
            label="Revenue per product group",
            kind="ledger_map",
            help=f"Product group → {unit.lower()} for goods of that group sold at home; other groups use the rate's.",
            keys="product_groups",
        ),
    )
