"""Vendor answers: read into wire models with a sentence on error, and the status of a refusal remembered for the
connector that can act on it (a 401 renews the token once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from koppel.errors import PermanentError

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

M = TypeVar("M", bound=BaseModel)


class VendorReply(BaseModel):
    """Base of a connector's wire models of a vendor's answers: fields Koppel does not use are ignored."""

    model_config = ConfigDict(extra="ignore")


def parse_reply(model: type[M], data: Any, what: str, vendor: str) -> M:
    """A vendor answer as a wire model; an answer of another shape parks the record with what was wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PermanentError(
            f"{vendor} answered {what} with an unexpected shape: {error.errors()[0]['msg']}"
        ) from error


class StatusNote:
    """Remembers the status of a vendor's refusal while koppel.http.send maps it: a 401 means the access token was
    refused (renew it once), which only the connector that holds the token can act on."""

    def __init__(self, describe: Callable[[requests.Response], str]) -> None:
        self.status: int | None = None
        self._describe = describe

    def describe(self, response: requests.Response) -> str:
        self.status = response.status_code
        return self._describe(response)
