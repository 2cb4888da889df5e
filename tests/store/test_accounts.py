"""Accounts (``shanhai.store.accounts``): role and region rules, argon2id hashes, throttling,
sessions (expiry, idle timeout, revocation, disabled users) and the audit entries they leave."""

from __future__ import annotations


import pytest

from shanhai.errors import ShanhaiError
from shanhai.store import accounts, audit, load_reference
from shanhai.store.accounts import SignInError

PW = "Correct horse battery 1"


@pytest.fixture
def ref(store):
    load_reference(store.con)
    return store


def actions(store) -> list[tuple]:
    return store.con.execute("SELECT action, target FROM audit_log ORDER BY seq").fetchall()


def test_roles_and_regions(ref):
    assert accounts.ROLES == ("admin", "province", "city", "county", "viewer")
    a = accounts.add_user(ref, "admin", PW, "admin", None, "管理员")
    assert a.region_adcode == "330000" and a.scope(ref).is_province and a.can_write
    assert accounts.add_user(ref, "prov", PW, "province", "330000").region_adcode == "330000"
    assert accounts.add_user(ref, "lishui", PW, "city", "331100").scope(ref).level == "city"
    assert accounts.add_user(ref, "jn", PW, "county", "331127").scope(ref).adcode == "331127"
    assert accounts.add_user(ref, "jn-city", PW, "county", "331100").scope(ref).level == "city"
    v = accounts.add_user(ref, "look", PW, "viewer", "331127")
    assert not v.can_write
    for role, region, message in [
        ("admin", "331100", "whole province"), ("province", "331127", "whole province"),
        ("city", "331127", "needs the adcode of a city"), ("city", "330000", "needs the adcode of a city"),
        ("county", None, "needs a region"), ("viewer", "330000", "needs the adcode of a city or a county"),
        ("county", "339999", "not a region"), ("boss", "330000", "not one of"),
    ]:
        with pytest.raises(ShanhaiError, match=message):
            accounts.add_user(ref, f"u-{role}", PW, role, region)
    with pytest.raises(ShanhaiError, match="taken"):
        accounts.add_user(ref, "ADMIN", PW, "admin", None)
    with pytest.raises(ShanhaiError, match="not valid"):
        accounts.add_user(ref, "a b", PW, "admin", None)
    with pytest.raises(ShanhaiError, match="too short"):
        accounts.add_user(ref, "shorty", "abc", "admin", None)
    assert [u.username for u in accounts.list_users(ref)] == ["admin", "jn", "jn-city", "lishui", "look", "prov"]
    assert {u.username for u in accounts.list_users(ref, a.scope(ref))} == {"admin", "jn", "jn-city", "lishui", "look", "prov"}
    lishui = accounts.get_user(ref, "lishui").scope(ref)
    assert {u.username for u in accounts.list_users(ref, lishui)} == {"jn", "jn-city", "lishui", "look"}
    assert [x for x in actions(ref) if x[0] == "user.add"][0] == ("user.add", "admin")


def test_password_is_argon2id_and_never_stored_plain(ref):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    stored = ref.con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PW not in stored
    assert PW not in str(ref.con.execute("SELECT * FROM audit_log").fetchall())


def test_authenticate(ref):
    accounts.add_user(ref, "jn", PW, "county", "331127", "景宁")
    user = accounts.authenticate(ref, " JN ", PW, "10.0.0.1")
    assert (user.username, user.role, user.display_name) == ("jn", "county", "景宁")
    with pytest.raises(SignInError, match="wrong username or password") as e:
        accounts.authenticate(ref, "jn", "nope nope nope", "10.0.0.1")
    assert e.value.reason == "invalid"
    with pytest.raises(SignInError, match="wrong username or password"):
        accounts.authenticate(ref, "ghost", PW, "10.0.0.1")
    accounts.disable_user(ref, "jn", actor="admin")
    with pytest.raises(SignInError, match="disabled") as e:
        accounts.authenticate(ref, "jn", PW, "10.0.0.1")
    assert e.value.reason == "disabled"
    accounts.enable_user(ref, "jn")
    assert accounts.authenticate(ref, "jn", PW, "10.0.0.1").username == "jn"
    got = [a for a, _ in actions(ref)]
    assert got == ["user.add", "sign_in", "sign_in.failed", "sign_in.failed", "user.disable", "sign_in.failed",
                   "user.enable", "sign_in"]
    detail = ref.con.execute("SELECT detail FROM audit_log WHERE action = 'sign_in.failed' ORDER BY seq").fetchall()
    assert '"client": "10.0.0.1"' in detail[0][0] and "wrong_password" in detail[0][0]
    assert audit.verify(ref.con) is None


