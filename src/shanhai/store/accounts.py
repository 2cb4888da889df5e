"""Accounts, the password policy, two-factor sign-in (TOTP), lockout and server-side sessions.

The numbers below come from the security settings (``shanhai.policy._security``: the packaged
``policy/security/default.toml``, overridable by an administrator in the database).

- A user has a role and a region (an adcode); :meth:`User.scope` is the region scope every
  reader filters with. Role and region go together: ``admin`` and ``province`` → 330000;
  ``city`` → a city; ``county`` and ``viewer`` → a city or a county. Account names are unique
  regardless of case.
- Passwords are argon2id hashes (argon2-cffi's defaults; an older hash is upgraded at the next
  sign-in). Policy (:func:`check_password`): at least 10 characters, three of the four classes
  (lower-case, upper-case, digits, other), not containing the account name, none of the last 5
  (:func:`_reused`); a password expires after 90 days (the user is sent to change it, warned 14
  days before); an account made by an administrator (``shanhai users add``, the admin page) or
  whose password an administrator reset must change it at its next sign-in.
- Two factors: TOTP (RFC 6238, 30-second steps, ``pyotp``), enrolled from the account page and
  active once confirmed with a code; a code's time step is stored and never accepted again
  (no replay); ten one-time recovery codes, stored as sha256, each usable once. The seed must be
  read back, so it is not hashed: with ``$SHANHAI_SECRETS_KEY`` it is stored AES-256-GCM-encrypted
  and bound to the user id (:mod:`shanhai.store.sealed`), a plain or old-key seed is re-encrypted
  at its next use or by :func:`encrypt_totp_secrets`; an unreadable one fails like a wrong code
  for the user and is one line in the operator's log (``shanhai.accounts``). Roles listed in
  ``totp_required_roles`` must enrol right after the password step and can do nothing else first.
- Failed sign-ins (read back from the audit log, so counts survive a restart): 5 for one account
  name within 15 minutes lock it for 30 minutes (``lock`` is audited, an administrator may
  ``unlock``); 5 from one client address within 15 minutes refuse that address for 15 minutes.
  An unknown account name is counted and locked the same way, so the answers never tell whether
  an account exists.
- Sessions: a random token goes to the browser, the table keeps its sha256. A session ends after
  30 idle minutes, 12 hours after sign-in, when revoked (sign-out, sign out everywhere, password
  change, disable, role change) or when the same account signs in elsewhere (one session per
  account): ``end_reason`` and ``end_client`` say why, so the old browser can be told.
- Demo accounts (``users.demo``, made only by ``shanhai demo``) are exempt from the forced change,
  expiry and two-factor requirement so that ``make run`` stays usable; the sign-in page says so.

Every sign-in, failure, lock, unlock, refusal and user change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import duckdb
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shanhai.errors import ShanhaiError
from shanhai.policy import _security
from shanhai.store import audit, sealed
from shanhai.store.scope import PROVINCE, Scope
from shanhai.store.sql import literal, values

ROLES = ("admin", "province", "city", "county", "viewer")
ROLE_LABELS = {"admin": ("系统管理员", "administrator"), "province": ("省级用户", "province"),
               "city": ("市级用户", "city"), "county": ("县级用户", "county"), "viewer": ("只读用户", "viewer")}
TOUCH_EVERY = timedelta(seconds=60)      # last_seen is written at most once a minute per session
TOTP_STEP = 30                           # seconds (RFC 6238's default, what every authenticator app uses)
TOTP_ISSUER = "Shanhai 山海"
RECOVERY_CODES = 10
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$")
MAX_PASSWORD = 256
TOTP_PURPOSE = "users.totp_secret"      # the associated data of a sealed seed: this column and the user id

# the operator's log: why a TOTP seed could not be read (the user only sees the usual failure)
ops_log = logging.getLogger("shanhai.accounts")


def settings(store=None) -> _security.SecuritySettings:
    """The security settings in force (packaged defaults with the database's overrides)."""
    return _security.settings(store)


# Kept for callers reading the defaults as constants.
MIN_PASSWORD = _security.defaults().password_min_length
IDLE_TIMEOUT = timedelta(minutes=_security.defaults().idle_minutes)

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
    demo: bool = False
    # state, not identity: two User values of one account compare equal whatever these say
    totp_enabled: bool = field(default=False, compare=False)
    password_changed_at: datetime | None = field(default=None, compare=False)
    must_change_password: bool = field(default=False, compare=False)
    # set by :func:`user_for_session`: what the user must do before anything else
    # (None | "password": change the password | "enrol": enrol two-factor sign-in)
    pending: str | None = field(default=None, compare=False)
    # days until the password expires, when within the warning period (else None)
    password_days_left: int | None = field(default=None, compare=False)

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
                "role": self.role, "region_adcode": self.region_adcode, "disabled": self.disabled,
                "demo": self.demo, "totp_enabled": self.totp_enabled,
                "must_change_password": self.must_change_password}


_USER_COLUMNS = ("user_id, username, display_name, role, region_adcode, disabled, coalesce(demo, false), "
                 "totp_confirmed_at IS NOT NULL, coalesce(password_changed_at, created_at), "
                 "coalesce(must_change_password, false)")
_N_USER = 10


