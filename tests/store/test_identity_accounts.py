"""Identity controls in ``shanhai.store.accounts`` (issue 13 items 1–4): the password policy, TOTP
with replay protection and one-time recovery codes, the lockout and unlock, idle and absolute
session lifetimes, one session per account, and the security settings' database overrides."""

from __future__ import annotations

import string

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanhai.errors import ShanhaiError
from shanhai.policy import _security
from shanhai.store import accounts, load_reference
from shanhai.store.accounts import SignInError

PW = "Identity-tests-1"


@pytest.fixture
def ref(store):
    load_reference(store.con)
    return store



def actions(store, action: str) -> list[tuple]:
    return store.con.execute("SELECT target, detail FROM audit_log WHERE action = ? ORDER BY seq", [action]).fetchall()


def code_at(secret: str, at) -> str:
    return pyotp.TOTP(secret).at(at.replace(tzinfo=__import__("datetime").timezone.utc))


# ---- password policy -------------------------------------------------------------------------

def test_password_policy_cases(ref):
    for bad, message in [("Short-1a", "too short"), ("alllowercase-words", "too simple"),
                         ("ALLUPPER1234", "too simple"), ("abcdefghijk1", "too simple"),
                         ("x" * 257 + "A1-", "too long"), ("my-Jingning-2024", "account name")]:
        with pytest.raises(ShanhaiError, match=message):
            accounts.add_user(ref, "jingning", bad, "county", "331127")
    for good in ("Correct horse 9", "abc-DEF-ghi", "1234567890aB", "坚持-password-1"):
        accounts.check_password(good, "jingning")


def _classes_used(password: str) -> int:
    kinds = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    used = sum(any(c in k for c in password) for k in kinds)
    return used + any(not any(c in k for k in kinds) for c in password)


ascii_pw = st.text(alphabet=string.ascii_letters + string.digits + "-!@# ", min_size=10, max_size=30)


@settings(max_examples=200, deadline=None)
@given(ascii_pw)
def test_character_class_rule(password):
    """A password of 10+ characters passes exactly when it uses at least three of the four kinds."""
    if _classes_used(password) >= 3:
        accounts.check_password(password)
    else:
        with pytest.raises(ShanhaiError, match="too simple"):
            accounts.check_password(password)


def test_history_forbids_the_last_five(ref):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    passwords = [f"Rotation-{i}-pass" for i in range(6)]
    with pytest.raises(ShanhaiError, match="last 5"):
        accounts.set_password(ref, "jn", PW)                      # the current one
    for p in passwords:
        accounts.set_password(ref, "jn", p)
    for p in passwords[-4:]:
        with pytest.raises(ShanhaiError, match="last 5"):
            accounts.set_password(ref, "jn", p)
    accounts.set_password(ref, "jn", passwords[0])                 # six ago: allowed again


def test_expiry_warning_and_forced_change(ref, clock):
    user = accounts.add_user(ref, "jn", PW, "county", "331127")
    token = accounts.create_session(ref, user, client="10.0.0.1")
    assert accounts.user_for_session(ref, token).pending is None
    clock.shift(days=80)
    token = accounts.create_session(ref, user, client="10.0.0.1")
    seen = accounts.user_for_session(ref, token)
    assert seen.pending is None and seen.password_days_left == 9
    clock.shift(days=11)
    token = accounts.create_session(ref, user, client="10.0.0.1")
    assert accounts.user_for_session(ref, token).pending == "password"     # expired: must change
    new = accounts.change_password(ref, user, PW, "Fresh-password-2", keep_session=token)
    assert accounts.user_for_session(ref, token).pending is None and not new.must_change_password
    # an administrator's reset forces a change; an account made with must_change too
    accounts.set_password(ref, "jn", "Admin-reset-pass-3", actor="root")
    token = accounts.create_session(ref, user, client="10.0.0.1")
    assert accounts.user_for_session(ref, token).pending == "password"
    made = accounts.add_user(ref, "ls", PW, "city", "331100", must_change=True)
    assert accounts.user_for_session(ref, accounts.create_session(ref, made)).pending == "password"
    with pytest.raises(ShanhaiError, match="current password is wrong"):
        accounts.change_password(ref, made, "Not-the-pass-1", "Whatever-pass-2")


def test_demo_accounts_are_exempt(ref, clock):
    demo = accounts.add_user(ref, "demo-admin", PW, "admin", None, demo=True)
    real = accounts.add_user(ref, "root", PW, "admin", None)
    clock.shift(days=200)
    assert accounts.user_for_session(ref, accounts.create_session(ref, demo)).pending is None
    assert accounts.user_for_session(ref, accounts.create_session(ref, real)).pending == "password"


# ---- TOTP and recovery codes -------------------------------------------------------------------

