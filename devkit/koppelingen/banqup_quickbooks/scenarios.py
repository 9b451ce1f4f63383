"""What a client booking into QuickBooks Online receives in Banqup: Bakkerij Jansen BV (NL)'s documents
(``devkit.koppelingen.banqup.scenarios``)."""

from devkit.koppelingen.banqup.scenarios import Planned, add_document, before_activation, dutch_documents

documents = dutch_documents
"""The week's documents this pair's client receives, issued up to a given day."""

__all__ = ["Planned", "add_document", "before_activation", "documents"]
