-- 0020 audit (issue 13): the audit record names its subject's client address and the result, and
-- carries its chain version (1 = the original fields, 2 = those plus client and result; rows written
-- before this migration stay version 1 and stay verifiable). Archived records leave the table only
-- through shanhai.store.audit.archive, which writes them to a JSON-lines file listed here.
ALTER TABLE audit_log ADD COLUMN client VARCHAR;
ALTER TABLE audit_log ADD COLUMN result VARCHAR;
ALTER TABLE audit_log ADD COLUMN chain_version INTEGER DEFAULT 1;

CREATE TABLE audit_archives (
    archive_id   VARCHAR PRIMARY KEY,
    archived_at  TIMESTAMP NOT NULL,
    path         VARCHAR NOT NULL,               -- the JSON-lines file, as written
    first_seq    BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    rows         BIGINT NOT NULL,
    first_prev_hash VARCHAR NOT NULL,            -- the chain link into the file
    last_hash    VARCHAR NOT NULL,               -- the chain link out of it (the live table's next prev_hash)
    sha256       VARCHAR NOT NULL,               -- of the whole file
    cutoff       TIMESTAMP NOT NULL,             -- records before this were archived
    retention_days INTEGER NOT NULL
);
COMMENT ON TABLE audit_archives IS '审计日志归档 archived audit records (files), chained to audit_log';
