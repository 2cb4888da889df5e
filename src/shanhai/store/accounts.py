"""Accounts, sign-in and server-side sessions.

- A user has a role and a region (an adcode); :meth:`User.scope` is the region scope every
  reader filters with. Role and region go together: ``admin`` and ``province`` → 330000;
  ``city`` → a city; ``county`` and ``viewer`` → a city or a county.
- Passwords are argon2id hashes (argon2-cffi's defaults); a hash made with older parameters is
  upgraded at the next sign-in.
- Throttling: after 5 failed sign-ins for a username (since its last success) or from a client
  address within 15 minutes, sign-in is refused for 15 minutes. Failures are read back from the
  audit log, which records every attempt, so the count survives a restart and needs no table.
- Sessions: a random token goes to the browser; the table keeps only its sha256. A session ends
  at its expiry, after 30 minutes without a request, when revoked (sign-out, password change)
  or when its user is disabled.

Every sign-in, failure, refusal and user change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shanhai.errors import ShanhaiError
from shanhai.store import audit
from shanhai.store.scope import PROVINCE, Scope
from shanhai.store.sql import literal

ROLES = ("admin", "province", "city", "county", "viewer")
ROLE_LABELS = {"admin": ("系统管理员", "administrator"), "province": ("省级用户", "province"),
               "city": ("市级用户", "city"), "county": ("县级用户", "county"), "viewer": ("只读用户", "viewer")}
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
TOUCH_EVERY = timedelta(seconds=60)      # last_seen is written at most once a minute per session
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$")

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against when the username is unknown, so both cases take as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("shanhai-timing-equaliser")
    return _dummy_hash

# Audit writer: (action, username, target, detail). The web server passes its own, which queues
# entries while a background job holds the database's writer; ``pending`` lists queued ones.
AuditWriter = Callable[..., None]


def _now() -> datetime:
    """Naive UTC, like every timestamp in the store (tests replace this to move the clock)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def now() -> datetime:
    """The accounts clock (``_now``, which tests move): the web's session cache ages by it too."""
    return _now()


class SignInError(ShanhaiError):
    """A refused sign-in. ``reason``: invalid | throttled | disabled; ``minutes`` for throttled."""

    def __init__(self, message: str, reason: str, minutes: int = 0):
        super().__init__(message)
        self.reason = reason
        self.minutes = minutes


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    display_name: str | None
    role: str
    region_adcode: str
    disabled: bool = False

    def scope(self, store) -> Scope:
        return Scope.of(store, self.region_adcode)

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.username

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "username": self.username, "display_name": self.display_name,
                "role": self.role, "region_adcode": self.region_adcode, "disabled": self.disabled}


_USER_COLUMNS = "user_id, username, display_name, role, region_adcode, disabled"


def _user(row) -> User:
    return User(int(row[0]), row[1], row[2], row[3], row[4], bool(row[5]))


def _log(store, log: AuditWriter | None, action: str, *, username: str | None, target: str | None,
         detail: dict | None) -> None:
    if log is not None:
        log(action, username=username, target=target, detail=detail)
    else:
        audit.append(store.con, action, username=username, target=target, detail=detail)


# ---- users -----------------------------------------------------------------------------------

def check_role_region(store, role: str, region_adcode: str | None) -> str:
    """The region a user of ``role`` gets (``region_adcode`` checked); raises one sentence."""
    if role not in ROLES:
        raise ShanhaiError(f"role {role!r} is not one of {', '.join(ROLES)}")
    code = (region_adcode or "").strip()
    if role in ("admin", "province"):
        if code not in ("", PROVINCE):
            raise ShanhaiError(f"role {role} covers the whole province: its region must be {PROVINCE}, not {code}")
        return PROVINCE
    if not code:
        raise ShanhaiError(f"role {role} needs a region: the 6-digit adcode of a "
                           f"{'city' if role == 'city' else 'city or a county'}")
    scope = Scope.of(store, code)
    allowed = ("city",) if role == "city" else ("city", "county")
    if scope.level not in allowed:
        raise ShanhaiError(f"role {role} needs the adcode of a {' or a '.join(allowed)}, "
                           f"but {code} is the {scope.level} {scope.name}")
    return scope.adcode


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ShanhaiError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > 256:
        raise ShanhaiError("the password is too long: use at most 256 characters")
    if len(set(password)) < 4:
        raise ShanhaiError("the password is too simple: use at least 4 different characters")


