"""What QuickBooks Online holds of a Banqup space, read from its sandboxes (``devkit.koppelingen.banqup.report``)."""

from devkit.koppelingen.banqup.report import Held, Holding, duplicates, holding_table, quickbooks_holding

holding = quickbooks_holding
"""Every purchase, credit note and sales invoice QuickBooks Online holds, with its VAT per rate, and its suppliers."""

__all__ = ["Held", "Holding", "duplicates", "holding", "holding_table"]
