-- 指标库、目标与监测 indicator registry, targets and their status runs (issue 8).

-- the registry's fields that 0003 lacked: definition, formula (which table and columns, or
-- "imported"), cumulative monthly figures or not, what a value measures and the registry version
ALTER TABLE indicators ADD COLUMN definition VARCHAR;
ALTER TABLE indicators ADD COLUMN formula VARCHAR;
ALTER TABLE indicators ADD COLUMN cumulative BOOLEAN DEFAULT false;
ALTER TABLE indicators ADD COLUMN registry_version VARCHAR;

-- targets: who set them and from which document; a target may apply to a region itself or to
-- each development zone of the region (丽水 重大平台), so `applies_to` joins the key.
CREATE TABLE targets_0011 (
    indicator_id VARCHAR NOT NULL,
    adcode       VARCHAR NOT NULL,
    year         INTEGER NOT NULL,
    kind         VARCHAR NOT NULL DEFAULT 'level',    -- level | growth (growth in percent points)
    applies_to   VARCHAR NOT NULL DEFAULT 'region',   -- region | zones (each zone of the region)
    value        DOUBLE NOT NULL,
    source       VARCHAR,                             -- the document that sets it, or the import's dataset
    label        VARCHAR,
    origin       VARCHAR NOT NULL DEFAULT 'import',   -- preset | user | import | synthetic
    preset_id    VARCHAR,
    set_by       VARCHAR,
    set_at       TIMESTAMP,
    dataset_id   VARCHAR,
    PRIMARY KEY (indicator_id, adcode, year, kind, applies_to)
);
INSERT INTO targets_0011 (indicator_id, adcode, year, kind, value, source)
    SELECT indicator_id, adcode, year, kind, value, source FROM targets;
DROP TABLE targets;
ALTER TABLE targets_0011 RENAME TO targets;
COMMENT ON TABLE targets IS '目标值';