def _enrol(store, username, clock):
    user = accounts.get_user(store, username)
    secret = accounts.totp_begin(store, user)
    assert secret == accounts.totp_pending_secret(store, user)
    assert accounts.totp_uri(user, secret).startswith("otpauth://totp/")
    with pytest.raises(ShanhaiError, match="wrong"):
        accounts.totp_confirm(store, user, "000000" if code_at(secret, clock.now()) != "000000" else "111111")
    codes = accounts.totp_confirm(store, user, code_at(secret, clock.now()))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert accounts.totp_pending_secret(store, user) is None           # never shown again
    stored = store.con.execute("SELECT code_hash FROM recovery_codes").fetchall()
    assert all(c not in {h for (h,) in stored} for c in codes)          # hashed
    return secret, codes


def test_totp_required_role_must_enrol(ref, clock):
    admin = accounts.add_user(ref, "root", PW, "admin", None)
    assert accounts.user_for_session(ref, accounts.create_session(ref, admin)).pending == "enrol"
    county = accounts.add_user(ref, "jn", PW, "county", "331127")
    assert accounts.user_for_session(ref, accounts.create_session(ref, county)).pending is None
    _enrol(ref, "root", clock)
    clock.shift(seconds=31)
    admin = accounts.get_user(ref, "root")
    assert admin.totp_enabled
    assert accounts.user_for_session(ref, accounts.create_session(ref, admin)).pending is None


def test_totp_code_replay_within_its_step_is_refused(ref, clock):
    accounts.add_user(ref, "root", PW, "admin", None)
    secret, _ = _enrol(ref, "root", clock)
    clock.shift(seconds=60)
    user = accounts.authenticate(ref, "root", PW, "10.0.0.1")
    assert not [a for a in actions(ref, "sign_in") if a[0] == "root"]   # first factor only: no sign_in yet
    code = code_at(secret, clock.now())
    assert accounts.second_factor(ref, user, code, "10.0.0.1") == "totp"
    with pytest.raises(SignInError, match="wrong or was already used"):
        accounts.second_factor(ref, user, code, "10.0.0.1")            # same code, same step: replay
    clock.shift(seconds=30)
    assert accounts.second_factor(ref, user, code_at(secret, clock.now()), "10.0.0.1") == "totp"
    failed = [d for t, d in actions(ref, "sign_in.failed") if t == "root"]
    assert len(failed) == 1 and "second_factor" in failed[0]


def test_recovery_code_used_twice_is_refused(ref, clock):
    accounts.add_user(ref, "root", PW, "admin", None)
    _, codes = _enrol(ref, "root", clock)
    user = accounts.get_user(ref, "root")
    assert accounts.second_factor(ref, user, codes[3].upper(), "10.0.0.1") == "recovery"
    with pytest.raises(SignInError):
        accounts.second_factor(ref, user, codes[3], "10.0.0.1")
    assert accounts.recovery_codes_left(ref, user) == 9
    accounts.reset_totp(ref, "root", actor="boss")
    assert not accounts.get_user(ref, "root").totp_enabled and accounts.recovery_codes_left(ref, user) == 0
    assert actions(ref, "user.reset_2fa")[-1][0] == "root"


# ---- lockout -----------------------------------------------------------------------------------

def test_lock_after_five_failures_and_unlock(ref, clock):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    for i in range(5):
        with pytest.raises(SignInError, match="wrong username or password"):
            accounts.authenticate(ref, "jn", "Wrong-pass-1", f"10.1.0.{i}")   # five addresses: the account locks
        clock.shift(minutes=2)
    with pytest.raises(SignInError, match="try again in 28 minutes") as exc:
        accounts.authenticate(ref, "jn", PW, "10.1.1.1")
    assert exc.value.reason == "throttled"
    lock = actions(ref, "lock")
    assert len(lock) == 1 and lock[0][0] == "jn" and '"failures":5' in lock[0][1].replace(" ", "")
    assert accounts.locks(ref)
    clock.shift(minutes=27, seconds=30)
    with pytest.raises(SignInError, match="try again in 1 minutes"):
        accounts.authenticate(ref, "jn", PW, "10.1.1.1")
    accounts.unlock(ref, "jn", actor="root")
    assert actions(ref, "unlock")[-1][0] == "jn" and not accounts.locks(ref)
    assert accounts.authenticate(ref, "jn", PW, "10.1.1.1").username == "jn"


def test_lock_after_thirty_minutes_ends_and_unknown_accounts_answer_alike(ref, clock):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    answers = {}
    for name in ("jn", "nobody"):
        for i in range(5):
            with pytest.raises(SignInError) as exc:
                accounts.authenticate(ref, name, "Wrong-pass-1", f"10.2.{len(answers)}.{i}")
            assert str(exc.value) == "wrong username or password"
        with pytest.raises(SignInError) as exc:
            accounts.authenticate(ref, name, PW, "10.3.0.1")
        answers[name] = str(exc.value)
    assert answers["jn"] == answers["nobody"] and "30 minutes" in answers["jn"]
    clock.shift(minutes=30, seconds=1)
    assert accounts.authenticate(ref, "jn", PW, "10.3.0.2").username == "jn"


