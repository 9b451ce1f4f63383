"""CCV Shop → SnelStart: the orders, the demo part, the chaos plug-in, its report and its seed (devkit.koppelingen)."""
