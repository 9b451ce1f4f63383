"""A client space connected to QuickBooks Online as the firm connects it (``devkit.koppelingen.banqup.seed``)."""

from devkit.koppelingen.banqup.seed import ClientSpace, client_space, connect_quickbooks, firm_app

connect = connect_quickbooks
"""The target's credentials as its owner gives them, then `koppel connections add` for (space, quickbooks)."""

__all__ = ["ClientSpace", "client_space", "connect", "firm_app"]
