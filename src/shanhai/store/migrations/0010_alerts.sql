-- 早期预警与走访任务 enterprise early warning and visit tasks (issue 8).
--
-- A scan (runs.kind = 'alerts') scores every firm for one month; the firms at or above the rule
-- set's alert score are stored in alert_scores (one row per run and firm, never overwritten).
-- A firm without an open alert gets a new alert; a firm with one is recorded against it
-- (de-duplicated). Alerts above the task score become visit tasks for the firm's town, whose
-- transitions (open → pushed → visited → closed) are kept in visit_task_events and audited.

CREATE TABLE alerts (
    alert_id      VARCHAR PRIMARY KEY,
    run_id        VARCHAR NOT NULL,                   -- the scan that opened it
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR,
    town_adcode   VARCHAR,
    month         DATE NOT NULL,                      -- the month scanned when it opened
    score         DOUBLE NOT NULL,                    -- composite risk score 0–100 when it opened
    kind          VARCHAR NOT NULL,                   -- collapse | decline | spike
    status        VARCHAR NOT NULL DEFAULT 'open',    -- open | closed
    created_at    TIMESTAMP NOT NULL,
    closed_at     TIMESTAMP
);
COMMENT ON TABLE alerts IS '企业用电预警';

CREATE TABLE alert_scores (
    run_id             VARCHAR NOT NULL,
    uscc               VARCHAR NOT NULL,
    month              DATE NOT NULL,
    alert_id           VARCHAR NOT NULL,
    is_new             BOOLEAN NOT NULL,              -- opened the alert (false: repeat of an open one)
    score              DOUBLE NOT NULL,
    kind               VARCHAR NOT NULL,
    kwh                DOUBLE,
    daily_kwh          DOUBLE,
    baseline_daily_kwh DOUBLE,
    yoy_ratio          DOUBLE,
    zscore             DOUBLE,
    near_zero_months   INTEGER,
    decline_ratio      DOUBLE,
    falls              INTEGER,
    spike_ratio        DOUBLE,
    utilities_ratio    DOUBLE,
    history_months     INTEGER,
    p_yoy_drop         DOUBLE,
    p_zscore_drop      DOUBLE,
    p_near_zero        DOUBLE,
    p_decline          DOUBLE,
    p_spike            DOUBLE,
    p_utilities_drop   DOUBLE,
    PRIMARY KEY (run_id, uscc)
);
COMMENT ON TABLE alert_scores IS '预警扫描结果: signals and score per run and firm';

CREATE TABLE visit_tasks (
    task_id       VARCHAR PRIMARY KEY,
    alert_id      VARCHAR NOT NULL,
    run_id        VARCHAR NOT NULL,                   -- the scan (cycle) that issued it
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR,
    town_adcode   VARCHAR,
    priority      DOUBLE NOT NULL,
    state         VARCHAR NOT NULL DEFAULT 'open',    -- open | pushed | visited | closed
    result        VARCHAR,                            -- stopped | reduced | relocated | normal | false_alarm
    note          VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP,
    updated_by    VARCHAR
);
COMMENT ON TABLE visit_tasks IS '走访核查任务';

CREATE TABLE visit_task_events (
    task_id    VARCHAR NOT NULL,
    seq        INTEGER NOT NULL,
    from_state VARCHAR,
    to_state   VARCHAR NOT NULL,
    result     VARCHAR,
    note       VARCHAR,
    username   VARCHAR,
    occurred_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, seq)
);
COMMENT ON TABLE visit_task_events IS '走访任务流转记录';
