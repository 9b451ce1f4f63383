"""`make chaos [KOPPELING=<source>_<target>] [N=… SEED=…]`: one koppeling, or every one in turn, through seeded
faults on the local stack; a table per koppeling, then one summary line each. Exits 1 when any run found a
duplicate, a lost document or another problem, 2 for an unknown koppeling."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from devkit.chaos.report import report_table
from devkit.koppelingen import KOPPELINGEN, UnknownKoppeling, find

if TYPE_CHECKING:
    from devkit.chaos.report import ChaosReport
    from devkit.koppelingen import Koppeling


def sizes(chosen: list[Koppeling], size: int | None) -> list[int]:
    """Each run's size: its default, or N; with every koppeling, N is the largest run's and the others keep their
    share of it (the default N=2000 plays 2000 CCV orders and 300 Bizzcloud documents, say)."""
    if size is None:
        return [k.chaos_size for k in chosen]
    if len(chosen) == 1:
        return [size]
    largest = max(k.chaos_size for k in chosen)
    return [max(1, round(size * k.chaos_size / largest)) for k in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.chaos", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--koppeling", help="<source>_<target>; every koppeling in turn when left out")
    parser.add_argument("--size", type=int, help="orders or documents (default: the koppeling's own)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, help="deliver containers side by side (default 2)")
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args(argv)
    try:
        chosen = [find(args.koppeling)] if args.koppeling else list(KOPPELINGEN)
    except UnknownKoppeling as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    overrides = {name: value for name in ("workers", "batch_size") if (value := getattr(args, name)) is not None}
    # Every retry logs a warning, and a chaos run retries thousands of times: the table says what matters.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    console = Console(width=max(Console().width, 120))  # one summary line per koppeling, also in CI logs
    reports: list[ChaosReport] = []
    for koppeling, size in zip(chosen, sizes(chosen, args.size), strict=True):
        chaos = koppeling.module("chaos")
        config = chaos.CONFIG(size=size, seed=args.seed, **overrides)
        console.rule(f"[bold]Koppel chaos, {koppeling.title}: {size} {chaos.RUN.UNIT}, seed {args.seed}")
        report = chaos.run_chaos(config, say=lambda text: console.print(f"[cyan]•[/] {text}"))
        console.print(report_table(report))
        reports.append(report)
    console.rule("[bold]summary")
    for report in reports:
        console.print(report.summary(), style=None if report.ok else "bold red", highlight=False)
    ok = all(report.ok for report in reports)
    console.rule("[green]no duplicate, nothing lost" if ok else "[red]the chaos run found a problem")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
