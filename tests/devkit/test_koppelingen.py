"""The registry of koppelingen the dev kit plays (`make demo`, `make chaos`), and the chaos command's refusal of a
pair it does not know."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devkit.chaos.__main__ import sizes
from devkit.koppelingen import KOPPELINGEN, UnknownKoppeling, find

ROOT = Path(__file__).resolve().parents[2]
BANQUP_PAIRS = ["banqup_snelstart", "banqup_eboekhouden", "banqup_quickbooks", "banqup_billy"]
PACKAGE_FILES = ("__init__.py", "scenarios.py", "demo.py", "chaos.py", "report.py", "seed.py")


def test_the_registry_lists_every_pair_each_with_its_package() -> None:
    # Given the registry
    names = [k.name for k in KOPPELINGEN]
    # Then it lists CCV Shop → SnelStart first (`make chaos` runs it first, the largest), then the others, Banqup's
    # four pairs last: only the first of them plays in `make demo` (the firm's part), each has its own chaos run
    assert names == [
        "ccvshop_snelstart", "bizzcloud_eboekhouden", "pipedrive_quickbooks", "simplycrm_billy", *BANQUP_PAIRS
    ]  # fmt: skip
    assert [k.name for k in KOPPELINGEN if k.in_demo] == names[:5]
    for koppeling in KOPPELINGEN:
        assert koppeling.name == f"{koppeling.source}_{koppeling.target}"
        # And each pair's package holds the same files, with a demo part and a chaos plug-in
        package = ROOT / "devkit" / "koppelingen" / koppeling.name
        assert sorted(p.name for p in package.glob("*.py")) == sorted(PACKAGE_FILES)
        assert callable(koppeling.demo)
        chaos = koppeling.module("chaos")
        assert chaos.CONFIG().size == koppeling.chaos_size
        assert callable(chaos.run_chaos)


def test_the_default_chaos_run_plays_every_pair_and_n_keeps_their_shares() -> None:
    # Given every pair (what `make chaos` plays without KOPPELING)
    pairs = list(KOPPELINGEN)
    # Then without N each runs at its own size, and with N the largest runs N and the others their share of it
    assert sizes(pairs, None) == [2000, 300, 200, 120, 150, 150, 150, 150]
    assert sizes(pairs, 200) == [200, 30, 20, 12, 15, 15, 15, 15]
    # And one pair runs exactly N
    assert sizes([find("bizzcloud_eboekhouden")], 60) == [60]


def test_an_unknown_pair_is_refused_with_the_known_ones() -> None:
    # When a name is looked up that is no pair
    with pytest.raises(UnknownKoppeling) as refused:
        find("nope")
    # Then the message names every known pair
    known = "ccvshop_snelstart, bizzcloud_eboekhouden, pipedrive_quickbooks, simplycrm_billy, " + ", ".join(
        BANQUP_PAIRS
    )
    assert str(refused.value) == f"unknown koppeling 'nope'; known: {known}"


def test_chaos_with_an_unknown_pair_exits_2_with_one_line_naming_the_known_ones() -> None:
    # When `python -m devkit.chaos --koppeling nope` runs
    done = subprocess.run(
        [sys.executable, "-m", "devkit.chaos", "--koppeling", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it exits 2 before anything starts, with one line that lists the known pairs
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: unknown koppeling 'nope'; known: ccvshop_snelstart, bizzcloud_eboekhouden, pipedrive_quickbooks, "
        "simplycrm_billy, banqup_snelstart, banqup_eboekhouden, banqup_quickbooks, banqup_billy"
    ]
