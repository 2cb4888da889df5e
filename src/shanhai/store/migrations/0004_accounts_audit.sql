-- Accounts with a role and a region scope, server-side sessions, and the hash-chained audit log.

CREATE TABLE users (
    user_id       INTEGER PRIMARY KEY,
    username      VARCHAR NOT NULL UNIQUE,
    display_name  VARCHAR,
    role          VARCHAR NOT NULL,                   -- province | city | county | viewer | admin
    region_adcode VARCHAR NOT NULL,                   -- scope: the user sees this region and below
    password_hash VARCHAR NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMP NOT NULL
);
COMMENT ON TABLE users IS '用户与数据范围';

CREATE TABLE sessions (
    session_id VARCHAR PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    username  VARCHAR,
    action    VARCHAR NOT NULL,                       -- sign_in | export | import | run | db_backup | ...
    target    VARCHAR,
    detail    JSON,
    prev_hash VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL
);
COMMENT ON TABLE audit_log IS '审计日志 (hash-chained)';
