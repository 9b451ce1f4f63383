"""vtiger's two-step login and its sessions [V, ``AuthToken.php``, ``Login.php``, ``SessionManager.php``].

``getchallenge`` (GET) hands out a ``uniqid()`` token (13 hex digits) valid 5 minutes (``expireTime =
serverTime + 300``); a new challenge replaces the user's previous token, and login does not use it up.
``login`` (POST) compares ``accessKey`` with ``md5(token + the user's access key)``: no live token (none asked,
expired, unknown user) → ``INVALID_AUTH_TOKEN`` "Specified token is invalid or expired"; wrong digest →
``INVALID_USER_CREDENTIALS`` "Invalid username or password"; an inactive user → ``AUTHENTICATION_REQUIRED``.
A call without ``sessionName`` → ``AUTHENTICATION_REQUIRED`` "Authencation required" (vtiger's spelling).
A session that is unknown or past its lifetime → ``INVALID_SESSIONID`` "Session Identifier provided is
Invalid": PHP's session garbage collector drops the session file, so the id is simply unknown [I]; vtiger's
own SESSION_EXPIRED / SESSION_LEFT_IDLE codes exist for sessions still on disk [V codes].
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from devkit.sandboxes.simplycrm.wire import (
    AUTHENTICATION_REQUIRED,
    INVALID_AUTH_TOKEN,
    INVALID_SESSIONID,
    INVALID_USER_CREDENTIALS,
    VtigerError,
)

CHALLENGE_SECONDS = 300


@dataclass
class User:
    id: int
    user_name: str
    access_key: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    is_admin: bool = True
    active: bool = True


@dataclass
class Session:
    name: str
    user_id: int
    started: float


def access_digest(token: str, access_key: str) -> str:
    """What a client sends as ``accessKey``: md5 over the token followed by the user's access key."""
    return hashlib.md5((token + access_key).encode(), usedforsecurity=False).hexdigest()


class Gate:
    def __init__(self, session_lifetime: float = 86400.0) -> None:
        self.users: dict[int, User] = {}
        self.tokens: dict[int, tuple[str, float]] = {}  # user id -> (token, expires at)
        self.sessions: dict[str, Session] = {}
        self.session_lifetime = session_lifetime

    def by_name(self, user_name: str) -> User | None:
        return next((u for u in self.users.values() if u.user_name == user_name), None)

    def challenge(self, user_name: str, now: float) -> dict[str, int | str]:
        user = self.by_name(user_name)
        token = secrets.token_hex(7)[:13]
        if user is not None:
            self.tokens[user.id] = (token, now + CHALLENGE_SECONDS)
        return {"token": token, "serverTime": int(now), "expireTime": int(now) + CHALLENGE_SECONDS}

    def login(self, user_name: str, digest: str, now: float) -> User:
        user = self.by_name(user_name)
        token = self.tokens.get(user.id) if user else None
        if user is None or token is None or token[1] < now:
            raise VtigerError(INVALID_AUTH_TOKEN, "Specified token is invalid or expired")
        if not secrets.compare_digest(access_digest(token[0], user.access_key), digest or ""):
            raise VtigerError(INVALID_USER_CREDENTIALS, "Invalid username or password")
        if not user.active:
            raise VtigerError(AUTHENTICATION_REQUIRED, "Given user is inactive")
        return user

    def open_session(self, user: User, now: float) -> str:
        name = secrets.token_hex(11)[:21]
        self.sessions[name] = Session(name, user.id, now)
        return name

    def session(self, name: str | None, now: float) -> Session:
        if not name or name.lower() == "null":
            raise VtigerError(AUTHENTICATION_REQUIRED, "Authencation required")
        session = self.sessions.get(name)
        if session is not None and now - session.started > self.session_lifetime:
            del self.sessions[name]
            session = None
        if session is None:
            raise VtigerError(INVALID_SESSIONID, "Session Identifier provided is Invalid")
        return session

    def end(self, name: str) -> None:
        self.sessions.pop(name, None)
