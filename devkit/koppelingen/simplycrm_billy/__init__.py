"""Simply CRM ↔ Billy: the two-way koppeling's documents, demo part, chaos plug-in, its report and its seed
(devkit.koppelingen)."""
