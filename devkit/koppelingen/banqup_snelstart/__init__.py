"""Banqup → SnelStart: one client space of an accounting firm booked into SnelStart.
What the four Banqup pairs share is in ``devkit.koppelingen.banqup``;
these modules re-export it with this pair's target."""
