"""Pipedrive → QuickBooks Online: its deals, demo part, chaos run, report and the seed of its recorded events."""
