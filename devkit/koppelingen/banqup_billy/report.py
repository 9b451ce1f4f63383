"""What Billy holds of a Banqup space, read from its sandboxes (``devkit.koppelingen.banqup.report``)."""

from devkit.koppelingen.banqup.report import Held, Holding, billy_holding, duplicates, holding_table

holding = billy_holding
"""Every purchase, credit note and sales invoice Billy holds, with its VAT per rate, and its suppliers."""

__all__ = ["Held", "Holding", "duplicates", "holding", "holding_table"]
