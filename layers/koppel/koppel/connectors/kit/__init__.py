"""What every vendor package shares, by role: ``settings`` (a connection's settings validated with a sentence on
error, booking-description templates), ``replies`` (vendor answers read into wire models, refusal statuses) and
``tokens`` (short-lived access tokens shared by every worker through the connection store) and ``json_client``
(one call to a JSON API, exact decimals both ways)."""

from koppel.connectors.kit.json_client import send_json
from koppel.connectors.kit.replies import StatusNote, VendorReply, parse_reply
from koppel.connectors.kit.settings import DescriptionTemplate, describe, load_settings
from koppel.connectors.kit.tokens import REFRESH_MARGIN, SharedTokens

__all__ = [
    "REFRESH_MARGIN",
    "DescriptionTemplate",
    "SharedTokens",
    "StatusNote",
    "VendorReply",
    "describe",
    "load_settings",
    "parse_reply",
    "send_json",
]
