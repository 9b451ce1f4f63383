"""What the console shows of a Simply CRM connection as a target: the page that opens an invoice Koppel wrote into
the CRM. There is no mapping form: Simply CRM keeps no ledgers or tax codes (README.md, "Console")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from koppel.connectors.kit import load_settings
from koppel.connectors.simplycrm.fields import VENDOR
from koppel.connectors.simplycrm.settings import SimplyCrmSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

WEBSERVICE_ID = re.compile(r"^\d+x(\d+)$")
"""vtiger's webservice id: ``<module id>x<record id>`` (an invoice ``16x4711``); the web screens use the record id."""


def document_link(settings: Mapping[str, Any], external_id: str, direction: Literal["sale", "purchase"]) -> str:
    """An invoice's detail view on the CRM's own address (``url``: a sandbox's on a laptop); "" for a purchase, which
    Simply CRM does not book, and for an id that is not vtiger's."""
    found = WEBSERVICE_ID.match(external_id.strip())
    if direction != "sale" or not found:
        return ""
    base = load_settings(SimplyCrmSettings, settings, VENDOR).url.rstrip("/")
    return f"{base}/index.php?module=Invoice&view=Detail&record={quote(found[1], safe='')}"
