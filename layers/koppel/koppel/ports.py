"""The ports: what services need from the outside world, as Protocols.

Services depend on these only; AWS adapters (koppel.adapters), vendor connectors (koppel.connectors) and
the in-memory fakes of the tests implement them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from pydantic import Field

from koppel.model import AwareDatetime, Canonical, Connection, DocumentRef, ExternalRef, HubEvent, Party

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from koppel.booking import Booking
    from koppel.records import RecordKind, RecordLink


class WebhookNotice(Canonical):
    """What a (thin) webhook says happened; the source re-reads the record before anything is enqueued."""

    entity: str
    record_id: str
    topic: str = ""


class PolledRecord(Canonical):
    """One source record read by a poll: when it changed (for the watermark) and its events (maybe none)."""

    record_id: str
    changed_at: AwareDatetime
    events: tuple[HubEvent, ...] = ()
    event_ids: tuple[str, ...] = ()
    notice: WebhookNotice | None = None
    """A bookable record whose events are not read yet: the poll reads them with ``hydrate(notice)`` only when the
    ledger does not already hold ``event_ids`` (a poll that overlaps booked records then costs no vendor reads)."""
    skipped_reason: str = ""
    problem: str = ""
    """Why this record, which should be booked, cannot be read into Koppel's model (two taxes on a line, a
    document without a number): it is parked under ``event_ids`` so a person sees it, and booked by the first
    poll after it is corrected in the source."""
    is_settled: bool = True
    """False while the record may still become bookable (an order not yet completed or paid): the poll
    watermark never moves past an unsettled record, so a source without a 'modified since' filter
    still sees the order again when it completes."""


class Source(Protocol):
    """Every source is polled (the primary path, or the safety net behind webhooks). Taking webhooks and re-reading
    a record are capabilities (``koppel.connectors.contract.WebhookSource``, ``RecordReader``), checked with
    isinstance where they are needed: a polled-only source does not implement them."""

    name: ClassVar[str]

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Records created or changed in [since, until), oldest first."""


class Target(Protocol):
    name: ClassVar[str]

    def find_party(self, party: Party) -> ExternalRef | None: ...

    def create_party(self, party: Party) -> ExternalRef: ...

    def find_booking(self, booking: Booking) -> ExternalRef | None:
        """Look the document up by its natural key (invoice number): the outbox's safety net."""

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef: ...


class FileStore(Protocol):
    """Original documents (a supplier's PDF, a UBL file) kept aside as claim checks, never inside a queue message:
    on AWS an S3 bucket encrypted with Koppel's KMS key, whose lifecycle rule expires them."""

    def put(self, connection_id: str, filename: str, content_type: str, data: bytes) -> DocumentRef:
        """Keep ``data`` under a key derived from its SHA-256 (the same file twice is one object)."""

    def read(self, ref: DocumentRef) -> bytes:
        """The bytes behind ``ref``; PermanentError when they are gone (expired) or are not the file ``ref`` names."""


class Publisher(Protocol):
    def publish(self, target: str, events: Sequence[HubEvent], *, replay: int = 0) -> None:
        """Put events on the target's queue; raise if any was not accepted."""


class DeadLetter(Canonical):
    """A message that a target's queue gave up on, as an operator sees it."""

    message_id: str
    body: str
    sent_at: AwareDatetime
    reason: str = ""
    envelope_json: str = ""
    """The HubEnvelope when the body is one; empty for a message that is no Koppel event."""


class DeadLetters(Protocol):
    def list(self, target: str) -> list[DeadLetter]: ...

    def requeue(self, target: str, letters: Sequence[DeadLetter]) -> int:
        """Move these messages back onto the target's queue; returns how many moved."""


