"""TOTP seeds encrypted at rest (等保 GB/T 22239-2019 §8.1.4.8, authentication data confidential in
storage): with ``SHANHAI_SECRETS_KEY`` the seed is an AES-256-GCM token bound to its user, so a copy
of the database file (a backup, a stolen file) does not give away second factors; the control test
shows that without the key it does."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timezone

import pyotp
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import accounts, audit, open_store, sealed
from shanhai.store.accounts import SignInError

PW = "Secrets-at-rest-1"
KEY_BYTES = bytes(range(32))
KEY = base64.b64encode(KEY_BYTES).decode()            # as `openssl rand -base64 32` writes one
KEY_ID = sealed.key_id(KEY_BYTES)
NEW_BYTES = hashlib.sha256(b"the next secrets key").digest()
NEW = NEW_BYTES.hex()                                  # the same length, written as hex
NEW_ID = sealed.key_id(NEW_BYTES)


@pytest.fixture(autouse=True)
def _no_key_from_outside(monkeypatch):
    for name in (sealed.KEY_ENV, sealed.KEY_FILE_ENV, sealed.OLD_KEYS_ENV,
                 audit.KEY_ENV, audit.KEY_FILE_ENV, audit.OLD_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)



def code_at(secret: str, at) -> str:
    return pyotp.TOTP(secret).at(at.replace(tzinfo=timezone.utc))


def _stored(store, username: str) -> str | None:
    return store.con.execute("SELECT totp_secret FROM users WHERE username = ?", [username]).fetchone()[0]


def _enrol(store, username: str, clock) -> tuple[str, list[str]]:
    """An admin account with two-factor sign-in on; returns (seed, recovery codes)."""
    accounts.add_user(store, username, PW, "admin", None)
    user = accounts.get_user(store, username)
    secret = accounts.totp_begin(store, user)
    assert accounts.totp_pending_secret(store, user) == secret      # shown again until confirmed
    codes = accounts.totp_confirm(store, user, code_at(secret, clock.now()))
    clock.shift(seconds=31)
    return secret, codes


def _sign_in(store, username: str, code: str) -> str:
    user = accounts.authenticate(store, username, PW, "10.0.0.1")
    return accounts.second_factor(store, user, code, "10.0.0.1")


def _failures(store, username: str) -> list[str]:
    return [json.loads(d)["reason"] for (d,) in store.con.execute(
        "SELECT detail FROM audit_log WHERE action = 'sign_in.failed' AND target = ? ORDER BY seq",
        [username]).fetchall()]


# ---- at rest -------------------------------------------------------------------------------------

def test_with_a_key_the_file_holds_no_seed(db_path, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    with open_store(db_path) as store:
        secret, _ = _enrol(store, "root", clock)
        stored = _stored(store, "root")
        assert stored.startswith(f"v1:{KEY_ID}:") and secret not in stored
        store.con.execute("CHECKPOINT")
    assert secret.encode() not in db_path.read_bytes()
    wal = db_path.with_name(db_path.name + ".wal")
    assert not wal.exists() or secret.encode() not in wal.read_bytes()


def test_control_without_a_key_the_file_holds_the_seed(db_path, clock):
    with open_store(db_path) as store:
        secret, _ = _enrol(store, "root", clock)
        assert _stored(store, "root") == secret                        # nothing changes without a key
        store.con.execute("CHECKPOINT")
    assert secret.encode() in db_path.read_bytes()


def test_the_token_is_aes_gcm_over_the_seed_bound_to_the_user(store, monkeypatch, clock):
    """v1:<key_id>:<base64(nonce ‖ ciphertext ‖ tag)>, associated data v1:<key_id>:users.totp_secret:<id>."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    secret, _ = _enrol(store, "root", clock)
    version, kid, body = _stored(store, "root").split(":")
    raw = base64.b64decode(body)
    user_id = accounts.get_user(store, "root").user_id
    assert (version, kid, len(raw)) == ("v1", KEY_ID, 12 + len(secret) + 16)
    aad = f"v1:{KEY_ID}:users.totp_secret:{user_id}".encode()
    assert AESGCM(KEY_BYTES).decrypt(raw[:12], raw[12:], aad).decode() == secret
    # a fresh nonce every time: the same seed sealed twice gives two tokens
    assert sealed.seal(secret, purpose="users.totp_secret", owner=user_id) != \
        sealed.seal(secret, purpose="users.totp_secret", owner=user_id)


# ---- signing in ----------------------------------------------------------------------------------

