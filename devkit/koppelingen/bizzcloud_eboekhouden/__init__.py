"""Bizzcloud → e-Boekhouden.nl: the documents, the demo part, the chaos plug-in, its report and its seed
(devkit.koppelingen)."""
