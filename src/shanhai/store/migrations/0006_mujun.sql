-- 亩均效益综合评价 results: one row per enterprise per run, the benchmarks each run used, and
-- the roll-ups. Runs are never overwritten: a new evaluation is a new run_id (table runs).
-- Indicator columns follow shanhai.policy's catalogue: <id> (value), <id>_benchmark, <id>_score;
-- a column a preset does not score stays NULL.

CREATE TABLE mujun_results (
    run_id          VARCHAR NOT NULL,
    uscc            VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    name            VARCHAR,
    county_adcode   VARCHAR NOT NULL,
    city_adcode     VARCHAR,
    town_adcode     VARCHAR,
    town_name       VARCHAR,
    zone_id         VARCHAR,
    industry_code   VARCHAR,
    above_scale     BOOLEAN,
    population      VARCHAR,                 -- the preset's population id; NULL when not evaluated
    unit_id         VARCHAR NOT NULL,        -- evaluation unit: county / city adcode, or 330000
    group_id        VARCHAR,                 -- industry group when ranks are taken per group
    excluded_reason VARCHAR,                 -- why class T (not evaluated); NULL when evaluated
    -- the facts the indicators were computed from (万元, 亩, 人, tce, t, kWh)
    tax_paid        DECIMAL(18, 4),
    value_added     DECIMAL(18, 4),
    revenue         DECIMAL(18, 4),
    main_revenue    DECIMAL(18, 4),
    headcount       INTEGER,
    energy_tce      DOUBLE,
    emission_t      DOUBLE,
    water_t         DOUBLE,
    rd_spending     DECIMAL(18, 4),
    electricity_kwh DOUBLE,
    land_own_mu     DECIMAL(14, 4),
    land_used_mu    DOUBLE,
    -- indicators: value, benchmark, score
    tax_per_mu DOUBLE, tax_per_mu_benchmark DOUBLE, tax_per_mu_score DOUBLE,
    value_added_per_mu DOUBLE, value_added_per_mu_benchmark DOUBLE, value_added_per_mu_score DOUBLE,
    revenue_per_mu DOUBLE, revenue_per_mu_benchmark DOUBLE, revenue_per_mu_score DOUBLE,
    labour_productivity DOUBLE, labour_productivity_benchmark DOUBLE, labour_productivity_score DOUBLE,
    value_added_per_energy DOUBLE, value_added_per_energy_benchmark DOUBLE, value_added_per_energy_score DOUBLE,
    value_added_per_emission DOUBLE, value_added_per_emission_benchmark DOUBLE, value_added_per_emission_score DOUBLE,
    value_added_per_water DOUBLE, value_added_per_water_benchmark DOUBLE, value_added_per_water_score DOUBLE,
    rd_intensity DOUBLE, rd_intensity_benchmark DOUBLE, rd_intensity_score DOUBLE,
    rd_intensity_revenue DOUBLE, rd_intensity_revenue_benchmark DOUBLE, rd_intensity_revenue_score DOUBLE,
    tax_per_kwh DOUBLE, tax_per_kwh_benchmark DOUBLE, tax_per_kwh_score DOUBLE,
    revenue_per_kwh DOUBLE, revenue_per_kwh_benchmark DOUBLE, revenue_per_kwh_score DOUBLE,
    -- the score and the class
    base_score      DOUBLE,                  -- Σ indicator scores
    bonus           DOUBLE,                  -- Σ bonus points (after the cap)
    penalty         DOUBLE,                  -- Σ penalty points (after the cap)
    bonus_flags     VARCHAR,                 -- which flags earned them, comma-separated
    penalty_flags   VARCHAR,
    total_score     DOUBLE,                  -- base + bonus − penalty, 4 decimals
    rank            INTEGER,                 -- 1 = best in its ranking unit; ties share the rank
    unit_size       INTEGER,                 -- firms ranked in that unit
    score_class     VARCHAR,                 -- class from the score (rank share or threshold)
    class           VARCHAR NOT NULL,        -- final class after the hard rules; T = not evaluated
    class_rule      VARCHAR NOT NULL,        -- what decided it: rank_shares | thresholds | a rule id | excluded
    class_streak    INTEGER,                 -- consecutive evaluated years in this class, this one included
    -- consequences
    electricity_rate DECIMAL(8, 4),          -- 元/kWh surcharge (negative: rebate)
    water_rate      DECIMAL(8, 4),           -- 元/t
    gas_rate        DECIMAL(8, 4),           -- 元/m³
    surcharge_yuan  DECIMAL(18, 2),          -- estimated electricity surcharge over the collection window
    land_tax_relief DOUBLE,                  -- share of 城镇土地使用税 relieved
    energy_quota    VARCHAR,
    land_quota      VARCHAR
);
COMMENT ON TABLE mujun_results IS '亩均效益评价结果: one row per enterprise per run';

CREATE TABLE mujun_benchmarks (
    run_id     VARCHAR NOT NULL,
    unit_id    VARCHAR NOT NULL,
    population VARCHAR NOT NULL,
    indicator  VARCHAR NOT NULL,
    benchmark  DOUBLE,
    kind       VARCHAR NOT NULL,             -- fixed | sum_ratio | mean | median | percentile | max
    firms      INTEGER                       -- firms the statistic was computed over (NULL when fixed)
);
COMMENT ON TABLE mujun_benchmarks IS '亩均评价基准值: what each run divided by, per unit and population';

CREATE TABLE mujun_rollups (
    run_id          VARCHAR NOT NULL,
    level           VARCHAR NOT NULL,        -- province | city | county | town | zone | industry | mountain26
    key             VARCHAR NOT NULL,        -- adcode, zone id, 2-digit industry code, mountain26 | rest
    label           VARCHAR,
    scope           VARCHAR NOT NULL,        -- all | above_scale (statistical 规上, T included) | pop:<population id>
    firms           INTEGER NOT NULL,        -- firms in the scope (evaluated or not)
    evaluated       INTEGER NOT NULL,
    tax_paid        DECIMAL(20, 4),
    value_added     DECIMAL(20, 4),
    headcount       BIGINT,
    energy_tce      DOUBLE,
    land_used_mu    DOUBLE,
    electricity_kwh DOUBLE,
    tax_per_mu      DOUBLE,                  -- Σ tax ÷ Σ land (sums over sums)
    value_added_per_mu DOUBLE,
    labour_productivity DOUBLE,
    value_added_per_energy DOUBLE,
    prev_tax_per_mu DOUBLE,                  -- the same figures a year earlier (from enterprise_years)
    prev_value_added_per_mu DOUBLE,
    surcharge_yuan  DECIMAL(20, 2)
);
COMMENT ON TABLE mujun_rollups IS '亩均评价汇总: towns, counties, cities, zones, industries, mountain 26 vs the rest';

CREATE TABLE mujun_class_counts (
    run_id VARCHAR NOT NULL,
    level  VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    scope  VARCHAR NOT NULL,
    class  VARCHAR NOT NULL,                 -- T included (not evaluated)
    firms  INTEGER NOT NULL
);
COMMENT ON TABLE mujun_class_counts IS '亩均评价分类计数: firms per class for every roll-up row';