def test_per_address_throttle(ref, clock):
    accounts.add_user(ref, "jn", PW, "county", "331127")
    for i in range(5):
        with pytest.raises(SignInError):
            accounts.authenticate(ref, f"guess-{i}", "Wrong-pass-1", "10.9.9.9")
    with pytest.raises(SignInError, match="15 minutes"):
        accounts.authenticate(ref, "jn", PW, "10.9.9.9")
    assert accounts.authenticate(ref, "jn", PW, "10.9.9.10").username == "jn"


# ---- sessions ----------------------------------------------------------------------------------

def test_idle_timeout_and_absolute_lifetime(ref, clock):
    user = accounts.add_user(ref, "jn", PW, "county", "331127")
    token = accounts.create_session(ref, user, client="10.0.0.1")
    clock.shift(minutes=29)
    assert accounts.user_for_session(ref, token) is not None
    clock.shift(minutes=29)                                         # active: 58 minutes in, 29 idle
    assert accounts.user_for_session(ref, token) is not None
    clock.shift(minutes=30)
    assert accounts.user_for_session(ref, token) is None
    assert accounts.session_end(ref, token)["reason"] == "idle"
    token = accounts.create_session(ref, user, client="10.0.0.1")
    for _ in range(12 * 3 - 1):
        clock.shift(minutes=20)
        assert accounts.user_for_session(ref, token) is not None   # 11 h 40 min, never idle
    clock.shift(minutes=20)
    assert accounts.user_for_session(ref, token) is None            # 12 h: the absolute lifetime
    assert accounts.session_end(ref, token)["reason"] == "expired"


def test_one_session_per_account_and_sign_out_everywhere(ref, clock):
    user = accounts.add_user(ref, "jn", PW, "county", "331127")
    first = accounts.create_session(ref, user, client="10.0.0.1")
    clock.shift(minutes=1)
    second = accounts.create_session(ref, user, client="10.0.0.2")
    assert accounts.user_for_session(ref, first) is None and accounts.user_for_session(ref, second) is not None
    end = accounts.session_end(ref, first)
    assert end["reason"] == "replaced" and end["client"] == "10.0.0.2"
    assert [s["client"] for s in accounts.list_sessions(ref, user)] == ["10.0.0.2"]
    assert accounts.end_all_sessions(ref, user, client="10.0.0.2") == 1
    assert accounts.user_for_session(ref, second) is None
    assert accounts.session_end(ref, second)["reason"] == "signout_all"
    # a session waiting for its second factor is no session yet
    half = accounts.create_session(ref, user, client="10.0.0.3", stage="totp")
    assert accounts.user_for_session(ref, half) is None
    assert accounts.user_for_second_factor(ref, half).username == "jn"


def test_role_change_is_audited_and_ends_sessions(ref):
    user = accounts.add_user(ref, "jn", PW, "county", "331127")
    token = accounts.create_session(ref, user)
    changed = accounts.change_role(ref, "jn", "city", "331100", actor="root")
    assert changed.role == "city" and accounts.user_for_session(ref, token) is None
    target, detail = actions(ref, "user.role")[-1]
    assert target == "jn" and "331127" in detail and "331100" in detail
    with pytest.raises(ShanhaiError, match="needs the adcode of a city"):
        accounts.change_role(ref, "jn", "city", "331127")


# ---- settings ----------------------------------------------------------------------------------

def test_settings_overrides_from_the_database(ref):
    assert _security.settings(ref).lockout_minutes == 30
    accounts.set_security_setting(ref, "lockout_minutes", "45", actor="root")
    accounts.set_security_setting(ref, "totp_required_roles", "admin, city", actor="root")
    cfg = _security.settings(ref)
    assert cfg.lockout_minutes == 45 and cfg.totp_required_roles == ("admin", "city")
    assert actions(ref, "security.settings")[0][0] == "lockout_minutes"
    for key, value, message in [("lockout_minutes", "0", "greater than or equal to 1"),
                                ("lockout_minutes", "soon", "not a whole number"),
                                ("totp_required_roles", "boss", "unknown roles"),
                                ("no_such_key", "1", "unknown security setting")]:
        with pytest.raises(ShanhaiError, match=message):
            accounts.set_security_setting(ref, key, value, actor="root")
    city = accounts.add_user(ref, "ls", PW, "city", "331100")
    assert accounts.user_for_session(ref, accounts.create_session(ref, city)).pending == "enrol"


def test_demo_accounts_are_flagged_and_meet_the_policy(ref):
    from shanhai.cli.users import DEMO_ACCOUNTS, ensure_demo_accounts

    found = ensure_demo_accounts(ref)
    assert {a["username"] for a in found} == {a[0] for a in DEMO_ACCOUNTS}
    accounts.check_password(found[0]["password"])                  # the generated password meets the policy
    for a in found:
        user = accounts.get_user(ref, a["username"])
        assert user.demo and not user.must_change_password
    admin = accounts.get_user(ref, "demo-admin")
    assert accounts.user_for_session(ref, accounts.create_session(ref, admin)).pending is None   # no 2FA demanded
