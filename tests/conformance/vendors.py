"""The one list of vendors the conformance suite runs against: a vendor package gets every target or source test
by adding its harness here (a module of its own in ``tests/conformance/harness/``)."""

from __future__ import annotations

from tests.conformance.harness import Harness, SourceHarness, TargetHarness
from tests.conformance.harness.banqup import BanqupHarness
from tests.conformance.harness.billy import BillyHarness
from tests.conformance.harness.billy_source import BillySourceHarness
from tests.conformance.harness.bizzcloud import BizzcloudHarness
from tests.conformance.harness.ccvshop import CcvshopHarness
from tests.conformance.harness.eboekhouden import EboekhoudenHarness
from tests.conformance.harness.pipedrive import PipedriveHarness
from tests.conformance.harness.quickbooks import QuickbooksHarness
from tests.conformance.harness.simplycrm import SimplycrmHarness
from tests.conformance.harness.simplycrm_target import SimplycrmTargetHarness
from tests.conformance.harness.snelstart import SnelstartHarness

VENDORS: tuple[Harness, ...] = (
    CcvshopHarness(),
    BizzcloudHarness(),
    PipedriveHarness(),
    SimplycrmHarness(),
    SnelstartHarness(),
    EboekhoudenHarness(),
    QuickbooksHarness(),
    BillyHarness(),
    BillySourceHarness(),
    SimplycrmTargetHarness(),
    BanqupHarness(),
)

TARGETS = tuple(h for h in VENDORS if isinstance(h, TargetHarness))
SOURCES = tuple(h for h in VENDORS if isinstance(h, SourceHarness))
