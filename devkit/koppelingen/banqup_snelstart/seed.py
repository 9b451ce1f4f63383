"""A client space connected to SnelStart as the firm connects it (``devkit.koppelingen.banqup.seed``)."""

from devkit.koppelingen.banqup.seed import ClientSpace, client_space, connect_snelstart, firm_app

connect = connect_snelstart
"""The target's credentials as its owner gives them, then `koppel connections add` for (space, snelstart)."""

__all__ = ["ClientSpace", "client_space", "connect", "firm_app"]
