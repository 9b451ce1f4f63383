"""Banqup → Billy is not a part of its own in `make demo`: Banqup's part is the firm's
(``devkit.koppelingen.banqup.demo``, registered as banqup_snelstart), in which a client books into Billy.
This pair is played on its own by
`make chaos KOPPELING=banqup_billy`; ``part`` is the firm's, for the registry."""

from devkit.koppelingen.banqup.demo import ENV, FirmDemo, FirmOutcome, part

__all__ = ["ENV", "FirmDemo", "FirmOutcome", "part"]
