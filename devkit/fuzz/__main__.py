"""`make fuzz [N=10000 SEED=8]`: N bad requests at every inbound door; prints the answers, failures and 5xx."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.fuzz", description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="bad requests per door (default 10000)")
    parser.add_argument("--seed", type=int, default=8, help="hypothesis seed (default 8)")
    args = parser.parse_args(argv)
    # Every refusal is logged as a warning by design: tens of thousands of them would bury the report.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")

    from rich.console import Console

    from devkit.fuzz.runner import FuzzConfig, run_fuzz

    console = Console(width=max(Console().width, 160))
    console.rule(f"[bold]make fuzz: {args.requests:,} bad requests per inbound door, seed {args.seed}")
    report = run_fuzz(FuzzConfig(args.requests, args.seed), say=lambda text: console.print(f"[cyan]•[/] {text}"))
    console.print(report.counts_table())
    if not report.ok:
        console.print(report.failures_table())
    console.print(report.summary_line(), soft_wrap=True)
    console.print(f"requests: {report.requests():,}   5xx: {report.server_errors()}")
    console.rule("[green]every bad request refused" if report.ok else f"[red]{report.failure_count():,} failures")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
