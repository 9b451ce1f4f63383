"""What the four Banqup pairs share (Banqup → SnelStart, e-Boekhouden, QuickBooks Online, Billy): an accounting
firm's app in Banqup, its clients' spaces and the documents they receive (``scenarios``), how a space is connected
to a client's accounting package (``seed``), the demo's story (``demo``) and what a target holds (``report``).
Each ``banqup_<target>`` package re-exports these with its target."""
