"""webservice.php: one URL, the operation named in ``operation`` [V, vtiger ``webservice.php``,
``DefaultDataPopulator.php`` operation table].

Each operation reads its parameters from one place: GET operations (getchallenge, query, retrieve, describe,
listtypes, sync) from the query string, POST operations (login, create, update, revise, delete, logout,
extendsession) from the form body; a parameter sent the other way is not seen [V, OperationManager]. An
unknown operation is ``UNKNOWN_OPERATION`` "Unknown operation requested" [V].
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.simplycrm import query as vtql
from devkit.sandboxes.simplycrm import records
from devkit.sandboxes.simplycrm.store import visible
from devkit.sandboxes.simplycrm.sync import sync
from devkit.sandboxes.simplycrm.wire import (
    ACCESS_DENIED,
    DENIED,
    UNKNOWN_OPERATION,
    VtigerError,
    failure,
    success,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
    from devkit.sandboxes.simplycrm.store import Store

GET_OPERATIONS = {"getchallenge", "query", "retrieve", "describe", "listtypes", "sync"}
POST_OPERATIONS = {"login", "create", "update", "revise", "delete", "logout", "extendsession"}
API_VERSION = "0.22"


def handle(sandbox: SimplyCrmSandbox, request: Request) -> Response:
    if request.path.rstrip("/").rsplit("/", 1)[-1] != "webservice.php":
        return failure(VtigerError(UNKNOWN_OPERATION, "Unknown operation requested"))
    operation = str(request.values.get("operation", "")).lower()
    params = request.args if operation in GET_OPERATIONS else request.form
    try:
        if operation not in GET_OPERATIONS | POST_OPERATIONS:
            raise VtigerError(UNKNOWN_OPERATION, "Unknown operation requested")
        with sandbox.lock:
            return success(_run(sandbox, operation, params, request.values.get("sessionName")))
    except VtigerError as error:
        return failure(error)


def _run(sandbox: SimplyCrmSandbox, operation: str, params: Any, session_name: str | None) -> Any:
    now, gate, store = sandbox.clock(), sandbox.gate, sandbox.store
    if operation == "getchallenge":
        return gate.challenge(str(params.get("username", "")), now)
    if operation == "login":
        user = gate.login(str(params.get("username", "")), str(params.get("accessKey", "")), now)
        return {
            "sessionName": gate.open_session(user, now),
            "userId": f"{store.modules['Users'].id_prefix}x{user.id}",
            "version": API_VERSION,
            "vtigerVersion": sandbox.vtiger_version,
        }
    session = gate.session(session_name, now)
    user_id = f"{store.modules['Users'].id_prefix}x{session.user_id}"
    if operation == "logout":
        gate.end(session.name)
        return {"message": "successfull"}  # sic, vtiger's Logout.php
    if operation == "extendsession":
        return {"sessionName": session.name, "userId": user_id, "version": API_VERSION}
    return _RECORD_OPERATIONS[operation](sandbox, params, user_id, now)


def _query(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float) -> Any:
    store = sandbox.store
    parsed = vtql.parse(str(params.get("query", "")))
    if parsed.module not in store.modules:
        raise VtigerError(ACCESS_DENIED, f"{DENIED} for name : {parsed.module}")
    rows = vtql.run(parsed, store.modules[parsed.module], store.live(parsed.module))
    return [visible(r) for r in rows]


def _retrieve(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float) -> Any:
    store: Store = sandbox.store
    return records.shown(store, records.existing(store, params.get("id"))[1])


def _create(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float) -> Any:
    element = records.element_of(params.get("element"))
    return records.create(sandbox.store, str(params.get("elementType", "")), element, user_id, now)


def _change(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float, *, partial: bool) -> Any:
    element = records.element_of(params.get("element"))
    return records.change(sandbox.store, element, user_id, now, partial=partial)


def _delete(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float) -> Any:
    module, record = records.existing(sandbox.store, params.get("id"))
    records.writable_module(sandbox.store, module.name)
    sandbox.store.delete(record["id"], now, user_id)
    return {"status": "successful"}


def _sync(sandbox: SimplyCrmSandbox, params: Any, user_id: str, now: float) -> Any:
    since = int(str(params.get("modifiedTime") or "0"))
    application = str(params.get("syncType", "")).lower() == "application"
    return sync(sandbox.store, since, params.get("elementType") or None, user_id, application)


_RECORD_OPERATIONS: dict[str, Callable[[SimplyCrmSandbox, Any, str, float], Any]] = {
    "listtypes": lambda sandbox, params, user_id, now: listtypes(sandbox),
    "describe": lambda sandbox, params, user_id, now: describe(sandbox, str(params.get("elementType", ""))),
    "query": _query,
    "retrieve": _retrieve,
    "create": _create,
    "update": partial(_change, partial=False),
    "revise": partial(_change, partial=True),
    "delete": _delete,
    "sync": _sync,
}


def listtypes(sandbox: SimplyCrmSandbox) -> dict[str, Any]:
    """``{types: [...], information: {name: {isEntity, label, singular}}}`` [V, ModuleTypes.php]."""
    names = list(sandbox.store.modules)
    singular = {"Contacts": "Contact", "Accounts": "Organization", "Products": "Product", "Users": "User"}
    labels = {"Accounts": "Organizations"}
    information = {n: {"isEntity": True, "label": labels.get(n, n), "singular": singular.get(n, n)} for n in names}
    information |= {
        "Currency": {"isEntity": False, "label": "Currency", "singular": "Currency"},
        "LineItem": {"isEntity": False, "label": "LineItem", "singular": "LineItem"},
    }
    return {"types": [*names, "Currency", "LineItem"], "information": information}


def describe(sandbox: SimplyCrmSandbox, element_type: str) -> dict[str, Any]:
    """The recorded describe's keys, in its order [V]."""
    module = sandbox.store.modules.get(element_type)
    if module is None:
        raise VtigerError(ACCESS_DENIED, f"{DENIED} for name : {element_type}")
    writable = element_type in records.WRITABLE
    return {
        "label": {"Accounts": "Organizations"}.get(module.name, module.name),
        "name": module.name,
        "createable": writable,
        "updateable": writable,
        "deleteable": writable,
        "retrieveable": True,
        "fields": [f.describe() for f in module.fields],
        "idPrefix": module.id_prefix,
        "isEntity": module.is_entity,
        "labelFields": module.label_fields,
    }
