"""Banqup → e-Boekhouden.nl: one client space of an accounting firm booked into e-Boekhouden.nl.
What the four Banqup pairs share is in ``devkit.koppelingen.banqup``;
these modules re-export it with this pair's target."""
