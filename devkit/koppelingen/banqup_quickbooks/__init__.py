"""Banqup → QuickBooks Online: one client space of an accounting firm booked into QuickBooks Online.
What the four Banqup pairs share is in ``devkit.koppelingen.banqup``;
these modules re-export it with this pair's target."""
