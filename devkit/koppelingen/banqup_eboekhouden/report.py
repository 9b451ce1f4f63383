"""What e-Boekhouden.nl holds of a Banqup space, read from its sandboxes (``devkit.koppelingen.banqup.report``)."""

from devkit.koppelingen.banqup.report import Held, Holding, duplicates, eboekhouden_holding, holding_table

holding = eboekhouden_holding
"""Every purchase, credit note and sales invoice e-Boekhouden.nl holds, with its VAT per rate, and its suppliers."""

__all__ = ["Held", "Holding", "duplicates", "holding", "holding_table"]
