-- Per-mu runs store only what the evaluation decided per firm (mujun_scores: scores, total,
-- rank, class, rule, consequences); mujun_results becomes a view with the same columns as the
-- table of 0006, adding the facts (enterprise_years, enterprises, regions), the indicator values
-- computed from them exactly as the evaluation does, and the benchmarks (mujun_benchmarks).
-- Writing ~90 columns for a million firms cost more than the whole evaluation; the facts and
-- benchmarks were copies. Runs stored before this migration keep their whole rows, renamed
-- mujun_results_0006, and the view shows them unchanged.
--
-- The county is the run's own (region filters read it, so they reach mujun_scores directly).
-- The facts shown are those in the store now: an import that corrects a firm's figures after a
-- run changes what the view shows beside that run's (unchanged) scores. runs.inputs_fingerprint
-- says whether the data changed since (jobs.mujun.explain notes it).

ALTER TABLE mujun_results RENAME TO mujun_results_0006;

CREATE TABLE mujun_scores (
    run_id          VARCHAR NOT NULL,
    uscc            VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    county_adcode   VARCHAR NOT NULL,        -- the firm's county when evaluated (what region filters read)
    population      VARCHAR,                 -- the preset's population id; NULL when not evaluated
    unit_id         VARCHAR NOT NULL,        -- evaluation unit: county / city adcode, or 330000
    group_id        VARCHAR,                 -- industry group when ranks are taken per group
    excluded_reason VARCHAR,                 -- why class T (not evaluated); NULL when evaluated
    water_t         DOUBLE,                  -- the year's water (t), when the preset scores it
    tax_per_mu_score DOUBLE,
    value_added_per_mu_score DOUBLE,
    revenue_per_mu_score DOUBLE,
    labour_productivity_score DOUBLE,
    value_added_per_energy_score DOUBLE,
    value_added_per_emission_score DOUBLE,
    value_added_per_water_score DOUBLE,
    rd_intensity_score DOUBLE,
    rd_intensity_revenue_score DOUBLE,
    tax_per_kwh_score DOUBLE,
    revenue_per_kwh_score DOUBLE,
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
    electricity_rate DECIMAL(8, 4),          -- 元/kWh surcharge (negative: rebate)
    water_rate      DECIMAL(8, 4),           -- 元/t
    gas_rate        DECIMAL(8, 4),           -- 元/m³
    surcharge_yuan  DECIMAL(18, 2),          -- estimated electricity surcharge over the collection window
    land_tax_relief DOUBLE,                  -- share of 城镇土地使用税 relieved
    energy_quota    VARCHAR,
    land_quota      VARCHAR
);
COMMENT ON TABLE mujun_scores IS '亩均效益评价结果 (per firm, what the run decided; the view mujun_results adds the facts)';