def add_user(store, username: str, password: str, role: str, region_adcode: str | None,
             display_name: str | None = None, *, actor: str | None = None,
             log: AuditWriter | None = None) -> User:
    """Create an account; returns it. ``actor`` is who did it (for the audit log)."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ShanhaiError(f"username {username!r} is not valid: use 2-32 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    region = check_role_region(store, role, region_adcode)
    check_password(password)
    if store.con.execute(f"SELECT 1 FROM users WHERE lower(username) = lower({literal(username)})").fetchone():
        raise ShanhaiError(f"username {username} is taken: choose another")
    user_id = store.con.execute("SELECT coalesce(max(user_id), 0) + 1 FROM users").fetchone()[0]
    display = (display_name or "").strip() or None
    store.con.execute(
        f"INSERT INTO users (user_id, username, display_name, role, region_adcode, password_hash, disabled, "
        f"created_at) VALUES ({user_id}, {literal(username)}, {literal(display)}, {literal(role)}, "
        f"{literal(region)}, {literal(_hasher.hash(password))}, false, {literal(_now())})")
    _log(store, log, "user.add", username=actor, target=username,
         detail={"role": role, "region": region, "display_name": display})
    return User(user_id, username, display, role, region)


def get_user(store, username: str) -> User | None:
    row = store.con.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(username) = lower({literal((username or '').strip())})"
    ).fetchone()
    return _user(row) if row else None


def user_by_id(store, user_id: int) -> User | None:
    row = store.con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = {int(user_id)}").fetchone()
    return _user(row) if row else None


def list_users(store, scope: Scope | None = None) -> list[User]:
    """Every account (or those whose region lies inside ``scope``), by username."""
    where = "true"
    if scope is not None and not scope.is_province:
        where = f"(region_adcode = {literal(scope.adcode)} OR {scope.sql('region_adcode')})"
    return [_user(r) for r in store.con.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE {where} ORDER BY username").fetchall()]


def _require(store, username: str) -> User:
    user = get_user(store, username)
    if user is None:
        raise ShanhaiError(f"there is no user {username!r}: see `shanhai users list`")
    return user


def disable_user(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    """Disable an account and end its sessions."""
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET disabled = true WHERE user_id = {user.user_id}")
    store.con.execute(f"UPDATE sessions SET revoked = true WHERE user_id = {user.user_id} AND NOT revoked")
    _log(store, log, "user.disable", username=actor, target=user.username, detail=None)
    return _require(store, username)


def enable_user(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET disabled = false WHERE user_id = {user.user_id}")
    _log(store, log, "user.enable", username=actor, target=user.username, detail=None)
    return _require(store, username)


def set_password(store, username: str, password: str, *, actor: str | None = None,
                 log: AuditWriter | None = None) -> User:
    """Set a new password and end the account's sessions."""
    user = _require(store, username)
    check_password(password)
    store.con.execute(f"UPDATE users SET password_hash = {literal(_hasher.hash(password))} "
                      f"WHERE user_id = {user.user_id}")
    store.con.execute(f"UPDATE sessions SET revoked = true WHERE user_id = {user.user_id} AND NOT revoked")
    _log(store, log, "user.password", username=actor, target=user.username, detail=None)
    return user


# ---- sign-in and throttling ------------------------------------------------------------------

def _failures(store, username: str, client: str, since: datetime,
              pending: list[tuple] = ()) -> tuple[list[datetime], list[datetime]]:
    """Times of recent failed sign-ins: (for ``username`` since its last success, from ``client``)."""
    rows = store.con.execute(
        "SELECT occurred_at, action, target, json_extract_string(detail, '$.client') FROM audit_log "
        f"WHERE occurred_at >= {literal(since)} AND action IN ('sign_in', 'sign_in.failed') "
        f"AND (lower(target) = lower({literal(username)}) OR json_extract_string(detail, '$.client') = "
        f"{literal(client)}) ORDER BY occurred_at").fetchall()
    rows = sorted([*rows, *[p for p in pending if p[0] >= since]], key=lambda r: r[0])
    by_user: list[datetime] = []
    by_client: list[datetime] = []
    for at, action, target, who in rows:
        same_user = (target or "").lower() == username.lower()
        if action == "sign_in":
            if same_user:
                by_user = []
            continue
        if same_user:
            by_user.append(at)
        if who == client:
            by_client.append(at)
    return by_user, by_client


def _locked_until(times: list[datetime]) -> datetime | None:
    """The end of the latest lockout: 15 minutes after any failure that was the 5th within 15 minutes."""
    until = None
    for i in range(MAX_FAILURES - 1, len(times)):
        if times[i] - times[i - MAX_FAILURES + 1] <= FAILURE_WINDOW:
            until = times[i] + LOCKOUT
    return until