def _prefixed(alias: str) -> str:
    """The user columns of ``_USER_COLUMNS`` read through table alias ``alias``."""
    cols = ("user_id", "username", "display_name", "role", "region_adcode", "disabled", "coalesce({a}.demo, false)",
            "{a}.totp_confirmed_at IS NOT NULL", "coalesce({a}.password_changed_at, {a}.created_at)",
            "coalesce({a}.must_change_password, false)")
    return ", ".join(c.format(a=alias) if "{a}" in c else f"{alias}.{c}" for c in cols)


def _user(row) -> User:
    return User(int(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), bool(row[7]),
                row[8], bool(row[9]))


def _log(store, log: AuditWriter | None, action: str, *, username: str | None, target: str | None,
         detail: dict | None) -> None:
    if log is not None:
        log(action, username=username, target=target, detail=detail)
    else:
        audit.append(store.con, action, username=username, target=target, detail=detail)


# ---- the password policy ---------------------------------------------------------------------

def password_classes(password: str) -> int:
    """How many of the four classes (lower-case, upper-case, digits, other) ``password`` uses."""
    return (any(c.islower() for c in password) + any(c.isupper() for c in password)
            + any(c.isdigit() for c in password)
            + any(not (c.islower() or c.isupper() or c.isdigit()) for c in password))


def check_password(password: str, username: str | None = None, cfg=None) -> None:
    """Raise one sentence when ``password`` breaks the policy (length, classes, the account name)."""
    cfg = cfg or settings()
    password = password or ""
    if len(password) < cfg.password_min_length:
        raise ShanhaiError(f"the password is too short: use at least {cfg.password_min_length} characters")
    if len(password) > MAX_PASSWORD:
        raise ShanhaiError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    if password_classes(password) < cfg.password_min_classes:
        raise ShanhaiError(f"the password is too simple: use at least {cfg.password_min_classes} of the four "
                           "kinds of character (lower-case, upper-case, digits, others such as - or !)")
    if username and username.lower() in password.lower():
        raise ShanhaiError("the password must not contain the account name")


def _reused(store, user_id: int, password: str, keep: int) -> bool:
    """Whether ``password`` is the current one or one of the last ``keep`` (argon2 hashes)."""
    if keep <= 0:
        return False
    hashes = [h for (h,) in store.con.execute(
        f"SELECT password_hash FROM password_history WHERE user_id = {int(user_id)} "
        f"ORDER BY set_at DESC LIMIT {int(keep)}").fetchall()]
    current = store.con.execute(f"SELECT password_hash FROM users WHERE user_id = {int(user_id)}").fetchone()
    if current and current[0] not in hashes:
        hashes.insert(0, current[0])
    for h in hashes[:keep]:
        try:
            if _hasher.verify(h, password):
                return True
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
    return False


def _store_password(store, user_id: int, password: str, must_change: bool) -> None:
    hashed = _hasher.hash(password)
    at = _now()
    store.con.execute(f"UPDATE users SET password_hash = {literal(hashed)}, password_changed_at = {literal(at)}, "
                      f"must_change_password = {'true' if must_change else 'false'} WHERE user_id = {int(user_id)}")
    store.con.execute(f"INSERT INTO password_history VALUES ({int(user_id)}, {literal(hashed)}, {literal(at)})")


