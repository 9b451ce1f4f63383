"""Banqup's part of `make demo`: the firm whose clients book into SnelStart, QuickBooks Online and Billy
(``devkit.koppelingen.banqup.demo``). The registry names it after this pair, the first Banqup pair."""

from devkit.koppelingen.banqup.demo import ENV, FirmDemo, FirmOutcome, part

__all__ = ["ENV", "FirmDemo", "FirmOutcome", "part"]