CREATE VIEW mujun_results AS
SELECT * FROM mujun_results_0006
UNION ALL
SELECT
    s.run_id, s.uscc, s.year, e.name, s.county_adcode, g.city_adcode, e.town_adcode, e.town_name, e.zone_id,
    e.industry_code, f.above_scale, s.population, s.unit_id, s.group_id, s.excluded_reason,
    f.tax_paid, f.value_added, f.revenue, f.main_revenue, f.headcount, f.energy_tce, f.emission_t, s.water_t,
    f.rd_spending, f.electricity_kwh, f.land_own_mu, f.land_used_mu,
    CASE WHEN list_contains(u.used, 'tax_per_mu') THEN CASE WHEN f.land_used_mu > 0 THEN CAST(f.tax_paid AS DOUBLE) / CAST(f.land_used_mu AS DOUBLE) ELSE NULL END END AS tax_per_mu,
    b.tax_per_mu_benchmark, s.tax_per_mu_score,
    CASE WHEN list_contains(u.used, 'value_added_per_mu') THEN CASE WHEN f.land_used_mu > 0 THEN CAST(f.value_added AS DOUBLE) / CAST(f.land_used_mu AS DOUBLE) ELSE NULL END END AS value_added_per_mu,
    b.value_added_per_mu_benchmark, s.value_added_per_mu_score,
    CASE WHEN list_contains(u.used, 'revenue_per_mu') THEN CASE WHEN f.land_used_mu > 0 THEN CAST(f.revenue AS DOUBLE) / CAST(f.land_used_mu AS DOUBLE) ELSE NULL END END AS revenue_per_mu,
    b.revenue_per_mu_benchmark, s.revenue_per_mu_score,
    CASE WHEN list_contains(u.used, 'labour_productivity') THEN CASE WHEN f.headcount > 0 THEN CAST(f.value_added AS DOUBLE) / CAST(f.headcount AS DOUBLE) ELSE NULL END END AS labour_productivity,
    b.labour_productivity_benchmark, s.labour_productivity_score,
    CASE WHEN list_contains(u.used, 'value_added_per_energy') THEN CASE WHEN f.energy_tce > 0 THEN CAST(f.value_added AS DOUBLE) / CAST(f.energy_tce AS DOUBLE) ELSE NULL END END AS value_added_per_energy,
    b.value_added_per_energy_benchmark, s.value_added_per_energy_score,
    CASE WHEN list_contains(u.used, 'value_added_per_emission') THEN CASE WHEN f.emission_t > 0 THEN CAST(f.value_added AS DOUBLE) / CAST(f.emission_t AS DOUBLE) ELSE NULL END END AS value_added_per_emission,
    b.value_added_per_emission_benchmark, s.value_added_per_emission_score,
    CASE WHEN list_contains(u.used, 'value_added_per_water') THEN CASE WHEN s.water_t > 0 THEN CAST(f.value_added AS DOUBLE) / CAST(s.water_t AS DOUBLE) ELSE NULL END END AS value_added_per_water,
    b.value_added_per_water_benchmark, s.value_added_per_water_score,
    CASE WHEN list_contains(u.used, 'rd_intensity') THEN CASE WHEN f.main_revenue > 0 THEN CAST(f.rd_spending AS DOUBLE) / CAST(f.main_revenue AS DOUBLE) ELSE NULL END END AS rd_intensity,
    b.rd_intensity_benchmark, s.rd_intensity_score,
    CASE WHEN list_contains(u.used, 'rd_intensity_revenue') THEN CASE WHEN f.revenue > 0 THEN CAST(f.rd_spending AS DOUBLE) / CAST(f.revenue AS DOUBLE) ELSE NULL END END AS rd_intensity_revenue,
    b.rd_intensity_revenue_benchmark, s.rd_intensity_revenue_score,
    CASE WHEN list_contains(u.used, 'tax_per_kwh') THEN (CASE WHEN f.electricity_kwh > 0 THEN CAST(f.tax_paid AS DOUBLE) / CAST(f.electricity_kwh AS DOUBLE) ELSE NULL END) * 10000.0 END AS tax_per_kwh,
    b.tax_per_kwh_benchmark, s.tax_per_kwh_score,
    CASE WHEN list_contains(u.used, 'revenue_per_kwh') THEN (CASE WHEN f.electricity_kwh > 0 THEN CAST(f.revenue AS DOUBLE) / CAST(f.electricity_kwh AS DOUBLE) ELSE NULL END) * 10000.0 END AS revenue_per_kwh,
    b.revenue_per_kwh_benchmark, s.revenue_per_kwh_score,
    s.base_score, s.bonus, s.penalty, s.bonus_flags, s.penalty_flags, s.total_score, s.rank, s.unit_size,
    s.score_class, s.class, s.class_rule, s.class_streak, s.electricity_rate, s.water_rate, s.gas_rate,
    s.surcharge_yuan, s.land_tax_relief, s.energy_quota, s.land_quota
FROM mujun_scores s
LEFT JOIN (SELECT run_id, CAST(json_extract(params, '$.indicators_used') AS VARCHAR[]) AS used
           FROM runs WHERE kind = 'mujun') u ON u.run_id = s.run_id
LEFT JOIN (SELECT *, CAST((COALESCE(land_own_mu, 0) + COALESCE(land_leased_mu, 0))
                          - COALESCE(land_leased_out_mu, 0) AS DOUBLE) AS land_used_mu
           FROM enterprise_years) f ON f.uscc = s.uscc AND f.year = s.year
LEFT JOIN enterprises e ON e.uscc = s.uscc
LEFT JOIN regions g ON g.adcode = s.county_adcode AND g.level = 'county'
LEFT JOIN (SELECT run_id, unit_id, population,
           max(benchmark) FILTER (WHERE indicator = 'tax_per_mu') AS tax_per_mu_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'value_added_per_mu') AS value_added_per_mu_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'revenue_per_mu') AS revenue_per_mu_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'labour_productivity') AS labour_productivity_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'value_added_per_energy') AS value_added_per_energy_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'value_added_per_emission') AS value_added_per_emission_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'value_added_per_water') AS value_added_per_water_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'rd_intensity') AS rd_intensity_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'rd_intensity_revenue') AS rd_intensity_revenue_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'tax_per_kwh') AS tax_per_kwh_benchmark,
           max(benchmark) FILTER (WHERE indicator = 'revenue_per_kwh') AS revenue_per_kwh_benchmark
           FROM mujun_benchmarks GROUP BY run_id, unit_id, population) b
       ON b.run_id = s.run_id AND b.unit_id = s.unit_id AND b.population = s.population;
COMMENT ON VIEW mujun_results IS '亩均效益评价结果: one row per enterprise per run (mujun_scores with the facts and benchmarks)';
