"""A client space connected to e-Boekhouden.nl as the firm connects it (``devkit.koppelingen.banqup.seed``)."""

from devkit.koppelingen.banqup.seed import ClientSpace, client_space, connect_eboekhouden, firm_app

connect = connect_eboekhouden
"""The target's credentials as its owner gives them, then `koppel connections add` for (space, eboekhouden)."""

__all__ = ["ClientSpace", "client_space", "connect", "firm_app"]