def throttled_until(store, username: str, client: str, pending: list[tuple] = ()) -> datetime | None:
    now = _now()
    by_user, by_client = _failures(store, username, client, now - FAILURE_WINDOW - LOCKOUT, pending)
    ends = [t for t in (_locked_until(by_user), _locked_until(by_client)) if t is not None and t > now]
    return max(ends) if ends else None


def authenticate(store, username: str, password: str, client: str, *, log: AuditWriter | None = None,
                 pending: list[tuple] = ()) -> User:
    """The user whose password this is; raises :class:`SignInError` (one sentence) otherwise.

    ``client`` is the caller's address (for throttling and the audit log); ``log``/``pending``
    let the web server route audit entries through its queue.
    """
    username = (username or "").strip()[:64]
    client = (client or "unknown")[:64]
    until = throttled_until(store, username, client, pending)
    if until is not None:
        minutes = max(1, int((until - _now()).total_seconds() + 59) // 60)
        _log(store, log, "sign_in.refused", username=username or "-", target=username,
             detail={"client": client, "minutes": minutes})
        raise SignInError(f"too many failed sign-ins for this account or address: try again in {minutes} minutes",
                          "throttled", minutes)
    row = store.con.execute(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower({literal(username)})"
    ).fetchone()
    ok = False
    try:
        ok = _hasher.verify(row[6] if row else _dummy(), password or "") and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _log(store, log, "sign_in.failed", username=username or "-", target=username,
             detail={"client": client, "reason": "unknown_user" if row is None else "wrong_password"})
        raise SignInError("wrong username or password", "invalid")
    user = _user(row)
    if user.disabled:
        _log(store, log, "sign_in.failed", username=user.username, target=user.username,
             detail={"client": client, "reason": "disabled"})
        raise SignInError("this account is disabled: ask an administrator", "disabled")
    if _hasher.check_needs_rehash(row[6]):
        store.con.execute(f"UPDATE users SET password_hash = {literal(_hasher.hash(password))} "
                          f"WHERE user_id = {user.user_id}")
    _log(store, log, "sign_in", username=user.username, target=user.username, detail={"client": client})
    return user


# ---- sessions --------------------------------------------------------------------------------

def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(store, user: User, ttl_hours: float = 8) -> str:
    """A new session for ``user``; returns the token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    store.con.execute(
        f"INSERT INTO sessions (session_id, user_id, created_at, last_seen, expires_at, revoked) VALUES "
        f"({literal(_session_key(token))}, {user.user_id}, {literal(now)}, {literal(now)}, "
        f"{literal(now + timedelta(hours=ttl_hours))}, false)")
    return token


def user_for_session(store, token: str | None) -> User | None:
    """The signed-in user of a session token, or None when it is unknown, revoked, expired, idle
    for 30 minutes or its user is disabled. Marks the session as seen."""
    if not token or len(token) > 200:
        return None
    key = _session_key(token)
    row = store.con.execute(
        f"SELECT {', '.join('u.' + c.strip() for c in _USER_COLUMNS.split(','))}, s.last_seen, s.expires_at, "
        f"s.revoked FROM sessions s JOIN users u USING (user_id) WHERE s.session_id = {literal(key)}").fetchone()
    if row is None:
        return None
    user = _user(row)
    last_seen, expires_at, revoked = row[6], row[7], row[8]
    now = _now()
    if revoked or user.disabled or now >= expires_at or now - last_seen >= IDLE_TIMEOUT:
        return None
    if now - last_seen >= TOUCH_EVERY:
        try:
            store.con.execute(f"UPDATE sessions SET last_seen = {literal(now)} WHERE session_id = {literal(key)}")
        except duckdb.TransactionException:  # a parallel request of the same session touched it first
            pass
    return user


def session_key(token: str) -> str:
    """The stored id of a session token (used to derive its CSRF token)."""
    return _session_key(token)


def revoke_session(store, token: str | None) -> None:
    if token:
        store.con.execute(f"UPDATE sessions SET revoked = true WHERE session_id = {literal(_session_key(token))}")


def purge_sessions(store, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete sessions that ended more than ``older_than`` ago; returns how many."""
    cutoff = _now() - older_than
    n = store.con.execute(f"SELECT count(*) FROM sessions WHERE expires_at < {literal(cutoff)}").fetchone()[0]
    store.con.execute(f"DELETE FROM sessions WHERE expires_at < {literal(cutoff)}")
    return n
