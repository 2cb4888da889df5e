-- 0018 service desk (issue 12): enterprise requests with working-day clocks, key and struggling
-- lists, the listing pipeline and the enterprise-facing portal's access links.
--
-- service_requests (0003) becomes the request pool: channel, routing (category → department and
-- level), the SLA profile and counting convention it runs under, the state timestamps, the closing
-- step's due date (and the first day it is overdue: due + 1 working day, so "overdue" is a SQL test),
-- extensions, escalation (督办), satisfaction; closed (status) and solved are kept apart.
-- service_request_events keeps every transition (who, when, the due date then in force).

ALTER TABLE service_requests ADD COLUMN county_adcode VARCHAR;
ALTER TABLE service_requests ADD COLUMN town_adcode VARCHAR;
ALTER TABLE service_requests ADD COLUMN title VARCHAR;
ALTER TABLE service_requests ADD COLUMN description VARCHAR;
ALTER TABLE service_requests ADD COLUMN channel VARCHAR;            -- portal | hotline | review | walk_in | visit | leader | discovered | import
ALTER TABLE service_requests ADD COLUMN department VARCHAR;
ALTER TABLE service_requests ADD COLUMN level VARCHAR;              -- county | city
ALTER TABLE service_requests ADD COLUMN sla_profile VARCHAR;
ALTER TABLE service_requests ADD COLUMN receipt_day INTEGER;
ALTER TABLE service_requests ADD COLUMN complex_case BOOLEAN DEFAULT false;
ALTER TABLE service_requests ADD COLUMN accepted_at TIMESTAMP;
ALTER TABLE service_requests ADD COLUMN assigned_at TIMESTAMP;
ALTER TABLE service_requests ADD COLUMN answered_at TIMESTAMP;
ALTER TABLE service_requests ADD COLUMN due_on DATE;               -- the closing step's due date (after extensions)
ALTER TABLE service_requests ADD COLUMN overdue_from DATE;         -- the first working day after due_on
ALTER TABLE service_requests ADD COLUMN extended_wd INTEGER DEFAULT 0;
ALTER TABLE service_requests ADD COLUMN escalated_at TIMESTAMP;    -- 督办 (逾期 or by hand)
ALTER TABLE service_requests ADD COLUMN reopened INTEGER DEFAULT 0;
ALTER TABLE service_requests ADD COLUMN overdue_wd INTEGER;        -- at closing: working days late (0 on time)
ALTER TABLE service_requests ADD COLUMN satisfaction INTEGER;      -- 1–5, the firm's rating
ALTER TABLE service_requests ADD COLUMN contact VARCHAR;
ALTER TABLE service_requests ADD COLUMN calendar_note VARCHAR;     -- a date past the holiday calendar's years
ALTER TABLE service_requests ADD COLUMN created_by VARCHAR;
ALTER TABLE service_requests ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE service_requests ADD COLUMN dataset_id VARCHAR;

CREATE TABLE service_request_events (
    request_id  VARCHAR NOT NULL,
    seq         INTEGER NOT NULL,
    action      VARCHAR NOT NULL,       -- submit | accept | assign | answer | close | reopen | escalate | extend | rate
    from_state  VARCHAR,
    to_state    VARCHAR NOT NULL,
    due_on      DATE,                   -- the due date in force after the event
    note        VARCHAR,
    username    VARCHAR,
    occurred_at TIMESTAMP NOT NULL,
    dataset_id  VARCHAR,                -- synthetic or imported rows
    PRIMARY KEY (request_id, seq)
);
COMMENT ON TABLE service_request_events IS '企业诉求流转记录';

-- Key / struggling lists: a run (runs.kind = 'service_lists') lists firms; each listed firm has a
-- responsible officer and a one-to-one service task on the visit-task machinery of 0010
-- (visit_tasks.source = 'key_list' | 'struggling_list'; alert tasks are 'alert').
CREATE TABLE service_list_entries (
    run_id        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,     -- key | struggling
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR,
    town_adcode   VARCHAR,
    via           VARCHAR NOT NULL,     -- rule | top_n | rule+top_n
    score         DOUBLE,               -- composite score (top-N ranking), when known
    reasons       VARCHAR,              -- the conditions met, one sentence each
    explanation   JSON,
    officer       VARCHAR,
    task_id       VARCHAR,
    PRIMARY KEY (run_id, kind, uscc)
);
COMMENT ON TABLE service_list_entries IS '重点企业/困难企业名单';

ALTER TABLE visit_tasks ADD COLUMN source VARCHAR DEFAULT 'alert';
ALTER TABLE visit_tasks ADD COLUMN officer VARCHAR;

-- Listing pipeline: firms in the reserve pool, their milestone dates, and per pipeline run the tier
-- and the staged awards due (never overwritten).
CREATE TABLE listing_pipeline (
    uscc            VARCHAR PRIMARY KEY,
    county_adcode   VARCHAR,
    entered_on      DATE,               -- joined the reserve pool
    reform_plan_by  DATE,               -- 股改 planned by
    reinvest_share  DECIMAL(6, 4),      -- share of IPO proceeds invested locally (0–1), when listed
    board           VARCHAR,            -- 主板 | 创业板 | 科创板 | 北交所 | overseas
    officer         VARCHAR,
    dataset_id      VARCHAR,
    updated_at      TIMESTAMP
);
COMMENT ON TABLE listing_pipeline IS '上市后备企业库';

CREATE TABLE listing_milestones (
    uscc        VARCHAR NOT NULL,
    milestone   VARCHAR NOT NULL,       -- intermediary_signed | joint_stock | counselling_filed | application_accepted | approved | listed
    occurred_on DATE NOT NULL,
    note        VARCHAR,
    dataset_id  VARCHAR,
    recorded_by VARCHAR,
    recorded_at TIMESTAMP,
    PRIMARY KEY (uscc, milestone)
);
COMMENT ON TABLE listing_milestones IS '上市进程节点';

CREATE TABLE pipeline_results (
    run_id        VARCHAR NOT NULL,
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR,
    tier          VARCHAR,
    award         VARCHAR NOT NULL,     -- the award id, or '-' for a firm with no award
    milestone     VARCHAR,
    earned_on     DATE,
    due_on        DATE,
    amount        DECIMAL(18, 4),       -- 万元; NULL when manual review or not yet due
    status        VARCHAR,              -- due | waiting | not_reached | manual_review | '-'
    candidates    VARCHAR,              -- manual review: the candidate amounts
    rule          VARCHAR,
    PRIMARY KEY (run_id, uscc, award)
);
COMMENT ON TABLE pipeline_results IS '上市梯队与分阶段奖励 (per pipeline run)';

-- Enterprise portal access links (企业码-style): a random token shown once, stored as its SHA-256.
CREATE TABLE firm_portal_tokens (
    token_hash    VARCHAR PRIMARY KEY,
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR,
    issued_by     VARCHAR NOT NULL,
    issued_at     TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    revoked_by    VARCHAR,
    last_used_at  TIMESTAMP
);
COMMENT ON TABLE firm_portal_tokens IS '企业端访问链接';