class Redelivery(Protocol):
    """What a queue consumer does with a message it could not finish: show it again later, or set it aside."""

    def retry_later(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Make the received message visible again after ``seconds`` (the vendor's wait or a backoff)."""

    def dead_letter(self, body: str, reason: str) -> bool:
        """Move a message that can never succeed to the dead-letter queue; False when there is none to move to."""


class PollJob(Canonical):
    connection_id: str
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    is_backfill: bool = False
    sync_targets_now: bool = False
    """A target said its records changed (a webhook): read its status back now, and poll nothing."""


class JobQueue(Protocol):
    def enqueue(self, jobs: Sequence[PollJob]) -> None: ...


NEVER_POLLED = datetime(1970, 1, 1, tzinfo=UTC)
"""The next poll of a connection that is new or reactivated: due at once, whatever the scheduler's clock says."""


class DuePoll(Canonical):
    """An active connection whose next scheduled poll is due: what the scheduler reads from its index."""

    connection_id: str
    due_at: AwareDatetime
    poll_interval_minutes: int


CountName = Literal["Booked", "Parked", "Retried", "DeadLettered", "Replayed", "WebhookAccepted", "WebhookRefused"]
LatencyName = Literal["BookingLatency"]
ParkReason = Literal["unbalanced", "mapping", "vendor", "source", "other"]
"""Why a record was parked, as a class (never the message): ``koppel.errors.park_reason`` decides it."""


def koppeling(source: str, target: str) -> str:
    """The name metrics group by: ``<source>_<target>`` (``ccvshop_snelstart``). Vendor names have no ``_``."""
    return f"{source}_{target}"


class Meter(Protocol):
    """What operations counts, per koppeling (docs/design.md, Metrics and alarms). Never a tenant or connection
    id: those are in the log lines and the ledger, where a person looks one connection up."""

    def count(self, name: CountName, koppeling: str, n: int = 1, *, reason: ParkReason | None = None) -> None: ...

    def latency(self, name: LatencyName, koppeling: str, seconds: float) -> None: ...


class NoMeter:
    """Counts nothing: the default of every service (preview, CLI), where no one reads metrics."""

    def count(self, name: CountName, koppeling: str, n: int = 1, *, reason: ParkReason | None = None) -> None:
        """Nothing."""

    def latency(self, name: LatencyName, koppeling: str, seconds: float) -> None:
        """Nothing."""


class Activation(Canonical):
    """A vendor's account-activation callback (SnelStart's koppelsleutel webhook), normalized."""

    action: Literal["create", "regenerate", "delete"]
    credential: str = ""
    credential_name: str = "credential"
    """Under which name the connector reads this credential from its secrets (e.g. "koppelsleutel")."""
    reference: str


class CachedToken(Canonical):
    """An access token shared by every worker of a connection, and for OAuth the grant that renews it.

    ``version`` makes every write conditional (single flight). An OAuth grant also keeps its refresh token, which
    the vendor may rotate on every use, and ``refreshing_until``: the lease of the one worker renewing it now."""

    value: str = Field(repr=False)
    expires_at: AwareDatetime
    version: int = 0
    refresh_token: str = Field(default="", repr=False)
    refresh_expires_at: AwareDatetime | None = None
    refreshed_at: AwareDatetime | None = None
    refreshing_until: AwareDatetime | None = None


GrantPurpose = Literal["start", "activation", "link"]


class Grant(Canonical):
    """A one-off right, held by whoever holds its token: only the token's SHA-256 is stored.

    - ``start``: the owner's start link (issued by the CLI, later the console) may begin one activation;
    - ``activation``: the reference Koppel gave the vendor for that activation; its callback may connect once;
    - ``link``: the same reference after it connected, which the vendor's later Regenerate or Delete carries.
    """

    connection_id: str
    system: str
    purpose: GrantPurpose
    expires_at: AwareDatetime | None = None
    """None for a ``link``: it lasts until the system is disconnected."""
    return_url: str = ""
    """Where the vendor sends the user after activation, as the owner set it when the start link was issued."""


class GrantStore(Protocol):
    def issue(self, token_digest: str, grant: Grant) -> None: ...

    def redeem(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        """Take the grant away (single use) if it is of this purpose and not expired; None otherwise."""

    def find(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        """Read the grant without using it up (a ``link``); None if there is none of this purpose or it expired."""

    def revoke(self, token_digest: str) -> None: ...


class ReplayCache(Protocol):
    def first_sighting(self, connection_id: str, body_digest: str, until: datetime, now: datetime) -> bool:
        """Remember a webhook body until ``until``; False if it was already seen (and not expired)."""

    def forget(self, connection_id: str, body_digest: str) -> None:
        """The body was not handled after all (the source was busy): let the sender's retry through."""

    def note_refusal(self, connection_id: str, body_digest: str, reason: str, until: datetime) -> None:
        """The body was refused (the source does not know its record): a replay gets the same answer, unread."""

    def refusal_of(self, connection_id: str, body_digest: str) -> str:
        """Why a body already seen was refused; "" when it was accepted."""


class RecordLinks(Protocol):
    """The links of a two-way record sync (``koppel.records.RecordLink``), in the ledger table."""

    def links(self, connection_id: str, kind: RecordKind) -> list[RecordLink]:
        """Every link of one kind of one connection: one Query, never a Scan."""

    def link_of(self, connection_id: str, kind: RecordKind, side: str, ident: str) -> RecordLink | None: ...

    def save(self, link: RecordLink) -> bool:
        """Store ``link`` as version + 1, if the stored one is still ``link.version`` (or there is none and it is 0);
        False when another run changed it first."""

    def take_turn(self, connection_id: str, until: datetime, now: datetime) -> bool:
        """The right to sync a connection's records until ``until``: one run at a time (a scheduled one and one a
        person started cannot both create the same record). False while another holds it."""

    def end_turn(self, connection_id: str) -> None: ...


class ConnectionStore(Protocol):
    def get(self, connection_id: str) -> Connection:
        """Raise NotFoundError for an unknown connection."""

    def put(self, connection: Connection) -> None: ...

    def all(self) -> list[Connection]:
        """Every connection. A Scan on DynamoDB: for the CLI, never on a scheduled path (the scheduler uses due)."""

    def of_tenant(self, tenant_id: str) -> list[Connection]:
        """Every connection of one tenant (an accounting firm's clients' integrations), read through an index."""

    def tenants(self) -> list[str]:
        """Every tenant that has had a connection, read by key (the console's operator view), in order."""

    def due(self, now: datetime) -> list[DuePoll]:
        """The active connections whose next poll is at or before ``now``, read through an index (never a Scan).
        A new or reactivated connection is due at once (``NEVER_POLLED``); paused and disconnected ones never are."""

    def reschedule(self, due: DuePoll, next_at: datetime) -> bool:
        """Move a connection's next poll from ``due.due_at`` to ``next_at`` (a conditional write); False when
        another scheduler run moved it first, or the connection stopped being active."""

    def get_secrets(self, connection_id: str, system: str) -> dict[str, str]: ...

    def put_secrets(self, connection_id: str, system: str, secrets: Mapping[str, str]) -> None: ...

    def holds_credentials(self, connection_id: str, system: str) -> bool:
        """Whether any credential or token of the system is stored, without decrypting anything."""

    def delete_secrets(self, connection_id: str, system: str) -> None:
        """Forget a system's credentials and the access token they gave."""

    def link_account(self, system: str, account_id: str, connection_id: str) -> None:
        """Note that the connection reaches this vendor account (a QuickBooks company, a Pipedrive company), so that
        a notice naming only the account (a webhook, an app-extension click) finds its connections by key."""

    def connections_of_account(self, system: str, account_id: str) -> list[str]:
        """The connections linked to a vendor account, read by key (never a Scan)."""

    def get_watermark(self, connection_id: str, stream: str) -> datetime | None: ...

    def advance_watermark(self, connection_id: str, stream: str, to: datetime) -> bool:
        """Move the watermark forward only (a conditional write); False when it already was past ``to``."""

    def get_token(self, connection_id: str, system: str) -> CachedToken | None: ...

    def put_token(self, connection_id: str, system: str, token: CachedToken) -> bool:
        """Store a token if its version is the next one (single-flight refresh); False if another won."""


LedgerState = Literal["PENDING", "POSTED", "PARKED", "SKIPPED"]
"""SKIPPED: a document the source holds that is not bookable (a bank statement), kept in the history with why."""
PAID = "paid"
SETTLED_AT_BOOKING = "settled when booked"
NOT_FOLLOWED = "not followed"
WRITTEN_BACK = "written back"
CLOSING_NOTES = (PAID, SETTLED_AT_BOOKING, NOT_FOLLOWED, WRITTEN_BACK)
"""Payment notes after which no path reads a POSTED row by its state again (it may expire after the retention).
A write-back row (a payment status carried to the source) is born with WRITTEN_BACK: once posted, nothing
follows it."""


class LedgerEntry(Canonical):
    """One source record for one target of one connection: the outbox row and the link to the target."""

    connection_id: str
    target: str
    event_id: str
    state: LedgerState
    request_id: str
    lease_until: AwareDatetime
    attempts: int = 1
    document_number: str = ""
    party_name: str = ""
    total: str = ""
    external_id: str = ""
    external_number: str = ""
    reason: str = ""
    updated_at: AwareDatetime
    replays: int = 0
    event_json: str = ""
    """The event as it was delivered (a HubEnvelope), so a parked record can be replayed after a fix."""
    due_date: str = ""
    """When the booked invoice falls due (ISO date), as the target said when its status was last read."""
    payment: str = ""
    """The payment status last carried back to the source ("open 12.10", "paid 0.00", "settled when booked"), or
    "not followed" when nothing carries it back."""

    @property
    def is_closed(self) -> bool:
        """POSTED and its payment no longer followed: no scheduled path reads it again, so it may expire."""
        return self.state == "POSTED" and self.payment.startswith(CLOSING_NOTES)

    @classmethod
    def pending(
        cls, connection_id: str, target: str, event_id: str, now: datetime, lease_until: datetime, **fields: str
    ) -> LedgerEntry:
        """A new PENDING row with a fresh request id: what a worker claims before it acts."""
        return cls(
            connection_id=connection_id,
            target=target,
            event_id=event_id,
            state="PENDING",
            request_id=str(uuid.uuid4()),
            lease_until=lease_until,
            updated_at=now,
            **fields,
        )


class Claim(Canonical):
    entry: LedgerEntry
    is_ours: bool
    """True when this worker may go on (a new row, or a stale PENDING row taken over)."""


class Ledger(Protocol):
    def claim(self, entry: LedgerEntry, now: datetime) -> Claim:
        """Create the PENDING row, or take over a PENDING row whose lease ran out; else return the row as is."""

    def mark_posted(self, entry: LedgerEntry, ref: ExternalRef, now: datetime, *, note: str = "") -> LedgerEntry:
        """POSTED, linked to ``ref``; ``note`` says what was done where more than "booked" is worth telling."""

    def mark_parked(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry: ...

    def mark_skipped(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        """SKIPPED: not bookable, with why; nothing reads it again, and it expires after the retention."""

    def note_payment(self, entry: LedgerEntry, payment: str, now: datetime, *, due_date: str = "") -> LedgerEntry:
        """Remember the payment status carried back for a POSTED row (and its due date, when the target said)."""

    def release(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        """Give up the lease after a retryable failure, keeping the row PENDING with the reason."""

    def reopen(self, entry: LedgerEntry, now: datetime) -> LedgerEntry | None:
        """A PARKED row back to PENDING (lease run out, replays + 1) for a replay; None if it is not PARKED."""

    def get(self, connection_id: str, target: str, event_id: str) -> LedgerEntry | None: ...

    def entries(
        self,
        connection_id: str,
        state: LedgerState | None = None,
        *,
        target: str | None = None,
        since: datetime | None = None,
    ) -> list[LedgerEntry]:
        """Rows of one connection (in one state, for one target, changed at or after ``since``), read through the
        state index: never a Scan. Ordered by target, then event id."""

    def open_items(self, connection_id: str, target: str) -> list[LedgerEntry]:
        """The POSTED rows of one target whose payment status is still followed (not ``is_closed``): what target
        sync reads on every scheduled run, without reading what was settled long ago."""

    def count(self, connection_id: str, state: LedgerState) -> int:
        """How many rows of one connection are in ``state`` (POSTED includes the closed ones), counted by the
        index without reading the rows: a connection's status costs the same after a million bookings."""

    def latest(self, connection_id: str, state: LedgerState, target: str) -> LedgerEntry | None:
        """The row of one target that changed last in ``state``: one row read, whatever the history."""

    def get_link(self, connection_id: str, target: str, natural_key: str) -> str | None: ...

    def put_link(self, connection_id: str, target: str, natural_key: str, external_id: str) -> None: ...

    def release_link(self, connection_id: str, target: str, natural_key: str) -> None:
        """Give up a reservation whose create failed (a link already made stays): a retry may reserve at once."""

    def reserve_link(self, connection_id: str, target: str, natural_key: str, until: datetime, now: datetime) -> bool:
        """Claim the right to create the record behind a natural key (a new customer) until ``until``; False when
        another worker holds it or the link exists. Two orders of one new customer then make one relation."""


class SignedIn(Canonical):
    id_token: str
    expires_in: int


class PasswordToChoose(Canonical):
    """A person signed in with the first password an operator gave them: they choose their own before any token."""

    session: str = Field(repr=False)
    """Cognito's proof of the first sign-in, good for a few minutes: as secret as the password it stands for."""
    rules: str
    """What the pool's password policy asks of the new password, in words."""


class SignIn(Protocol):
    def sign_in(self, username: str, password: str) -> SignedIn | PasswordToChoose:
        """The person's ID token, or the step to choose their own password; AuthError for a wrong username or
        password (the same for both)."""

    def choose_password(self, username: str, session: str, new_password: str) -> SignedIn:
        """Finish a first sign-in with the person's own password; InputError for one the pool's policy refuses
        (they try another), AuthError when the session has run out (they sign in again)."""
