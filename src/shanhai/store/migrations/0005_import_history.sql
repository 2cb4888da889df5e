-- Import bookkeeping: what every import changed (old and new value per cell), the warnings
-- rows loaded with, and the rows each import rejected with the reason.

CREATE TABLE change_history (
    change_id   BIGINT PRIMARY KEY,
    table_name  VARCHAR NOT NULL,
    row_key     VARCHAR NOT NULL,                 -- key values joined by '|', e.g. 9133...|2023
    column_name VARCHAR NOT NULL,
    old_value   VARCHAR,
    new_value   VARCHAR,
    dataset_id  VARCHAR NOT NULL,                 -- the import that made the change
    changed_by  VARCHAR,
    changed_at  TIMESTAMP NOT NULL
);
COMMENT ON TABLE change_history IS '数据变更历史: every cell an import changed';

CREATE TABLE import_warnings (
    dataset_id  VARCHAR NOT NULL,
    table_name  VARCHAR NOT NULL,
    row_key     VARCHAR NOT NULL,
    source_row  INTEGER NOT NULL,
    column_name VARCHAR,
    value       VARCHAR,
    message     VARCHAR NOT NULL
);
COMMENT ON TABLE import_warnings IS '导入警告: rows that loaded with a warning';

CREATE TABLE import_rejects (
    dataset_id  VARCHAR NOT NULL,
    source_row  INTEGER NOT NULL,
    column_name VARCHAR,
    value       VARCHAR,
    message     VARCHAR NOT NULL
);
COMMENT ON TABLE import_rejects IS '导入拒绝: rows an import rejected, with the reason';
