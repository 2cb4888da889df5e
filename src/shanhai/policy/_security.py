"""Security settings: the packaged ``policy/security/default.toml`` (a pydantic model), overridden
key by key from the database table ``security_settings`` by an administrator
(``shanhai users settings --set KEY=VALUE``, audited as ``security.settings``).

Every key must be documented in docs/security.md (tests/policy/test_identity_settings.py fails
otherwise).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shanhai.errors import ShanhaiError
from shanhai.policy._rulesets import read_model

PACKAGED = Path(__file__).parent / "security" / "default.toml"
ROLES = ("admin", "province", "city", "county", "viewer")


class SecuritySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    source: str = ""
    password_min_length: int = Field(10, ge=8, le=128)
    password_min_classes: int = Field(3, ge=1, le=4)
    password_history: int = Field(5, ge=0, le=24)
    password_max_age_days: int = Field(90, ge=0, le=3650)
    password_warn_days: int = Field(14, ge=0, le=365)
    totp_required_roles: tuple[str, ...] = ("admin", "province")
    lockout_threshold: int = Field(5, ge=1, le=100)
    lockout_window_minutes: int = Field(15, ge=1, le=1440)
    lockout_minutes: int = Field(30, ge=1, le=10080)
    address_threshold: int = Field(5, ge=1, le=1000)
    address_window_minutes: int = Field(15, ge=1, le=1440)
    address_lock_minutes: int = Field(15, ge=1, le=10080)
    idle_minutes: int = Field(30, ge=1, le=1440)
    absolute_hours: int = Field(12, ge=1, le=168)
    sessions_per_account: int = Field(1, ge=1, le=100)

    @field_validator("totp_required_roles")
    @classmethod
    def _roles(cls, value):
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}: expected some of {', '.join(ROLES)}")
        return tuple(value)


KEYS = tuple(k for k in SecuritySettings.model_fields if k not in ("name", "source"))


@lru_cache(maxsize=1)
def defaults() -> SecuritySettings:
    """The packaged settings."""
    return read_model(PACKAGED, SecuritySettings)


def _overrides(store) -> dict[str, object]:
    try:
        rows = store.con.execute("SELECT key, value FROM security_settings").fetchall()
    except Exception as exc:  # a database older than migration 0019 has no table: the defaults hold
        if "security_settings" in str(exc):
            return {}
        raise
    return {k: json.loads(v) for k, v in rows if k in KEYS}


def settings(store=None) -> SecuritySettings:
    """The settings in force: the packaged ones with the database's overrides."""
    base = defaults()
    if store is None:
        return base
    extra = _overrides(store)
    return SecuritySettings.model_validate({**base.model_dump(), **extra}) if extra else base


def parse(key: str, text: str) -> object:
    """``text`` (as typed after ``KEY=``) as the value of ``key``; a ShanhaiError naming the key."""
    if key not in KEYS:
        raise ShanhaiError(f"unknown security setting {key!r}: expected one of {', '.join(KEYS)}")
    raw = text.strip()
    if key == "totp_required_roles":
        value: object = [r.strip() for r in raw.split(",") if r.strip()]
    else:
        try:
            value = int(raw)
        except ValueError:
            raise ShanhaiError(f"security setting {key}: {raw!r} is not a whole number") from None
    try:
        checked = SecuritySettings.model_validate({**defaults().model_dump(), key: value})
    except ValidationError as exc:
        msg = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ShanhaiError(f"security setting {key}: {msg}") from None
    return list(getattr(checked, key)) if key == "totp_required_roles" else getattr(checked, key)


def describe(store) -> list[dict]:
    """Each key with its value in force, the packaged default and whether the database overrides it."""
    base, now, over = defaults(), settings(store), _overrides(store)
    return [{"key": k, "value": _plain(getattr(now, k)), "default": _plain(getattr(base, k)),
             "overridden": k in over} for k in KEYS]


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
