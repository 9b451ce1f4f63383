"""The ``sync`` operation [V, vtiger ``include/Webservices/GetUpdates.php``].

``modifiedTime`` is unix seconds. vtiger looks at the first 100 changes after it (ordered by modifiedtime,
only records the session user owns unless ``syncType=application``), takes the latest of their modified
times, and answers every change up to and including that second: ``updated`` (full records), ``deleted``
(webservice ids), ``lastModifiedTime`` (that second, an integer) and ``more`` (whether later changes exist).
With nothing new, ``lastModifiedTime`` is the ``modifiedTime`` sent. Users are never synced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.simplycrm.records import shown
from devkit.sandboxes.simplycrm.wire import ACCESS_DENIED, DENIED, VtigerError

if TYPE_CHECKING:
    from devkit.sandboxes.simplycrm.store import Store

PAGE = 100
SYNCED = ("Contacts", "Accounts", "Products", "Invoice")


def sync(store: Store, since: int, element_type: str | None, user_id: str, application: bool) -> dict[str, Any]:
    if element_type and element_type not in store.modules:
        raise VtigerError(ACCESS_DENIED, DENIED)
    modules = [element_type] if element_type else list(SYNCED)
    modules = [m for m in modules if m in SYNCED]
    changes = [
        r
        for m in modules
        for r in store.records[m].values()
        if r["_mtime"] > since and (application or r.get("_owner") == user_id)
    ]
    changes.sort(key=lambda r: (r["_mtime"], r["id"]))
    if not changes:
        return {"updated": [], "deleted": [], "lastModifiedTime": since, "more": False}
    upto = max(r["_mtime"] for r in changes[:PAGE])
    answered = [r for r in changes if r["_mtime"] <= upto]
    return {
        "updated": [shown(store, r) for r in answered if not r["_deleted"]],
        "deleted": [r["id"] for r in answered if r["_deleted"]],
        "lastModifiedTime": upto,
        "more": any(r["_mtime"] > upto for r in changes),
    }
