"""What a client booking into Billy receives in Banqup: Nordisk Design ApS (DK)'s documents
(``devkit.koppelingen.banqup.scenarios``)."""

from devkit.koppelingen.banqup.scenarios import Planned, add_document, before_activation, danish_documents

documents = danish_documents
"""The week's documents this pair's client receives, issued up to a given day."""

__all__ = ["Planned", "add_document", "before_activation", "documents"]
