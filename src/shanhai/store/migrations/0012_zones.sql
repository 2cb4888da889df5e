-- 开发区综合评价 development-zone evaluation (issue 8).

-- Zone-level figures that firm data cannot give (对外开放 and investment): one row per zone and year.
CREATE TABLE zone_facts (
    zone_id                VARCHAR NOT NULL,
    year                   INTEGER NOT NULL,
    exports                DECIMAL(18, 4),            -- 出口额, 万元
    actual_fdi             DECIMAL(18, 4),            -- 实际使用外资, 万美元
    fixed_asset_investment DECIMAL(18, 4),            -- 固定资产投资, 万元
    dataset_id             VARCHAR,
    PRIMARY KEY (zone_id, year)
);
COMMENT ON TABLE zone_facts IS '开发区年度指标 (出口、实际使用外资、固定资产投资)';

-- One row per zone per evaluation run (runs.kind = 'zones'); never overwritten.
CREATE TABLE zone_results (
    run_id           VARCHAR NOT NULL,
    zone_id          VARCHAR NOT NULL,
    year             INTEGER NOT NULL,
    zone_name        VARCHAR NOT NULL,
    county_adcode    VARCHAR NOT NULL,
    level            VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    comparison_group VARCHAR NOT NULL,                -- e.g. area=northeast
    firms            INTEGER NOT NULL,                -- firms with figures for the year
    total_score      DOUBLE NOT NULL,                 -- Σ zone_scores.points
    rank             INTEGER NOT NULL,                -- within the comparison group; ties share the best rank
    group_size       INTEGER NOT NULL,
    score_tier       VARCHAR NOT NULL,                -- the tier the score or rank alone gives
    tier             VARCHAR NOT NULL,                -- after the move limit
    previous_run_id  VARCHAR,
    previous_tier    VARCHAR,
    tier_change      VARCHAR NOT NULL,                -- up 进档 | down 退档 | same | new
    bottom           BOOLEAN NOT NULL,                -- in the bottom N of its group this year
    bottom_streak    INTEGER NOT NULL,                -- consecutive years in the bottom N, this one included
    action           VARCHAR,                         -- warning | rectify | downgrade | delist
    PRIMARY KEY (run_id, zone_id)
);

-- One row per zone, indicator and run: the explanation (points add up to the total).
CREATE TABLE zone_scores (
    run_id    VARCHAR NOT NULL,
    zone_id   VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    group_id  VARCHAR NOT NULL,
    value     DOUBLE,                                 -- NULL: missing
    ref_low   DOUBLE,                                 -- min_max: the group's lowest; ratio_to_target: the target
    ref_high  DOUBLE,                                 -- ratio_to_best / min_max: the group's best or highest
    score     DOUBLE NOT NULL,                        -- 0–1 (ratio_to_target: up to the cap)
    points    DOUBLE NOT NULL,                        -- 100 × group weight × indicator weight × score, 4 decimals
    missing   VARCHAR,                                -- the missing rule applied (zero | worst), NULL when reported
    PRIMARY KEY (run_id, zone_id, indicator)
);
