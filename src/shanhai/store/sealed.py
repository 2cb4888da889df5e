"""Secrets that must be read back, kept encrypted in the database (等保 §8.1.4.8: authentication
data confidential in storage): AES-256-GCM (``cryptography``'s AESGCM) under the secrets key.

Passwords, recovery codes and session or portal tokens are stored as hashes; a TOTP seed cannot be,
since checking a code needs the seed. With a secrets key (``$SHANHAI_SECRETS_KEY`` or
``$SHANHAI_SECRETS_KEY_FILE``: exactly 32 random bytes as base64 or hex, read like the audit key by
:mod:`shanhai.store.keys`) a seed is stored as the text token

    v1:<key_id>:<base64(nonce ‖ ciphertext ‖ tag)>

with a random 96-bit nonce per seal and, as associated data, ``v1:<key_id>:<purpose>:<owner>``
(e.g. ``users.totp_secret`` and the user id): a token copied into another user's row, or with its
key id edited, does not decrypt. ``key_id`` names the key without revealing it (the first 8 hex
digits of sha256(``shanhai-secrets-key-id`` + key)); earlier keys in ``$SHANHAI_SECRETS_KEY_OLD``
are used for reading only. A base32 seed never contains ``:``, so plain seeds (written without a
key) and tokens tell themselves apart; a plain value is returned as it is.
"""

from __future__ import annotations

import base64
import binascii
import os

from shanhai.errors import ShanhaiError
from shanhai.store import keys as _keys

KEY_ENV = "SHANHAI_SECRETS_KEY"
KEY_FILE_ENV = "SHANHAI_SECRETS_KEY_FILE"
OLD_KEYS_ENV = "SHANHAI_SECRETS_KEY_OLD"
KEY_BYTES = 32                      # AES-256
NONCE_BYTES = 12                    # 96 bits, GCM's recommended nonce size
VERSION = "v1"
KEY_SETTING = _keys.KeySetting(KEY_ENV, KEY_FILE_ENV, OLD_KEYS_ENV, b"shanhai-secrets-key-id", "鉴别数据密钥",
                               "secrets key", KEY_BYTES, KEY_BYTES)


class SealError(ShanhaiError):
    """A stored secret that cannot be read back. ``reason``: no_key | unknown_key | altered | format;
    the message is one sentence for the operator (never shown to the user, never the secret)."""

    def __init__(self, message: str, reason: str, key_id: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.key_id = key_id


def secrets_keys() -> _keys.Keys:
    """The secrets keys of this process (current and ``_OLD``); one sentence when malformed."""
    return _keys.load(KEY_SETTING)


def key_id(key: bytes) -> str:
    return _keys.key_id(key, KEY_SETTING)


def is_sealed(stored: str | None) -> bool:
    """Whether a stored value is a token (a plain base32 seed never holds ``:``)."""
    return bool(stored) and ":" in stored


def key_id_of(stored: str | None) -> str | None:
    """The key id a token names (None for a plain value)."""
    if not is_sealed(stored):
        return None
    parts = stored.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == VERSION else None


def _aad(kid: str, purpose: str, owner) -> bytes:
    return f"{VERSION}:{kid}:{purpose}:{owner}".encode("utf-8")


def seal(plain: str, *, purpose: str, owner, keys: _keys.Keys | None = None) -> str:
    """``plain`` encrypted under the current secrets key, bound to ``purpose`` and ``owner``."""
    keys = keys if keys is not None else secrets_keys()
    if keys.current is None:
        raise ShanhaiError(f"鉴别数据密钥未配置 no secrets key is configured: set {KEY_ENV} or {KEY_FILE_ENV} "
                           "(see docs/security.md)")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM   # ~35 ms: only when a seed is sealed

    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.current).encrypt(nonce, plain.encode("utf-8"),
                                          _aad(keys.current_id, purpose, owner))
    return f"{VERSION}:{keys.current_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def unseal(stored: str, *, purpose: str, owner, what: str, keys: _keys.Keys | None = None) -> str:
    """The secret in ``stored`` (a plain value as it is). ``what`` names it in the one-sentence
    :class:`SealError` raised when it cannot be read: no key configured, a key not configured, or
    a token that does not decrypt (altered, or copied from another owner's row)."""
    if not is_sealed(stored):
        return stored
    parts = stored.split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise SealError(f"鉴别数据格式无效 {what} is neither a base32 seed nor a {VERSION} token: it was altered",
                        "format")
    _, kid, body = parts
    keys = keys if keys is not None else secrets_keys()
    key = keys.known.get(kid)
    if key is None:
        if keys.current is None:
            raise SealError(f"鉴别数据密钥未配置 {what} is encrypted with secrets key {kid} but no secrets key is "
                            f"configured: set {KEY_ENV} or {KEY_FILE_ENV} to that key", "no_key", kid)
        raise SealError(f"鉴别数据密钥不符 {what} is encrypted with secrets key {kid}, which is neither the "
                        f"configured key ({keys.current_id}) nor one in {OLD_KEYS_ENV}", "unknown_key", kid)
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(body, validate=True)
        if len(raw) <= NONCE_BYTES:
            raise ValueError("too short")
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid, purpose, owner))
        return plain.decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
        raise SealError(f"鉴别数据无法解密 {what} does not decrypt with secrets key {kid}: it was altered or "
                        "copied from another account's row", "altered", kid) from None


def needs_reseal(stored: str | None, keys: _keys.Keys) -> bool:
    """Whether ``stored`` should be written again under the current key (plain, or an older key)."""
    return bool(stored) and keys.current is not None and key_id_of(stored) != keys.current_id
