"""Banqup → QuickBooks Online is not a part of its own in `make demo`: Banqup's part is the firm's
(``devkit.koppelingen.banqup.demo``, registered as banqup_snelstart), in which a client books into QuickBooks Online.
This pair is played on its own by
`make chaos KOPPELING=banqup_quickbooks`; ``part`` is the firm's, for the registry."""

from devkit.koppelingen.banqup.demo import ENV, FirmDemo, FirmOutcome, part

__all__ = ["ENV", "FirmDemo", "FirmOutcome", "part"]
