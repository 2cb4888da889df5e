-- Indicators and targets, stored runs, energy by carrier, the 腾笼换鸟 ledger, support
-- policies and enterprise requests.

CREATE TABLE indicators (
    indicator_id         VARCHAR PRIMARY KEY,
    name                 VARCHAR NOT NULL,
    name_en              VARCHAR,
    unit                 VARCHAR,
    department           VARCHAR,
    source               VARCHAR NOT NULL DEFAULT 'computed', -- computed | imported
    cadence              VARCHAR NOT NULL DEFAULT 'year',     -- year | quarter | month
    direction            VARCHAR NOT NULL DEFAULT 'higher',   -- higher | lower
    alert_threshold      DOUBLE,
    excellence_threshold DOUBLE
);
COMMENT ON TABLE indicators IS '指标库';

CREATE TABLE indicator_values (
    indicator_id VARCHAR NOT NULL,
    adcode       VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,                    -- 2023 | 2023-Q2 | 2023-06
    value        DOUBLE,
    dataset_id   VARCHAR,
    run_id       VARCHAR,
    PRIMARY KEY (indicator_id, adcode, period)
);

CREATE TABLE targets (
    indicator_id VARCHAR NOT NULL,
    adcode       VARCHAR NOT NULL,
    year         INTEGER NOT NULL,
    kind         VARCHAR NOT NULL DEFAULT 'level',    -- level | growth
    value        DOUBLE NOT NULL,
    source       VARCHAR,                             -- the document that sets it
    PRIMARY KEY (indicator_id, adcode, year, kind)
);
COMMENT ON TABLE targets IS '目标值';

CREATE TABLE runs (
    run_id             VARCHAR PRIMARY KEY,
    kind               VARCHAR NOT NULL,              -- mujun | zones | pairing | alerts | ...
    policy_name        VARCHAR,
    policy_version     VARCHAR,
    params             JSON,
    inputs_fingerprint VARCHAR,
    code_version       VARCHAR,
    created_by         VARCHAR,
    created_at         TIMESTAMP NOT NULL,
    status             VARCHAR NOT NULL DEFAULT 'done',
    note               VARCHAR
);
COMMENT ON TABLE runs IS '计算批次: every evaluation or plan, never overwritten';

CREATE TABLE run_results (
    run_id      VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,                     -- enterprise | region | zone | chain | ...
    entity_id   VARCHAR NOT NULL,
    result      JSON NOT NULL,
    PRIMARY KEY (run_id, entity_kind, entity_id)
);

CREATE TABLE energy_use (
    uscc       VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,                      -- 2023 | 2023-06
    carrier    VARCHAR NOT NULL,                      -- grid_electricity | green_power | pv_self | coal | natural_gas | oil | heat
    quantity   DOUBLE,
    unit       VARCHAR NOT NULL,                      -- kWh | t | m3 | GJ
    dataset_id VARCHAR,
    PRIMARY KEY (uscc, period, carrier)
);
COMMENT ON TABLE energy_use IS '分品种能源消费 (natural units)';

CREATE TABLE remediation_actions (
    action_id        VARCHAR PRIMARY KEY,
    uscc             VARCHAR,
    parcel_id        VARCHAR,
    kind             VARCHAR NOT NULL,                -- close | remediate | relocate | merge
    action_date      DATE NOT NULL,
    freed_land_mu    DECIMAL(14, 4),
    freed_energy_tce DOUBLE,
    freed_co2_t      DOUBLE,
    dataset_id       VARCHAR
);
COMMENT ON TABLE remediation_actions IS '腾笼换鸟: 整治与淘汰';

CREATE TABLE quota_allocations (
    allocation_id VARCHAR PRIMARY KEY,
    action_id     VARCHAR,
    project_id    VARCHAR,
    quota_kind    VARCHAR NOT NULL,                   -- land | energy | carbon
    amount        DOUBLE NOT NULL,
    allocated_on  DATE NOT NULL,
    dataset_id    VARCHAR
);
COMMENT ON TABLE quota_allocations IS '腾笼换鸟: 腾出指标的去向';

CREATE TABLE policy_items (
    item_id      VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    document     VARCHAR NOT NULL,
    adcode       VARCHAR NOT NULL,                    -- issuing region
    valid_from   DATE,
    valid_to     DATE,
    budget       DECIMAL(18, 4),                      -- 万元
    rule         JSON NOT NULL,
    payment_mode VARCHAR NOT NULL                     -- no_application | on_application
);
COMMENT ON TABLE policy_items IS '惠企政策事项';

CREATE TABLE payments (
    payment_id VARCHAR PRIMARY KEY,
    item_id    VARCHAR NOT NULL,
    uscc       VARCHAR NOT NULL,
    amount     DECIMAL(18, 4) NOT NULL,               -- 万元
    paid_on    DATE,
    run_id     VARCHAR
);
COMMENT ON TABLE payments IS '政策兑现';

CREATE TABLE service_requests (
    request_id VARCHAR PRIMARY KEY,
    uscc       VARCHAR NOT NULL,
    category   VARCHAR NOT NULL,
    opened_at  TIMESTAMP NOT NULL,
    due_at     TIMESTAMP,
    closed_at  TIMESTAMP,
    solved     BOOLEAN,
    status     VARCHAR NOT NULL DEFAULT 'open'
);
COMMENT ON TABLE service_requests IS '企业诉求 (企呼我应)';
