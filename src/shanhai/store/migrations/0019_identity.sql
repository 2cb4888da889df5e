-- 0019 identity (issue 13): password policy state, TOTP two-factor sign-in, lockout, session
-- lifetimes and why a session ended, and the administrator's overrides of the security settings.

ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP;          -- NULL: created_at
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN DEFAULT false;
ALTER TABLE users ADD COLUMN demo BOOLEAN DEFAULT false;             -- demo accounts: exempt from forced change, expiry, 2FA
ALTER TABLE users ADD COLUMN totp_secret VARCHAR;                     -- base32; never shown again once confirmed
ALTER TABLE users ADD COLUMN totp_confirmed_at TIMESTAMP;             -- NULL: not enrolled (or enrolment pending)
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;                   -- last accepted RFC 6238 time step (no replay)
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;                  -- lockout after repeated failures

ALTER TABLE sessions ADD COLUMN stage VARCHAR DEFAULT 'full';         -- 'totp': password checked, code pending
ALTER TABLE sessions ADD COLUMN client VARCHAR;                       -- the address that signed in
ALTER TABLE sessions ADD COLUMN ended_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN end_reason VARCHAR;                   -- signout | replaced | signout_all | password | disabled | admin
ALTER TABLE sessions ADD COLUMN end_client VARCHAR;                   -- for 'replaced': the address of the new sign-in

CREATE TABLE password_history (
    user_id       INTEGER NOT NULL,
    password_hash VARCHAR NOT NULL,                                   -- argon2id, as users.password_hash
    set_at        TIMESTAMP NOT NULL
);
COMMENT ON TABLE password_history IS '历史密码（哈希），新密码不得与最近 N 个相同';

CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL,
    code_hash  VARCHAR NOT NULL,                                      -- sha256 of a random one-time code
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
COMMENT ON TABLE recovery_codes IS '双因素恢复码（哈希，一次性）';

CREATE TABLE security_settings (
    key        VARCHAR PRIMARY KEY,
    value      VARCHAR NOT NULL,                                      -- JSON
    changed_at TIMESTAMP NOT NULL,
    changed_by VARCHAR NOT NULL
);
COMMENT ON TABLE security_settings IS '安全设置（管理员覆盖默认值）';
