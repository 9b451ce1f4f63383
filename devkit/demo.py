"""`make demo`: every koppeling of the registry (devkit.koppelingen) end to end on one embedded local stack, each
pair's part in turn, each followed by what its target holds, then the console on the same data (devkit.console).
`make console` (``--serve``) plays the same, then keeps the stack and the console up until Ctrl-C."""

from __future__ import annotations

import contextlib
import sys
import threading
from contextlib import ExitStack

from rich.console import Console

from devkit.koppelingen import KOPPELINGEN
from devkit.local import LocalStack

PARTS = ("two", "three", "four", "five", "six")


def heading(index: int, title: str) -> str:
    if index == 0:
        return f"[bold]Koppel demo: {title} on the local stack"
    part = PARTS[index - 1] if index <= len(PARTS) else str(index + 1)
    return f"[bold]Koppel demo, part {part}: {title} on the same stack"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--serve"]):
        print("usage: python -m devkit.demo [--serve]   (make demo | make console)", file=sys.stderr)
        return 2
    serve = args == ["--serve"]
    console = Console(width=max(Console().width, 110))  # the booking tables need the room, also in CI logs
    parts = [koppeling for koppeling in KOPPELINGEN if koppeling.in_demo]
    env: dict[str, str] = {}
    for koppeling in parts:
        env |= koppeling.module("demo").ENV
    ok = True
    # Every part's sandboxes stay up to the end (``up``): each tick polls every connection made so far.
    with LocalStack(env_overrides=env) as stack, ExitStack() as up:
        for index, koppeling in enumerate(parts):
            console.rule(heading(index, koppeling.title))
            if index == 0:
                console.print(f"[cyan]•[/] moto (AWS) at {stack.endpoint_url}; API Gateway at {stack.http_url}")
            ok = koppeling.demo(stack, console, up) and ok
        from devkit.console import demo as console_demo

        console.rule(heading(len(parts), "the console (management API, sign-in, who sees what)"))
        ok = console_demo.part(stack, console, up) and ok
        if serve:
            console.rule("[green]the console is up: open the address above; Ctrl-C stops it")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    console.rule("[green]demo finished" if ok else "[red]demo found a problem")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
