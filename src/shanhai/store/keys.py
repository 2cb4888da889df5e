"""Keys from the environment: how ``SHANHAI_AUDIT_KEY`` and ``SHANHAI_SECRETS_KEY`` (each with its
``_FILE`` and ``_OLD`` variants) are read, parsed, validated and named.

One :class:`KeySetting` describes a key: its three variables, the label its public id is derived
with, its name in messages (Chinese first) and the lengths it accepts. :func:`load` reads it:

- ``$ENV`` (the key) or ``$ENV_FILE`` (a file holding it, e.g. a systemd credential), not both;
- ``$ENV_OLD``: comma-separated earlier keys, accepted for reading (verifying, decrypting) only;
- a key is hex (only hex digits) or base64 (standard or URL-safe alphabet), surrounding white space
  ignored; a malformed key is one sentence naming its variable, never the key itself;
- :func:`key_id`: a key's public name, the first 8 hex digits of sha256(label + key).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from shanhai.errors import ShanhaiError

_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class KeySetting:
    """A key read from the environment. ``max_bytes`` None: any length from ``min_bytes`` on."""

    env: str
    file_env: str
    old_env: str
    id_label: bytes
    name_zh: str
    name_en: str
    min_bytes: int = 32
    max_bytes: int | None = None

    def _size(self) -> str:
        if self.max_bytes == self.min_bytes:
            return f"exactly {self.min_bytes}"
        return f"at least {self.min_bytes}"


@dataclass(frozen=True)
class Keys:
    """The key new data is written with (None: none configured) and every key data may be read
    with, by key id (the current one and the ``_OLD`` ones)."""

    current: bytes | None = None
    current_id: str | None = None
    known: dict = field(default_factory=dict)


def parse_key(text: str, source: str, setting: KeySetting) -> bytes:
    """The bytes of a key written as hex or base64; one sentence naming ``source`` when malformed."""
    text = text.strip()
    raw: bytes | None
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    too_long = raw is not None and setting.max_bytes is not None and len(raw) > setting.max_bytes
    if raw is None or len(raw) < setting.min_bytes or too_long:
        what = "is not base64 or hex" if raw is None else f"holds {len(raw)} bytes"
        raise ShanhaiError(
            f"{setting.name_zh}无效 {source} {what}: the {setting.name_en} must be {setting._size()} random "
            f"bytes written as base64 or hex, e.g. the output of `openssl rand -base64 32`")
    return raw


def key_id(key: bytes, setting: KeySetting) -> str:
    """The key's public name: the first 8 hex digits of sha256(label + key)."""
    return hashlib.sha256(setting.id_label + key).hexdigest()[:8]


@functools.lru_cache(maxsize=16)
def _keys(setting: KeySetting, value: str | None, path: str | None, file_text: str | None,
          old: str | None) -> Keys:
    if value and path:
        raise ShanhaiError(f"{setting.name_zh}重复 both {setting.env} and {setting.file_env} are set: "
                           "set only one of them")
    current = (parse_key(value, setting.env, setting) if value
               else parse_key(file_text, f"{setting.file_env} ({path})", setting) if path else None)
    known: dict[str, bytes] = {}
    for number, text in enumerate((old or "").split(","), 1):
        if text.strip():
            key = parse_key(text, f"{setting.old_env} entry {number}", setting)
            known[key_id(key, setting)] = key
    current_id = key_id(current, setting) if current else None
    if current:
        known[current_id] = current
    return Keys(current, current_id, known)


def load(setting: KeySetting) -> Keys:
    """The keys of this process for ``setting``. Raises one sentence when a key is malformed, both
    the key and its file are set, or the file cannot be read."""
    path = os.environ.get(setting.file_env) or None
    file_text = None
    if path and not os.environ.get(setting.env):
        try:
            file_text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ShanhaiError(f"{setting.name_zh}文件无法读取 {setting.file_env} names {path}, which cannot be "
                               f"read: {reason}") from None
    return _keys(setting, os.environ.get(setting.env) or None, path, file_text,
                 os.environ.get(setting.old_env) or None)