def test_totp_sign_in_works_with_a_sealed_seed(store, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    secret, _ = _enrol(store, "root", clock)
    code = code_at(secret, clock.now())
    assert _sign_in(store, "root", code) == "totp"
    with pytest.raises(SignInError, match="wrong or was already used"):
        _sign_in(store, "root", code)                                  # replay still refused
    assert _stored(store, "root").startswith(f"v1:{KEY_ID}:")


def test_a_seed_copied_to_another_user_does_not_decrypt(store, monkeypatch, clock, caplog):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    secret, _ = _enrol(store, "root", clock)
    _enrol(store, "boss", clock)
    # whoever can write the file copies root's seed (whose codes they know) into boss's row
    store.con.execute("UPDATE users SET totp_secret = ? WHERE username = 'boss'", [_stored(store, "root")])
    with caplog.at_level(logging.ERROR, logger="shanhai.accounts"):
        with pytest.raises(SignInError, match="the code is wrong or was already used") as caught:
            _sign_in(store, "boss", code_at(secret, clock.now()))
    assert caught.value.reason == "invalid"                            # the user's usual failure
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert "\n" not in line and line.startswith("鉴别数据无法解密 the TOTP seed of user boss")
    assert "copied from another account's row" in line and secret not in line
    assert _failures(store, "boss") == ["totp_seed_unreadable"]
    assert _sign_in(store, "root", code_at(secret, clock.now())) == "totp"   # root's own row still works


def test_an_edited_key_id_or_token_does_not_decrypt(store, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    _enrol(store, "root", clock)
    stored = _stored(store, "root")
    user_id = accounts.get_user(store, "root").user_id
    _, kid, body = stored.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[14] ^= 1
    for bad, reason in [(f"v1:{kid}:{base64.b64encode(bytes(raw)).decode()}", "altered"),
                        (f"v1:{kid}:not-base64!", "altered"), (f"v9:{kid}:{body}", "format"),
                        (f"v1:{NEW_ID}:{body}", "unknown_key")]:
        with pytest.raises(sealed.SealError) as caught:
            sealed.unseal(bad, purpose="users.totp_secret", owner=user_id, what="the seed")
        assert caught.value.reason == reason and "\n" not in str(caught.value)


def test_without_the_key_sign_in_fails_with_one_sentence_for_the_operator(store, monkeypatch, clock, caplog):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    secret, codes = _enrol(store, "root", clock)
    monkeypatch.delenv(sealed.KEY_ENV)
    with caplog.at_level(logging.ERROR, logger="shanhai.accounts"):
        with pytest.raises(SignInError, match="the code is wrong or was already used"):
            _sign_in(store, "root", code_at(secret, clock.now()))
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert line.startswith(f"鉴别数据密钥未配置 the TOTP seed of user root (id 1) is encrypted with secrets key "
                           f"{KEY_ID} but no secrets key is configured: set SHANHAI_SECRETS_KEY")
    assert "\n" not in line and "reset-2fa root" in line and caplog.records[0].exc_info is None
    assert _failures(store, "root") == ["totp_seed_unreadable"]
    assert _sign_in(store, "root", codes[0]) == "recovery"             # recovery codes still work
    # another key, not the one the seed was sealed with: named by both key ids
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="shanhai.accounts"):
        assert not accounts.verify_totp(store, accounts.get_user(store, "root"), code_at(secret, clock.now()))
    assert caplog.records[0].getMessage().startswith(
        f"鉴别数据密钥不符 the TOTP seed of user root (id 1) is encrypted with secrets key {KEY_ID}, which is "
        f"neither the configured key ({NEW_ID}) nor one in SHANHAI_SECRETS_KEY_OLD")


def test_an_unreadable_pending_enrolment_starts_again(store, monkeypatch, clock, caplog):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    accounts.add_user(store, "root", PW, "admin", None)
    user = accounts.get_user(store, "root")
    accounts.totp_begin(store, user)
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    with caplog.at_level(logging.ERROR, logger="shanhai.accounts"):
        assert accounts.totp_pending_secret(store, user) is None
    assert "鉴别数据密钥不符" in caplog.text
    secret = accounts.totp_begin(store, user)                          # a new seed, under the new key
    assert _stored(store, "root").startswith(f"v1:{NEW_ID}:")
    assert len(accounts.totp_confirm(store, user, code_at(secret, clock.now()))) == 10


def test_an_old_key_reads_and_the_seed_moves_to_the_new_key_on_use(store, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    secret, _ = _enrol(store, "root", clock)
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    monkeypatch.setenv(sealed.OLD_KEYS_ENV, KEY)
    assert accounts.seed_state(store.con) == {"key_id": NEW_ID, "plain": 0, "current": 0, "old": 1, "unknown": {}}
    assert _sign_in(store, "root", code_at(secret, clock.now())) == "totp"
    assert _stored(store, "root").startswith(f"v1:{NEW_ID}:")          # re-sealed under the new key
    monkeypatch.delenv(sealed.OLD_KEYS_ENV)
    clock.shift(seconds=30)
    assert _sign_in(store, "root", code_at(secret, clock.now())) == "totp"


def test_a_plain_seed_is_sealed_at_its_next_use(store, monkeypatch, clock):
    secret, _ = _enrol(store, "root", clock)
    assert _stored(store, "root") == secret
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    assert accounts.seed_state(store.con)["plain"] == 1
    assert _sign_in(store, "root", code_at(secret, clock.now())) == "totp"
    assert _stored(store, "root").startswith(f"v1:{KEY_ID}:")
    with pytest.raises(SignInError):
        _sign_in(store, "root", code_at(secret, clock.now()))          # the step was stored in the same update


# ---- the command ---------------------------------------------------------------------------------

def _encrypt(db_path, *extra):
    res = CliRunner().invoke(app, ["users", "encrypt-secrets", "--db", str(db_path), *extra])
    return res


def test_the_encrypt_command_converts_plain_seeds_and_is_idempotent(db_path, monkeypatch, clock):
    with open_store(db_path) as store:
        root, _ = _enrol(store, "root", clock)
        boss, _ = _enrol(store, "boss", clock)
        accounts.add_user(store, "plain", PW, "admin", None)           # no two-factor sign-in: nothing to seal
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    res = _encrypt(db_path, "--json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result == {"key_id": KEY_ID, "encrypted": ["root", "boss"], "rekeyed": [], "unchanged": 0, "unreadable": []}
    with open_store(db_path) as store:
        assert all(_stored(store, u).startswith(f"v1:{KEY_ID}:") for u in ("root", "boss"))
        assert _stored(store, "plain") is None
        assert _sign_in(store, "boss", code_at(boss, clock.now())) == "totp"
    again = json.loads(_encrypt(db_path, "--json").stdout)             # nothing left to do
    assert (again["encrypted"], again["rekeyed"], again["unchanged"]) == ([], [], 2)
    # rotation: the new key current, the old one readable, then the command moves every seed
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    monkeypatch.setenv(sealed.OLD_KEYS_ENV, KEY)
    res = _encrypt(db_path)
    assert res.exit_code == 0 and "已换钥 re-encrypted 2" in res.stdout
    monkeypatch.delenv(sealed.OLD_KEYS_ENV)
    with open_store(db_path) as store:
        assert accounts.seed_state(store.con) == {"key_id": NEW_ID, "plain": 0, "current": 2, "old": 0, "unknown": {}}
        clock.shift(seconds=30)
        assert _sign_in(store, "root", code_at(root, clock.now())) == "totp"
        records = store.con.execute("SELECT username, target, detail FROM audit_log "
                                    "WHERE action = 'user.encrypt_secrets' ORDER BY seq").fetchall()
    assert [json.loads(d)["encrypted"] for _, _, d in records] == [2, 0, 0]
    assert [json.loads(d)["rekeyed"] for _, _, d in records] == [0, 0, 2]
    assert {(u.startswith("cli:"), t) for u, t, _ in records} == {(True, "users.totp_secret")}


def test_the_encrypt_command_leaves_unreadable_seeds_and_says_so(db_path, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    with open_store(db_path) as store:
        _enrol(store, "root", clock)
        _enrol(store, "boss", clock)
        store.con.execute("UPDATE users SET totp_secret = ? WHERE username = 'boss'", [_stored(store, "root")])
        copied = _stored(store, "boss")
    res = _encrypt(db_path, "--json")
    assert res.exit_code == 1
    result = json.loads(res.stdout)
    assert result["unchanged"] == 1 and [u["username"] for u in result["unreadable"]] == ["boss"]
    assert result["unreadable"][0]["reason"] == "altered"
    with open_store(db_path) as store:
        assert _stored(store, "boss") == copied                        # left as it was
    res = _encrypt(db_path)
    assert res.exit_code == 1 and "无法读取 Unreadable" in res.stdout and "reset-2fa" in res.stdout


def test_the_encrypt_command_needs_a_key(db_path, clock):
    with open_store(db_path) as store:
        _enrol(store, "root", clock)
    res = _encrypt(db_path)
    assert isinstance(res.exception, ShanhaiError)
    assert str(res.exception).startswith("鉴别数据密钥未配置 no secrets key is configured: set SHANHAI_SECRETS_KEY")
    with open_store(db_path) as store:
        assert not accounts.seed_state(store.con)["current"]
        assert not store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'user.encrypt_secrets'").fetchone()[0]


def test_after_the_command_the_old_plain_seed_is_gone_once_the_file_is_rewritten(db_path, tmp_path, monkeypatch,
                                                                                 clock):
    """DuckDB does not zero the blocks an UPDATE frees, so a seed stored plain before the command can
    linger in the file; a backup restored into a new file (docs/security.md) leaves only tokens."""
    from shanhai.store import backup, restore

    with open_store(db_path) as store:
        secret, _ = _enrol(store, "root", clock)
        store.con.execute("CHECKPOINT")
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    assert _encrypt(db_path).exit_code == 0
    with open_store(db_path) as store:
        store.con.execute("CHECKPOINT")
        backup(store, tmp_path / "after-encrypt")
    rewritten = tmp_path / "rewritten.duckdb"
    restore(tmp_path / "after-encrypt", rewritten)
    assert secret.encode() not in rewritten.read_bytes()
    assert not any(secret.encode() in f.read_bytes() for f in (tmp_path / "after-encrypt").iterdir())
    with open_store(rewritten) as store:
        assert _sign_in(store, "root", code_at(secret, clock.now())) == "totp"


# ---- start-up and malformed keys -----------------------------------------------------------------

def test_serve_refuses_encrypted_seeds_without_a_key(db_path, monkeypatch, clock):
    monkeypatch.setenv(sealed.KEY_ENV, KEY)
    with open_store(db_path) as store:
        _enrol(store, "root", clock)
    monkeypatch.delenv(sealed.KEY_ENV)
    res = CliRunner().invoke(app, ["serve", "--db", str(db_path)])
    assert isinstance(res.exception, ShanhaiError)
    message = str(res.exception)
    assert "\n" not in message and message.startswith(
        f"鉴别数据已加密 1 account(s)' TOTP seeds are encrypted (secrets key {KEY_ID}) but this process has no "
        "secrets key: set SHANHAI_SECRETS_KEY or SHANHAI_SECRETS_KEY_FILE for `shanhai serve`")
    # with another key the server starts (uvicorn is not run here) and names the accounts affected
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    with open_store(db_path) as store:
        assert accounts.check_secrets(store.con)["unknown"] == {KEY_ID: ["root"]}


def test_plain_seeds_and_no_key_start_as_before(db_path, clock):
    with open_store(db_path) as store:
        _enrol(store, "root", clock)
        assert accounts.check_secrets(store.con) == {"key_id": None, "plain": 1, "current": 0, "old": 0, "unknown": {}}


@pytest.mark.parametrize("value, says", [
    ("not a key at all!", "is not base64 or hex"),
    (base64.b64encode(bytes(16)).decode(), "holds 16 bytes"),
    (bytes(48).hex(), "holds 48 bytes"),                               # AES-256 takes exactly 32
    ("abc", "is not base64 or hex"),
])
def test_a_malformed_secrets_key_is_one_sentence(store, monkeypatch, value, says):
    monkeypatch.setenv(sealed.KEY_ENV, value)
    accounts.add_user(store, "root", PW, "admin", None)
    with pytest.raises(ShanhaiError) as caught:
        accounts.totp_begin(store, accounts.get_user(store, "root"))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("鉴别数据密钥无效 SHANHAI_SECRETS_KEY ")
    assert says in message and "exactly 32 random bytes" in message and "openssl rand -base64 32" in message
    assert value not in message
    assert _stored(store, "root") is None
    with pytest.raises(ShanhaiError, match="鉴别数据密钥无效"):
        accounts.check_secrets(store.con)


def test_key_file_old_keys_and_both_set(store, monkeypatch, tmp_path, clock):
    path = tmp_path / "secrets.key"                                     # as systemd's LoadCredential= hands it over
    path.write_text(KEY + "\n", "utf-8")
    monkeypatch.setenv(sealed.KEY_FILE_ENV, str(path))
    assert sealed.secrets_keys().current_id == KEY_ID
    secret, _ = _enrol(store, "root", clock)
    assert _stored(store, "root").startswith(f"v1:{KEY_ID}:")
    monkeypatch.setenv(sealed.KEY_ENV, NEW)
    with pytest.raises(ShanhaiError, match="鉴别数据密钥重复 both SHANHAI_SECRETS_KEY and SHANHAI_SECRETS_KEY_FILE"):
        sealed.secrets_keys()
    monkeypatch.delenv(sealed.KEY_FILE_ENV)
    monkeypatch.setenv(sealed.OLD_KEYS_ENV, f"{KEY},short")
    with pytest.raises(ShanhaiError, match="SHANHAI_SECRETS_KEY_OLD entry 2 "):
        sealed.secrets_keys()
    # the secrets key and the audit key are separate settings: one does not stand in for the other
    monkeypatch.delenv(sealed.OLD_KEYS_ENV)
    monkeypatch.delenv(sealed.KEY_ENV)
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    assert sealed.secrets_keys().current is None and not accounts.verify_totp(
        store, accounts.get_user(store, "root"), code_at(secret, clock.now()))
