-- 电力指数 (issue 8): the production index by region and industry division and the chain
-- operation index by chain and segment, month by month, per stored run (runs.kind = 'power_index').

CREATE TABLE power_index_values (
    run_id          VARCHAR NOT NULL,
    index_kind      VARCHAR NOT NULL,                 -- production | chain
    group_id        VARCHAR NOT NULL,                 -- production: 'all' or a 2-digit division; chain: chain_id or segment_id
    adcode          VARCHAR NOT NULL,                 -- 330000, a city or a county
    level           VARCHAR NOT NULL,                 -- province | city | county
    period          DATE NOT NULL,                    -- first day of the month (February: Jan-Feb pooled when the rules say so)
    firms           INTEGER,                          -- firms with use in the period
    firms_prev      INTEGER,                          -- firms with use in the same period a year before
    with_base       INTEGER,                          -- firms with a baseline (use a year before)
    operating       INTEGER,                          -- of those, still at >= operating_share of it
    normal          INTEGER,                          -- of those, at >= normal_share of it
    daily_kwh       DOUBLE,                           -- sum of the firms' average daily use, kWh
    daily_kwh_prev  DOUBLE,
    energy_ratio    DOUBLE,
    operating_share DOUBLE,
    normal_share    DOUBLE,
    yoy_index       DOUBLE,                           -- 100 x energy_ratio
    composite_index DOUBLE,                           -- 100 x (w_e x energy_ratio + w_c x operating_share)
    base_index      DOUBLE,                           -- 100 x daily / base-year mean daily
    PRIMARY KEY (run_id, index_kind, group_id, adcode, period)
);
COMMENT ON TABLE power_index_values IS '电力指数: 生产指数与产业链运行指数';
