-- 0024 audit key (等保 §8.1.4.3 c): with an audit key configured (SHANHAI_AUDIT_KEY), records are
-- written as chain version 3, whose hash is HMAC-SHA256 under that key, so someone who can write the
-- database file but does not hold the key cannot recompute the chain after an edit. key_id names the
-- key a version-3 record was written with (the first 8 hex digits of sha256("shanhai-audit-key-id" +
-- key), never the key itself), so `shanhai audit verify` can tell "written with another key" from
-- "altered". Rows of versions 1 and 2 keep NULL and verify as before.
ALTER TABLE audit_log ADD COLUMN key_id VARCHAR;
