"""Banqup → e-Boekhouden.nl is not a part of its own in `make demo`: Banqup's part is the firm's
(``devkit.koppelingen.banqup.demo``, registered as banqup_snelstart).
This pair is played on its own by
`make chaos KOPPELING=banqup_eboekhouden`; ``part`` is the firm's, for the registry."""

from devkit.koppelingen.banqup.demo import ENV, FirmDemo, FirmOutcome, part

__all__ = ["ENV", "FirmDemo", "FirmOutcome", "part"]
