-- 正式结果: which per-mu run a region published (公示) for a year. Downstream readers (chain
-- panoramas, the enterprise-service lists, the overview) used the newest run of the year, so a
-- what-if or a one-county test run silently changed what they showed. Append-only: the current
-- designation of a (year, region) is its row with the highest seq; a row without run_id withdraws
-- it (jobs/mujun_official.py). Every row is also an audit record.
CREATE TABLE mujun_official (
    seq     BIGINT PRIMARY KEY,
    year    INTEGER NOT NULL,
    region  VARCHAR NOT NULL,          -- the run's region: a county, a city or 330000
    run_id  VARCHAR,                   -- NULL: the designation is withdrawn
    set_by  VARCHAR,
    set_at  TIMESTAMP NOT NULL,
    note    VARCHAR
);
COMMENT ON TABLE mujun_official IS '亩均评价正式结果 (published per-mu run per year and region; append-only)';
