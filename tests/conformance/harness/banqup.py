"""Banqup in the conformance suite: its BTX sandbox on loopback with one accounting firm's app and one client space
that whitelisted it. Bookable records are UBL purchase invoices; an unreadable one is a scanned PDF that Banqup's
Document Processor read without its invoice number, repaired as a person completes it in Banqup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devkit.sandboxes.banqup.sandbox import BanqupSandbox
from tests.conformance.harness import SourceHarness

CLIENT_ID, CLIENT_SECRET = "koppel-conformance-app", "conformance-app-secret"
UBL = (Path(__file__).resolve().parents[2] / "fixtures" / "ubl" / "base-example.xml").read_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXTRACTION: dict[str, Any] = {
    "supplier": {"name": "Drukkerij Peeters BV", "vatNumber": "BE0477472701"},
    "invoiceNumber": "F2026-117",
    "issueDate": "2026-11-02",
    "dueDate": "2026-12-02",
    "currency": "EUR",
    "totalAmount": "121.00",
    "vatBreakdown": [{"rate": "21", "taxableAmount": "100.00", "vatAmount": "21.00"}],
}


def _a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


class BanqupHarness(SourceHarness):
    name = "banqup"

    def __init__(self) -> None:
        super().__init__(BanqupSandbox())
        self.sandbox: BanqupSandbox
        self.space = ""

    def fresh_account(self) -> None:
        # Firms and spaces outlive a reset: made once, their secret and whitelisting restored for every test
        firm = self.sandbox.firm_by_client(CLIENT_ID)
        if firm is None:
            firm = self.sandbox.add_firm("Boekhoudkantoor Conformance", CLIENT_ID, CLIENT_SECRET)
            self.space = self.sandbox.add_space(firm, "Bakkerij Jansen BV").id
        firm.client_secret = CLIENT_SECRET
        self.sandbox.whitelist(self.space, True)

    def settings(self) -> dict[str, Any]:
        return {"space_id": self.space, "host": self.sandbox.base_url, "client_name": "Bakkerij Jansen"}

    def secrets(self) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    def add_bookable(self) -> str:
        return str(self.sandbox.add_document(self.space, UBL, created_at=_a_minute_ago())["id"])

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.documents[record_id].document_status = "APPROVED"  # approved in Banqup: the document is the same

    def add_unreadable(self) -> str:
        extraction = {key: value for key, value in EXTRACTION.items() if key != "invoiceNumber"}
        return str(self.sandbox.add_document(self.space, PDF, created_at=_a_minute_ago(), extraction=extraction)["id"])

    def repair(self, record_id: str) -> None:
        self.sandbox.set_extraction(record_id, EXTRACTION)

    def refuse_credentials(self) -> None:
        firm = self.sandbox.firm_by_client(CLIENT_ID)
        assert firm is not None
        firm.client_secret = "rotated-in-the-developer-portal"
