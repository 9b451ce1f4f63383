"""A client space connected to Billy as the firm connects it (``devkit.koppelingen.banqup.seed``)."""

from devkit.koppelingen.banqup.seed import ClientSpace, client_space, connect_billy, firm_app

connect = connect_billy
"""The target's credentials as its owner gives them, then `koppel connections add` for (space, billy)."""

__all__ = ["ClientSpace", "client_space", "connect", "firm_app"]
