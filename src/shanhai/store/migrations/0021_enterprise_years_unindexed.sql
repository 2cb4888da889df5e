-- enterprise_years without its PRIMARY KEY index: (uscc, year) stays unique, kept by the loaders
-- as electricity_monthly's (uscc, month) is (0001): the importer rejects a key that occurs twice in
-- a file and updates a stored key instead of inserting it again (ingest/importer.py, _duplicates and
-- _merge), synth writes one row per firm and year, and `shanhai db info` counts duplicate keys.
-- Measured on 1,000,000 rows: maintaining the ART index cost 0.3-0.5 s at INSERT and 0.4-0.6 s at
-- COMMIT, a fifth of a whole import, while every reader of the table scans or joins it (no query
-- looks up one key among a million: DuckDB's zone maps serve the enterprise page's
-- WHERE uscc = ? as well).
CREATE TABLE enterprise_years_0021 (
    uscc                  VARCHAR NOT NULL,
    year                  INTEGER NOT NULL,
    above_scale           BOOLEAN NOT NULL,           -- 规上: main-business revenue >= 2000 万元
    revenue               DECIMAL(18, 4),             -- 营业收入, 万元
    main_revenue          DECIMAL(18, 4),             -- 主营业务收入, 万元
    output_value          DECIMAL(18, 4),             -- 工业总产值, 万元
    value_added           DECIMAL(18, 4),             -- 工业增加值, 万元
    profit                DECIMAL(18, 4),             -- 利润总额, 万元
    tax_paid              DECIMAL(18, 4),             -- 实缴税金, 万元
    headcount             INTEGER,                    -- 年平均职工人数
    land_own_mu           DECIMAL(14, 4),             -- 自有用地, 亩
    land_leased_mu        DECIMAL(14, 4),             -- 租用, 亩
    land_leased_out_mu    DECIMAL(14, 4),             -- 出租, 亩
    energy_tce            DOUBLE,                     -- 综合能耗, 吨标准煤
    emission_t            DOUBLE,                     -- 主要污染物排放当量, 吨
    rd_spending           DECIMAL(18, 4),             -- 研发经费, 万元
    electricity_kwh       DOUBLE,                     -- 用电量, kWh
    confirmed             BOOLEAN NOT NULL DEFAULT false, -- 企业确认 / 部门核实
    dataset_id            VARCHAR
);
INSERT INTO enterprise_years_0021 SELECT * FROM enterprise_years ORDER BY uscc, year;
DROP TABLE enterprise_years;
ALTER TABLE enterprise_years_0021 RENAME TO enterprise_years;
COMMENT ON TABLE enterprise_years IS '企业年度指标 (亩均评价数据); unique (uscc, year), kept by the loaders';