def password_days_left(user: User, cfg=None, at: datetime | None = None) -> int | None:
    """Days until ``user``'s password expires (None when it never does: demo or max age 0)."""
    cfg = cfg or settings()
    if user.demo or cfg.password_max_age_days <= 0 or user.password_changed_at is None:
        return None
    expires = user.password_changed_at + timedelta(days=cfg.password_max_age_days)
    return int((expires - (at or _now())).total_seconds() // 86400)


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


def add_user(store, username: str, password: str, role: str, region_adcode: str | None,
             display_name: str | None = None, *, actor: str | None = None,
             log: AuditWriter | None = None, must_change: bool = False, demo: bool = False) -> User:
    """Create an account; returns it. ``actor`` is who did it (for the audit log).

    ``must_change``: the user must choose a new password at the first sign-in (what
    ``shanhai users add`` and the admin page ask for); ``demo``: a demo account (``shanhai demo``)."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ShanhaiError(f"username {username!r} is not valid: use 2-32 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    region = check_role_region(store, role, region_adcode)
    check_password(password, username, settings(store))
    if store.con.execute(f"SELECT 1 FROM users WHERE lower(username) = lower({literal(username)})").fetchone():
        raise ShanhaiError(f"username {username} is taken: choose another")
    user_id = store.con.execute("SELECT coalesce(max(user_id), 0) + 1 FROM users").fetchone()[0]
    display = (display_name or "").strip() or None
    hashed = _hasher.hash(password)
    at = _now()
    store.con.execute(
        f"INSERT INTO users (user_id, username, display_name, role, region_adcode, password_hash, disabled, "
        f"created_at, password_changed_at, must_change_password, demo) VALUES ({user_id}, {literal(username)}, "
        f"{literal(display)}, {literal(role)}, {literal(region)}, {literal(hashed)}, false, {literal(at)}, "
        f"{literal(at)}, {'true' if must_change else 'false'}, {'true' if demo else 'false'})")
    store.con.execute(f"INSERT INTO password_history VALUES ({user_id}, {literal(hashed)}, {literal(at)})")
    _log(store, log, "user.add", username=actor, target=username,
         detail={"role": role, "region": region, "display_name": display, "must_change": must_change,
                 "demo": demo})
    return User(user_id, username, display, role, region, demo=demo, password_changed_at=at,
                must_change_password=must_change)


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


def locks(store) -> dict[int, datetime]:
    """Accounts locked now: user_id → locked until."""
    return dict(store.con.execute(
        f"SELECT user_id, locked_until FROM users WHERE locked_until > {literal(_now())}").fetchall())


def _require(store, username: str) -> User:
    user = get_user(store, username)
    if user is None:
        raise ShanhaiError(f"there is no user {username!r}: see `shanhai users list`")
    return user


def _end_sessions(store, user_id: int, reason: str, *, keep: str | None = None, client: str | None = None) -> int:
    where = f"user_id = {int(user_id)} AND NOT revoked" + (f" AND session_id <> {literal(keep)}" if keep else "")
    n = store.con.execute(f"SELECT count(*) FROM sessions WHERE {where}").fetchone()[0]
    if n:
        store.con.execute(f"UPDATE sessions SET revoked = true, ended_at = {literal(_now())}, "
                          f"end_reason = {literal(reason)}, end_client = {literal(client)} WHERE {where}")
    return n


def disable_user(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    """Disable an account and end its sessions."""
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET disabled = true WHERE user_id = {user.user_id}")
    _end_sessions(store, user.user_id, "disabled")
    _log(store, log, "user.disable", username=actor, target=user.username, detail=None)
    return _require(store, username)


def enable_user(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET disabled = false WHERE user_id = {user.user_id}")
    _log(store, log, "user.enable", username=actor, target=user.username, detail=None)
    return _require(store, username)


def set_password(store, username: str, password: str, *, actor: str | None = None,
                 log: AuditWriter | None = None, must_change: bool = True) -> User:
    """An administrator sets a new password: the policy applies, the account's sessions end and
    (``must_change``, the default) the user must choose their own at the next sign-in."""
    user = _require(store, username)
    cfg = settings(store)
    check_password(password, user.username, cfg)
    if _reused(store, user.user_id, password, cfg.password_history):
        raise ShanhaiError(f"the password must not be one of the last {cfg.password_history} of this account")
    _store_password(store, user.user_id, password, must_change)
    _end_sessions(store, user.user_id, "password")
    _log(store, log, "user.password", username=actor, target=user.username, detail={"must_change": must_change})
    return _require(store, username)


def change_password(store, user: User, current: str, new: str, *, client: str = "unknown",
                    log: AuditWriter | None = None, keep_session: str | None = None) -> User:
    """The user changes their own password (``current`` checked); other sessions end."""
    row = store.con.execute(f"SELECT password_hash FROM users WHERE user_id = {user.user_id}").fetchone()
    try:
        ok = bool(row) and _hasher.verify(row[0], current or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _log(store, log, "user.password.failed", username=user.username, target=user.username,
             detail={"client": client, "reason": "wrong_password"})
        raise ShanhaiError("the current password is wrong")
    cfg = settings(store)
    check_password(new, user.username, cfg)
    if _reused(store, user.user_id, new, cfg.password_history):
        raise ShanhaiError(f"the new password must not be one of your last {cfg.password_history}")
    _store_password(store, user.user_id, new, False)
    _end_sessions(store, user.user_id, "password", keep=keep_session and _session_key(keep_session))
    _log(store, log, "user.password.change", username=user.username, target=user.username,
         detail={"client": client})
    return user_by_id(store, user.user_id)


def force_change(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    """The user must change their password at the next request."""
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET must_change_password = true WHERE user_id = {user.user_id}")
    _log(store, log, "user.force_change", username=actor, target=user.username, detail=None)
    return _require(store, username)


def change_role(store, username: str, role: str, region_adcode: str | None, *, actor: str | None = None,
                log: AuditWriter | None = None) -> User:
    """A new role and region (checked together); the account's sessions end, audited ``user.role``."""
    user = _require(store, username)
    region = check_role_region(store, role, region_adcode)
    store.con.execute(f"UPDATE users SET role = {literal(role)}, region_adcode = {literal(region)} "
                      f"WHERE user_id = {user.user_id}")
    _end_sessions(store, user.user_id, "role")
    _log(store, log, "user.role", username=actor, target=user.username,
         detail={"old_role": user.role, "old_region": user.region_adcode, "role": role, "region": region})
    return _require(store, username)


def unlock(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    """End a lockout now (the failure count starts again), audited ``unlock``."""
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET locked_until = NULL WHERE user_id = {user.user_id}")
    _log(store, log, "unlock", username=actor, target=user.username, detail=None)
    return user


# ---- failed sign-ins: lockout and throttling --------------------------------------------------

def _failures(store, username: str, client: str, since: datetime,
              pending: list[tuple] = ()) -> tuple[list[datetime], list[datetime]]:
    """Times of recent failed sign-ins: (for ``username`` since its last success or unlock, from
    ``client``)."""
    rows = store.con.execute(
        "SELECT occurred_at, action, target, json_extract_string(detail, '$.client') FROM audit_log "
        f"WHERE occurred_at >= {literal(since)} AND action IN ('sign_in', 'sign_in.failed', 'unlock') "
        f"AND (lower(target) = lower({literal(username)}) OR json_extract_string(detail, '$.client') = "
        f"{literal(client)}) ORDER BY occurred_at").fetchall()
    rows = sorted([*rows, *[p for p in pending if p[0] >= since]], key=lambda r: r[0])
    by_user: list[datetime] = []
    by_client: list[datetime] = []
    for at, action, target, who in rows:
        same_user = (target or "").lower() == username.lower()
        if action in ("sign_in", "unlock"):
            if same_user:
                by_user = []
            continue
        if same_user:
            by_user.append(at)
        if who == client:
            by_client.append(at)
    return by_user, by_client


def _locked_until(times: list[datetime], threshold: int, window: timedelta, lock: timedelta) -> datetime | None:
    """The end of the latest lockout: ``lock`` after any failure that was the ``threshold``-th
    within ``window``."""
    until = None
    for i in range(threshold - 1, len(times)):
        if times[i] - times[i - threshold + 1] <= window:
            until = times[i] + lock
    return until


def _limits(cfg) -> tuple[tuple, tuple]:
    return ((cfg.lockout_threshold, timedelta(minutes=cfg.lockout_window_minutes), timedelta(minutes=cfg.lockout_minutes)),
            (cfg.address_threshold, timedelta(minutes=cfg.address_window_minutes),
             timedelta(minutes=cfg.address_lock_minutes)))


def _lock_state(store, username: str, client: str, pending, cfg) -> tuple[datetime | None, datetime | None]:
    """(account locked until, address refused until), each None when free now."""
    at = _now()
    user_lim, addr_lim = _limits(cfg)
    look_back = max(user_lim[1] + user_lim[2], addr_lim[1] + addr_lim[2])
    by_user, by_client = _failures(store, username, client, at - look_back, pending)
    account = _locked_until(by_user, *user_lim)
    stored = store.con.execute(
        f"SELECT max(locked_until) FROM users WHERE lower(username) = lower({literal(username)})").fetchone()[0]
    if stored is not None and (account is None or stored > account):
        account = stored
    address = _locked_until(by_client, *addr_lim)
    return (account if account and account > at else None), (address if address and address > at else None)


def throttled_until(store, username: str, client: str, pending: list[tuple] = ()) -> datetime | None:
    ends = [t for t in _lock_state(store, username, client, pending, settings(store)) if t is not None]
    return max(ends) if ends else None


def _refuse_if_locked(store, username: str, client: str, log, pending, cfg) -> None:
    until = throttled_until(store, username, client, pending)
    if until is not None:
        minutes = max(1, int((until - _now()).total_seconds() + 59) // 60)
        _log(store, log, "sign_in.refused", username=username or "-", target=username,
             detail={"client": client, "minutes": minutes})
        raise SignInError(f"too many failed sign-ins for this account or address: try again in {minutes} minutes",
                          "throttled", minutes)


def _failed(store, username: str, client: str, reason: str, log, pending, cfg, exists: bool) -> None:
    """Record a failure; when it is the one that locks the account, record and audit the lock."""
    at = _now()
    user_lim, _ = _limits(cfg)
    by_user, _ = _failures(store, username, client, at - user_lim[1] - user_lim[2], pending)
    by_user = [*by_user, at]
    _log(store, log, "sign_in.failed", username=username or "-", target=username,
         detail={"client": client, "reason": reason})
    # exactly the threshold-th failure within the window: the lock starts now
    recent = [t for t in by_user if at - t <= user_lim[1]]
    if len(recent) == user_lim[0]:
        until = at + user_lim[2]
        if exists:
            store.con.execute(f"UPDATE users SET locked_until = {literal(until)} "
                              f"WHERE lower(username) = lower({literal(username)})")
        _log(store, log, "lock", username=username or "-", target=username,
             detail={"client": client, "failures": len(recent), "until": until.isoformat(timespec="seconds"),
                     "minutes": cfg.lockout_minutes})


# ---- sign-in ---------------------------------------------------------------------------------

def authenticate(store, username: str, password: str, client: str, *, log: AuditWriter | None = None,
                 pending: list[tuple] = ()) -> User:
    """The user whose password this is (the first factor); raises :class:`SignInError` (one
    sentence, the same whether the account exists or not) otherwise.

    ``client`` is the caller's address (for throttling and the audit log); ``log``/``pending``
    let the web server route audit entries through its queue. A user with two-factor sign-in
    must then pass :func:`second_factor`; the caller records ``sign_in`` only after that
    (:func:`signed_in`); without two factors this records it.
    """
    username = (username or "").strip()[:64]
    client = (client or "unknown")[:64]
    cfg = settings(store)
    _refuse_if_locked(store, username, client, log, pending, cfg)
    row = store.con.execute(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower({literal(username)})"
    ).fetchone()
    ok = False
    try:
        ok = _hasher.verify(row[_N_USER] if row else _dummy(), password or "") and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _failed(store, username, client, "unknown_user" if row is None else "wrong_password", log, pending, cfg,
                row is not None)
        raise SignInError("wrong username or password", "invalid")
    user = _user(row)
    if user.disabled:
        _log(store, log, "sign_in.failed", username=user.username, target=user.username,
             detail={"client": client, "reason": "disabled"})
        raise SignInError("this account is disabled: ask an administrator", "disabled")
    if _hasher.check_needs_rehash(row[_N_USER]):
        store.con.execute(f"UPDATE users SET password_hash = {literal(_hasher.hash(password))} "
                          f"WHERE user_id = {user.user_id}")
    if not user.totp_enabled:
        signed_in(store, user, client, log=log)
    return user


def signed_in(store, user: User, client: str, *, log: AuditWriter | None = None, factors: int = 1) -> None:
    """Record a completed sign-in (``sign_in``: resets the account's failure count)."""
    store.con.execute(f"UPDATE users SET locked_until = NULL WHERE user_id = {user.user_id} "
                      "AND locked_until IS NOT NULL")
    _log(store, log, "sign_in", username=user.username, target=user.username,
         detail={"client": client, "factors": factors})


def totp_required(user: User, cfg=None) -> bool:
    """Whether ``user``'s role must use two-factor sign-in (demo accounts never)."""
    cfg = cfg or settings()
    return not user.demo and user.role in cfg.totp_required_roles


# ---- TOTP (RFC 6238) and recovery codes --------------------------------------------------------

def _step(at: datetime) -> int:
    return int(at.replace(tzinfo=timezone.utc).timestamp()) // TOTP_STEP


def totp_begin(store, user: User) -> str:
    """Start (or restart) enrolment: a new secret, inactive until :func:`totp_confirm`; returns it."""
    if user.totp_enabled:
        raise ShanhaiError("two-factor sign-in is already on for this account: an administrator can reset it")
    secret = pyotp.random_base32()
    store.con.execute(f"UPDATE users SET totp_secret = {literal(_seal_seed(user.user_id, secret))}, "
                      f"totp_confirmed_at = NULL, totp_last_step = NULL WHERE user_id = {user.user_id}")
    return secret


def totp_pending_secret(store, user: User) -> str | None:
    """The secret of an enrolment not yet confirmed (shown again until confirmed, never after).
    None too when it cannot be read back (its key is not configured: logged for the operator), so
    the account page offers to start again, which draws a new seed under the current key."""
    row = store.con.execute(f"SELECT totp_secret FROM users WHERE user_id = {user.user_id} "
                            "AND totp_confirmed_at IS NULL").fetchone()
    if not row or row[0] is None:
        return None
    try:
        return _open_seed(user.user_id, user.username, row[0])
    except sealed.SealError as exc:
        _seed_unreadable(user.username, exc)
        return None


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def _seal_seed(user_id: int, secret: str, keys=None) -> str:
    """What ``users.totp_secret`` stores: the seed sealed under the secrets key (AES-256-GCM, bound
    to this column and the user id), or the plain base32 seed when no key is configured."""
    keys = keys if keys is not None else sealed.secrets_keys()
    if keys.current is None:
        return secret
    return sealed.seal(secret, purpose=TOTP_PURPOSE, owner=int(user_id), keys=keys)


def _open_seed(user_id: int, username: str, stored: str, keys=None) -> str:
    """The base32 seed of a stored value; :class:`sealed.SealError` (one sentence) when unreadable."""
    return sealed.unseal(stored, purpose=TOTP_PURPOSE, owner=int(user_id), keys=keys,
                         what=f"the TOTP seed of user {username} (id {int(user_id)})")


def _seed_unreadable(username: str, exc: sealed.SealError) -> None:
    """Tell the operator (log, one line) why ``username``'s code could not be checked."""
    ops_log.error("%s; %s cannot use a TOTP code until it is fixed (a recovery code still works, or "
                  "`shanhai users reset-2fa %s`)", exc, username, username)


def _check_totp(store, user_id: int, code: str) -> bool:
    """Whether ``code`` is the TOTP of this step (or the one before/after: clock drift) and its step
    is later than the last accepted one; the step is then stored, so a code works once.

    A seed stored plain or under an earlier secrets key is sealed under the current key in the same
    update (re-encrypted on its next use). Raises :class:`sealed.SealError` when the seed cannot be
    read back (its key is not configured, or the row was altered or copied from another user)."""
    code = (code or "").strip().replace(" ", "")
    row = store.con.execute(f"SELECT totp_secret, totp_last_step, username FROM users "
                            f"WHERE user_id = {int(user_id)}").fetchone()
    if not row or not row[0] or not code.isdigit() or len(code) != 6:
        return False
    keys = sealed.secrets_keys()
    totp = pyotp.TOTP(_open_seed(user_id, row[2], row[0], keys))
    current = _step(_now())
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if row[1] is not None and step <= row[1]:
                return False                        # replay: this step (or a later one) was used already
            reseal = (f", totp_secret = {literal(_seal_seed(user_id, totp.secret, keys))}"
                      if sealed.needs_reseal(row[0], keys) else "")
            store.con.execute(f"UPDATE users SET totp_last_step = {step}{reseal} WHERE user_id = {int(user_id)}")
            return True
    return False


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").replace(" ", "").encode("utf-8")).hexdigest()


def new_recovery_codes(store, user: User, *, log: AuditWriter | None = None) -> list[str]:
    """Ten new one-time recovery codes (the old ones stop working); only their hashes are kept."""
    codes = ["-".join(secrets.token_hex(3)[:5] for _ in range(2)) for _ in range(RECOVERY_CODES)]
    store.con.execute(f"DELETE FROM recovery_codes WHERE user_id = {user.user_id}")
    at = _now()
    for code in codes:
        store.con.execute(f"INSERT INTO recovery_codes VALUES ({user.user_id}, {literal(_code_hash(code))}, "
                          f"{literal(at)}, NULL)")
    _log(store, log, "user.recovery_codes", username=user.username, target=user.username,
         detail={"count": len(codes)})
    return codes


def recovery_codes_left(store, user: User) -> int:
    return store.con.execute(f"SELECT count(*) FROM recovery_codes WHERE user_id = {user.user_id} "
                             "AND used_at IS NULL").fetchone()[0]


def _use_recovery_code(store, user_id: int, code: str) -> bool:
    key = _code_hash(code or "")
    row = store.con.execute(f"SELECT 1 FROM recovery_codes WHERE user_id = {int(user_id)} "
                            f"AND code_hash = {literal(key)} AND used_at IS NULL").fetchone()
    if not row:
        return False
    store.con.execute(f"UPDATE recovery_codes SET used_at = {literal(_now())} WHERE user_id = {int(user_id)} "
                      f"AND code_hash = {literal(key)}")
    return True


def totp_confirm(store, user: User, code: str, *, log: AuditWriter | None = None) -> list[str]:
    """Activate the pending enrolment with a code from the app; returns the recovery codes (shown once)."""
    if totp_pending_secret(store, user) is None:
        raise ShanhaiError("start two-factor enrolment first")
    try:
        ok = _check_totp(store, user.user_id, code)
    except sealed.SealError as exc:
        _seed_unreadable(user.username, exc)
        ok = False
    if not ok:
        raise ShanhaiError("the code is wrong or was already used: enter the current 6-digit code of the app")
    store.con.execute(f"UPDATE users SET totp_confirmed_at = {literal(_now())} WHERE user_id = {user.user_id}")
    _log(store, log, "user.totp_enrol", username=user.username, target=user.username, detail=None)
    return new_recovery_codes(store, user_by_id(store, user.user_id), log=log)


def verify_totp(store, user: User, code: str) -> bool:
    """A TOTP code for an enrolled user (each time step accepted once). False, with one line in
    the operator's log, when the seed cannot be read back."""
    try:
        return user.totp_enabled and _check_totp(store, user.user_id, code)
    except sealed.SealError as exc:
        _seed_unreadable(user.username, exc)
        return False


def second_factor(store, user: User, code: str, client: str, *, log: AuditWriter | None = None,
                  pending: list[tuple] = ()) -> str:
    """Check the second factor: a TOTP code, else a recovery code. Returns ``totp`` or
    ``recovery``; a wrong code counts as a failed sign-in (and can lock the account)."""
    client = (client or "unknown")[:64]
    cfg = settings(store)
    _refuse_if_locked(store, user.username, client, log, pending, cfg)
    code = (code or "").strip()
    unreadable = False
    try:
        ok = user.totp_enabled and _check_totp(store, user.user_id, code)
    except sealed.SealError as exc:      # the operator is told; the user sees the usual failure
        _seed_unreadable(user.username, exc)
        ok, unreadable = False, True
    if ok:
        used = "totp"
    elif len(code) >= 10 and _use_recovery_code(store, user.user_id, code):
        used = "recovery"
    else:
        _failed(store, user.username, client, "totp_seed_unreadable" if unreadable else "second_factor", log,
                pending, cfg, True)
        raise SignInError("the code is wrong or was already used", "invalid")
    signed_in(store, user, client, log=log, factors=2)
    if used == "recovery":
        _log(store, log, "user.recovery_code_used", username=user.username, target=user.username,
             detail={"client": client, "left": recovery_codes_left(store, user)})
    return used


def reset_totp(store, username: str, *, actor: str | None = None, log: AuditWriter | None = None) -> User:
    """Turn two-factor sign-in off (lost phone): secret and recovery codes gone; audited."""
    user = _require(store, username)
    store.con.execute(f"UPDATE users SET totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = NULL "
                      f"WHERE user_id = {user.user_id}")
    store.con.execute(f"DELETE FROM recovery_codes WHERE user_id = {user.user_id}")
    _end_sessions(store, user.user_id, "reset_2fa")
    _log(store, log, "user.reset_2fa", username=actor, target=user.username, detail=None)
    return _require(store, username)


# ---- TOTP seeds at rest (SHANHAI_SECRETS_KEY) ----------------------------------------------------

def _seeds(con) -> list[tuple[int, str, str]]:
    return con.execute("SELECT user_id, username, totp_secret FROM users WHERE totp_secret IS NOT NULL "
                       "ORDER BY user_id").fetchall()


def seed_state(con) -> dict:
    """How the stored TOTP seeds are kept: ``{"key_id", "plain", "current", "old", "unknown"}`` —
    plain base32, sealed under the current key, under a key in ``_OLD``, and ``unknown``: key id →
    usernames whose seed is sealed under a key this process does not hold (none at all, when no
    key is configured). Raises one sentence when a secrets key is malformed."""
    keys = sealed.secrets_keys()
    state = {"key_id": keys.current_id, "plain": 0, "current": 0, "old": 0, "unknown": {}}
    for _, username, stored in _seeds(con):
        kid = sealed.key_id_of(stored)
        if not sealed.is_sealed(stored):
            state["plain"] += 1
        elif kid is not None and kid == keys.current_id:
            state["current"] += 1
        elif kid in keys.known:
            state["old"] += 1
        else:
            state["unknown"].setdefault(kid or "?", []).append(username)
    return state


def check_secrets(con) -> dict:
    """For ``shanhai serve``: :func:`seed_state`, after refusing (one sentence) when seeds are
    sealed and this process has no secrets key at all — nobody enrolled could use a code. Seeds of
    a key that is merely not configured are left to the caller to warn about (those users can still
    use recovery codes, and an administrator can reset their two-factor sign-in)."""
    state = seed_state(con)
    if state["key_id"] is None and state["unknown"]:
        count = sum(len(v) for v in state["unknown"].values())
        raise ShanhaiError(
            f"鉴别数据已加密 {count} account(s)' TOTP seeds are encrypted (secrets key "
            f"{', '.join(sorted(state['unknown']))}) but this process has no secrets key: set "
            f"{sealed.KEY_ENV} or {sealed.KEY_FILE_ENV} for `shanhai serve` (see docs/security.md)")
    return state


def encrypt_totp_secrets(store, *, actor: str | None = None, log: AuditWriter | None = None) -> dict:
    """Seal every plain TOTP seed under the current secrets key and re-seal those under a key in
    ``$SHANHAI_SECRETS_KEY_OLD`` (key rotation); seeds already under the current key are checked
    to decrypt and left alone, so running it again changes nothing. One transaction, one audit
    record (``user.encrypt_secrets``). Seeds that cannot be read (a key not configured, an altered
    or copied row) are left unchanged and listed under ``unreadable``."""
    keys = sealed.secrets_keys()
    if keys.current is None:
        raise ShanhaiError(f"鉴别数据密钥未配置 no secrets key is configured: set {sealed.KEY_ENV} or "
                           f"{sealed.KEY_FILE_ENV} to the key the TOTP seeds should be encrypted with "
                           "(`openssl rand -base64 32`, see docs/security.md)")
    result = {"key_id": keys.current_id, "encrypted": [], "rekeyed": [], "unchanged": 0, "unreadable": []}
    store.con.execute("BEGIN TRANSACTION")
    try:
        for user_id, username, stored in _seeds(store.con):
            try:
                secret = _open_seed(user_id, username, stored, keys)
            except sealed.SealError as exc:
                result["unreadable"].append({"username": username, "key_id": exc.key_id, "reason": exc.reason,
                                             "message": str(exc)})
                continue
            if not sealed.needs_reseal(stored, keys):
                result["unchanged"] += 1
                continue
            store.con.execute(f"UPDATE users SET totp_secret = {literal(_seal_seed(user_id, secret, keys))} "
                              f"WHERE user_id = {int(user_id)}")
            result["rekeyed" if sealed.is_sealed(stored) else "encrypted"].append(username)
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    _log(store, log, "user.encrypt_secrets", username=actor, target=TOTP_PURPOSE,
         detail={"key_id": keys.current_id, "encrypted": len(result["encrypted"]),
                 "rekeyed": len(result["rekeyed"]), "unchanged": result["unchanged"],
                 "unreadable": [u["username"] for u in result["unreadable"]]})
    return result


# ---- sessions --------------------------------------------------------------------------------

def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(store, user: User, ttl_hours: float | None = None, *, client: str | None = None,
                   stage: str = "full") -> str:
    """A new session for ``user``; returns the token (only its hash is stored). A full session
    ends the account's others beyond ``sessions_per_account`` (reason ``replaced``, with this
    sign-in's address), oldest first. ``stage="totp"``: the password was right, the code is due."""
    cfg = settings(store)
    token = secrets.token_urlsafe(32)
    at = _now()
    hours = ttl_hours if ttl_hours is not None else cfg.absolute_hours
    if stage == "totp":
        hours = min(hours, 0.25)                   # 15 minutes to enter the code
    if stage == "full":
        keep = cfg.sessions_per_account - 1
        old = [k for (k,) in store.con.execute(
            f"SELECT session_id FROM sessions WHERE user_id = {user.user_id} AND NOT revoked "
            f"AND coalesce(stage, 'full') = 'full' AND expires_at > {literal(at)} "
            f"AND last_seen > {literal(at - timedelta(minutes=cfg.idle_minutes))} "
            f"ORDER BY created_at DESC").fetchall()][keep:]
        if old:
            store.con.execute(
                f"UPDATE sessions SET revoked = true, ended_at = {literal(at)}, end_reason = 'replaced', "
                f"end_client = {literal(client)} WHERE session_id IN ({', '.join(literal(k) for k in old)})")
    store.con.execute(
        f"INSERT INTO sessions (session_id, user_id, created_at, last_seen, expires_at, revoked, stage, client) "
        f"VALUES ({literal(_session_key(token))}, {user.user_id}, {literal(at)}, {literal(at)}, "
        f"{literal(at + timedelta(hours=hours))}, false, {literal(stage)}, {literal(client)})")
    return token


def _session_row(store, token: str | None):
    if not token or len(token) > 200:
        return None
    return store.con.execute(
        f"SELECT {_prefixed('u')}, s.last_seen, s.expires_at, s.revoked, coalesce(s.stage, 'full'), s.session_id "
        f"FROM sessions s JOIN users u USING (user_id) WHERE s.session_id = {literal(_session_key(token))}").fetchone()


def _live(row, cfg, at: datetime) -> bool:
    user = _user(row)
    last_seen, expires_at, revoked = row[_N_USER], row[_N_USER + 1], row[_N_USER + 2]
    return not (revoked or user.disabled or at >= expires_at
                or at - last_seen >= timedelta(minutes=cfg.idle_minutes))


def user_for_session(store, token: str | None) -> User | None:
    """The signed-in user of a session token, or None when it is unknown, revoked, past its
    absolute lifetime, idle too long, still waiting for its second factor, or its user is
    disabled. Marks the session as seen; sets :attr:`User.pending` and
    :attr:`User.password_days_left`."""
    row = _session_row(store, token)
    if row is None or row[_N_USER + 3] != "full":
        return None
    cfg = settings(store)
    at = _now()
    if not _live(row, cfg, at):
        return None
    if at - row[_N_USER] >= TOUCH_EVERY:
        try:
            store.con.execute(f"UPDATE sessions SET last_seen = {literal(at)} "
                              f"WHERE session_id = {literal(row[_N_USER + 4])}")
        except duckdb.TransactionException:  # a parallel request of the same session touched it first
            pass
    user = _user(row)
    days = password_days_left(user, cfg, at)
    pending = None
    if user.must_change_password or (days is not None and days < 0):
        pending = "password"
    elif totp_required(user, cfg) and not user.totp_enabled:
        pending = "enrol"
    return replace(user, pending=pending,
                   password_days_left=days if days is not None and 0 <= days <= cfg.password_warn_days else None)


def user_for_second_factor(store, token: str | None) -> User | None:
    """The user of a live session that passed the password and waits for its code."""
    row = _session_row(store, token)
    if row is None or row[_N_USER + 3] != "totp" or not _live(row, settings(store), _now()):
        return None
    return _user(row)


def session_end(store, token: str | None) -> dict | None:
    """Why the session of ``token`` is over (None when it is live or unknown): ``reason`` is one
    of replaced | signout | signout_all | password | disabled | role | reset_2fa | idle | expired,
    with ``at`` and, for ``replaced``, ``client`` (the address of the new sign-in)."""
    row = _session_row(store, token)
    if row is None:
        return None
    cfg = settings(store)
    at = _now()
    if _live(row, cfg, at):
        return None
    info = store.con.execute(f"SELECT ended_at, end_reason, end_client, last_seen, expires_at FROM sessions "
                             f"WHERE session_id = {literal(row[_N_USER + 4])}").fetchone()
    ended_at, reason, client, last_seen, expires_at = info
    if reason:
        return {"reason": reason, "at": ended_at, "client": client}
    if row[_N_USER + 2]:
        return {"reason": "signout", "at": ended_at, "client": None}
    if at >= expires_at:
        return {"reason": "expired", "at": expires_at, "client": None}
    if _user(row).disabled:
        return {"reason": "disabled", "at": None, "client": None}
    return {"reason": "idle", "at": last_seen + timedelta(minutes=cfg.idle_minutes), "client": None}


def session_key(token: str) -> str:
    """The stored id of a session token (used to derive its CSRF token)."""
    return _session_key(token)


def revoke_session(store, token: str | None, reason: str = "signout") -> None:
    if token:
        store.con.execute(f"UPDATE sessions SET revoked = true, ended_at = {literal(_now())}, "
                          f"end_reason = {literal(reason)} WHERE session_id = {literal(_session_key(token))} "
                          "AND NOT revoked")


def end_all_sessions(store, user: User, *, log: AuditWriter | None = None, client: str | None = None) -> int:
    """Sign out everywhere: every session of ``user`` ends (audited ``sign_out.all``)."""
    n = _end_sessions(store, user.user_id, "signout_all")
    _log(store, log, "sign_out.all", username=user.username, target=user.username,
         detail={"client": client, "sessions": n})
    return n


def list_sessions(store, user: User) -> list[dict]:
    """The account's live sessions, newest first (key = the stored id, never the token)."""
    cfg = settings(store)
    at = _now()
    rows = store.con.execute(
        f"SELECT session_id, created_at, last_seen, expires_at, client FROM sessions WHERE user_id = {user.user_id} "
        f"AND NOT revoked AND coalesce(stage, 'full') = 'full' AND expires_at > {literal(at)} "
        f"AND last_seen > {literal(at - timedelta(minutes=cfg.idle_minutes))} ORDER BY created_at DESC").fetchall()
    return [{"key": k, "created_at": c, "last_seen": s, "expires_at": e, "client": cl} for k, c, s, e, cl in rows]


def purge_sessions(store, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete sessions that ended more than ``older_than`` ago; returns how many."""
    cutoff = _now() - older_than
    n = store.con.execute(f"SELECT count(*) FROM sessions WHERE expires_at < {literal(cutoff)}").fetchone()[0]
    store.con.execute(f"DELETE FROM sessions WHERE expires_at < {literal(cutoff)}")
    return n


def set_security_setting(store, key: str, text: str, *, actor: str | None, log=None) -> object:
    """Override ``key`` in the database (audited as ``security.settings``); returns the value."""
    value = _security.parse(key, text)
    old = getattr(_security.settings(store), key)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    store.con.execute(f"DELETE FROM security_settings WHERE key = {literal(key)}")
    store.con.execute("INSERT INTO security_settings (key, value, changed_at, changed_by) "
                      f"VALUES ({values(key, json.dumps(value), now, actor or '-')})")
    detail = {"key": key, "old": list(old) if isinstance(old, tuple) else old, "new": value}
    if log is not None:
        log("security.settings", username=actor or "-", target=key, detail=detail)
    else:
        audit.append(store.con, "security.settings", username=actor or "-", target=key, detail=detail)
    return value