def test_throttling_by_username(ref, clock):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    for i in range(5):
        with pytest.raises(SignInError, match="wrong"):
            accounts.authenticate(ref, "jn", "bad password!", f"10.0.1.{i}")   # five addresses, one account
    with pytest.raises(SignInError, match="try again in 30 minutes") as e:
        accounts.authenticate(ref, "jn", PW, "10.0.2.1")                       # even the right password
    assert e.value.reason == "throttled" and e.value.minutes == 30
    clock.shift(minutes=10)
    with pytest.raises(SignInError, match="try again in 20 minutes"):
        accounts.authenticate(ref, "jn", PW, "10.0.2.1")
    clock.shift(minutes=20, seconds=1)
    assert accounts.authenticate(ref, "jn", PW, "10.0.2.1").username == "jn"
    assert ("sign_in.refused", "jn") in actions(ref)


def test_throttling_by_client_and_reset_on_success(ref, clock):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    accounts.add_user(ref, "ls", PW, "city", "331100")
    for name in ("a1", "a2", "a3", "a4", "a5"):                                 # five names, one address
        with pytest.raises(SignInError):
            accounts.authenticate(ref, name, "guess guess", "10.9.9.9")
    with pytest.raises(SignInError, match="too many failed"):
        accounts.authenticate(ref, "ls", PW, "10.9.9.9")
    assert accounts.authenticate(ref, "ls", PW, "10.9.9.8").username == "ls"     # another address is fine
    # four failures, a success, four failures: the account's count restarted at the success
    for _ in range(4):
        with pytest.raises(SignInError, match="wrong"):
            accounts.authenticate(ref, "jn", "nope nope", "10.1.1.1")
    clock.shift(seconds=1)
    accounts.authenticate(ref, "jn", PW, "10.1.1.2")
    for _ in range(4):
        with pytest.raises(SignInError, match="wrong"):
            accounts.authenticate(ref, "jn", "nope nope", "10.1.1.3")
    clock.shift(seconds=1)
    assert accounts.authenticate(ref, "jn", PW, "10.1.1.4").username == "jn"
    # failures spread wider than 15 minutes never lock (the audit log's clock is not moved: start
    # past the 30-minute lock the real-time entries above would otherwise still impose)
    clock.shift(minutes=31)
    for _ in range(6):
        clock.shift(minutes=4)
        with pytest.raises(SignInError, match="wrong"):
            accounts.authenticate(ref, "ls", "nope nope", "10.2.2.2")
    assert accounts.authenticate(ref, "ls", PW, "10.2.2.3").username == "ls"


def test_sessions(ref, clock):
    user = accounts.add_user(ref, "jn", PW, "county", "331127")
    token = accounts.create_session(ref, user)
    assert len(token) >= 40
    assert ref.con.execute("SELECT session_id FROM sessions").fetchone()[0] != token   # only the hash is kept
    assert accounts.user_for_session(ref, token) == user
    assert accounts.user_for_session(ref, token + "x") is None
    assert accounts.user_for_session(ref, None) is None and accounts.user_for_session(ref, "") is None
    # idle: 29 minutes is fine and counts as activity; 30 idle minutes end it
    clock.shift(minutes=29)
    assert accounts.user_for_session(ref, token) == user
    clock.shift(minutes=29)
    assert accounts.user_for_session(ref, token) == user
    clock.shift(minutes=30)
    assert accounts.user_for_session(ref, token) is None
    # expiry: an active session still ends after its lifetime
    short = accounts.create_session(ref, user, ttl_hours=1)
    for _ in range(3):
        clock.shift(minutes=19)
        assert accounts.user_for_session(ref, short) == user
    clock.shift(minutes=4)
    assert accounts.user_for_session(ref, short) is None
    # revoked, password change, disabled
    t1 = accounts.create_session(ref, user)
    accounts.revoke_session(ref, t1)
    assert accounts.user_for_session(ref, t1) is None
    t2 = accounts.create_session(ref, user)
    accounts.set_password(ref, "jn", "Another good password 2")
    assert accounts.user_for_session(ref, t2) is None
    t3 = accounts.create_session(ref, user)
    accounts.disable_user(ref, "jn")
    assert accounts.user_for_session(ref, t3) is None
    accounts.enable_user(ref, "jn")
    assert accounts.user_for_session(ref, t3) is None          # disabling revoked it for good
    with pytest.raises(SignInError):
        accounts.authenticate(ref, "jn", PW, "10.0.0.1")
    assert accounts.authenticate(ref, "jn", "Another good password 2", "10.0.0.1") == user
    clock.shift(days=40)
    assert accounts.purge_sessions(ref) >= 4


def test_pending_entries_count_for_throttling(ref):
    """Failures queued by the web server (not yet in the audit log) count too."""
    from datetime import datetime, timezone

    accounts.add_user(ref, "jn", PW, "county", "331127")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    pending = [(now, "sign_in.failed", "jn", "10.0.0.1")] * 5
    with pytest.raises(SignInError, match="too many"):
        accounts.authenticate(ref, "jn", PW, "10.0.0.2", pending=pending)
    logged = []
    with pytest.raises(SignInError, match="wrong"):
        accounts.authenticate(ref, "jn", "bad bad bad", "10.0.0.2", log=lambda a, **kw: logged.append((a, kw)))
    assert logged == [("sign_in.failed", {"username": "jn", "target": "jn",
                                           "detail": {"client": "10.0.0.2", "reason": "wrong_password"}})]
