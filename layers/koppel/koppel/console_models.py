"""The console API's request and answer bodies (pydantic): Powertools validates requests with them and writes the
OpenAPI document from them, and the API's tests validate every answer against that document."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from koppel.connectors.contract import ChartList


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_Body):
    username: str = Field(min_length=1, max_length=128)
    password: SecretStr = Field(min_length=1, max_length=256)
    """Shown as ``**********`` wherever the model is printed (a debug line, a traceback)."""


class PasswordRequired(BaseModel):
    """The answer to a first sign-in with an operator's temporary password: no token yet."""

    next: Literal["choose-password"] = "choose-password"
    session: str
    """Send it back with the new password to ``POST /api/session/password`` within a few minutes."""
    rules: str
    """What the new password needs, in words."""


class NewPassword(_Body):
    username: str = Field(min_length=1, max_length=128)
    session: SecretStr = Field(min_length=20, max_length=2048)
    """As Cognito's RespondToAuthChallenge takes it: a shorter or longer one is no session Cognito gave."""
    new_password: SecretStr = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    email: str
    role: Literal["operator", "firm", "client"]
    tenant: str
    client: str


class Session(BaseModel):
    id_token: str
    expires_in: int
    user: Me


class TargetName(BaseModel):
    name: str
    title: str


class ConnectionView(BaseModel):
    connection_id: str
    name: str
    tenant: str
    client: str
    source: str
    source_title: str
    targets: list[TargetName]
    colour: Literal["green", "yellow", "red"]
    status: str
    status_reason: str
    booked: int
    pending: int
    parked: int
    not_bookable: int
    dead: int
    last_success: str | None
    last_error: str
    last_error_at: str | None
    action: str


class ConnectionList(BaseModel):
    connections: list[ConnectionView]


HistoryState = Literal["booked", "pending", "parked", "not-bookable"]


class HistoryRecord(BaseModel):
    event_id: str
    updated_at: str
    target: str
    target_title: str
    document: str
    party: str
    total: str
    state: HistoryState
    target_document: str
    target_link: str
    attempts: int
    replays: int
    message: str
    payment: str


class History(BaseModel):
    records: list[HistoryRecord]


class RetryRequest(_Body):
    event_ids: list[str] = Field(default_factory=list, max_length=500)
    """Empty: every parked record of the connection (and its dead letters)."""


class Retried(BaseModel):
    replayed: list[str]
    message: str


class PauseRequest(_Body):
    reason: str = Field(default="", max_length=500)


class BackfillRequest(_Body):
    since: date
    until: date | None = None


class BackfillQueued(BaseModel):
    jobs: int
    message: str


class HourCount(BaseModel):
    hour: str
    booked: int


class Bookings(BaseModel):
    hours: list[HourCount]


class MappingFieldView(BaseModel):
    name: str
    label: str
    kind: Literal["ledger", "ledger_map", "code_map"]
    value: str | dict[str, str] | None
    keys: list[str]
    help: str
    picks_from: ChartList
    """The chart list (of this answer) its values are chosen from."""


class ChartEntry(BaseModel):
    code: str
    name: str


class MappingView(BaseModel):
    target: str
    title: str
    fields: list[MappingFieldView]
    ledgers: list[ChartEntry]
    tax_codes: list[ChartEntry]
    items: list[ChartEntry]
    """QuickBooks Online's Items a sale is booked on (empty for other packages)."""
    rulesets: list[ChartEntry]
    """Billy's sales-tax rulesets (empty for other packages)."""


class MappingChange(_Body):
    fields: dict[str, str | dict[str, str] | None] = Field(max_length=100)


class StartLink(BaseModel):
    url: str
    expires_at: str


class Problem(BaseModel):
    field: str
    message: str


class ErrorAnswer(BaseModel):
    error: str
    problems: list[Problem] = Field(default_factory=list)
