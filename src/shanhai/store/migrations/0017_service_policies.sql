-- 0017 service policies (issue 12): 惠企政策直达 — policy items as data, match runs, the pay-out workflow.
-- policy_items (0003) is the registry of the items read from policy/service/*.toml, refreshed at
-- each match run (the TOML is the source of truth; runs keep the full text in runs.params).
-- service_facts: what the items read beyond enterprise_years / enterprise_flags, one row per firm
-- per data year; NULL = not known (the item answers manual review, never fail).
-- service_match_results: one row per firm per item per run for every outcome except not_eligible
-- (their counts are in runs.params); runs are never overwritten.
-- payments (0003) becomes the pay-out ledger: one row per firm per item per award year with its
-- state and who moved it when; service_payout_events keeps every transition.

ALTER TABLE policy_items ADD COLUMN version VARCHAR;
ALTER TABLE policy_items ADD COLUMN stacking_group VARCHAR;
ALTER TABLE policy_items ADD COLUMN notice_days INTEGER;
ALTER TABLE policy_items ADD COLUMN fingerprint VARCHAR;
ALTER TABLE policy_items ADD COLUMN source_keys VARCHAR;

CREATE TABLE service_facts (
    uscc                 VARCHAR NOT NULL,
    year                 INTEGER NOT NULL,            -- the award (data) year
    production_start     DATE,                        -- 投产日期
    equipment_investment DECIMAL(18, 4),              -- 技改/项目设备投资, 万元
    project_completed    BOOLEAN,                     -- 项目竣工 / 投产
    benchmark_project    BOOLEAN,                     -- 标杆示范项目
    future_factory       BOOLEAN,                     -- 省级未来工厂 (granted this year)
    smart_factory_prov   BOOLEAN,                     -- 省级智能工厂
    smart_factory_city   BOOLEAN,                     -- 市级智能工厂
    digital_workshop_prov BOOLEAN,                    -- 省级数字化车间
    digital_workshop_city BOOLEAN,                    -- 市级数字化车间
    software_firm        BOOLEAN,                     -- 通过软件企业评估且在省经信数据平台
    software_sales       DECIMAL(18, 4),              -- 软件业务收入, 万元
    first_set_level      INTEGER,                     -- 首台(套) recognised this year: 3 国际, 2 国内, 1 省内, 0 none
    first_set_component  BOOLEAN,                     -- the recognised item is of the 零部件 class
    first_batch_price    DECIMAL(18, 4),              -- 首台(套) first three sets / first batch sold, total price, 万元
    first_set_cluster    BOOLEAN,                     -- product in a 415X cluster named by the 2024 call
    delivered_in_window  BOOLEAN,                     -- delivered between recognition and catalogue exit
    related_party_owner  BOOLEAN,                     -- ownership stays with the maker's related company
    digital_spend        DECIMAL(18, 4),              -- 数字化改造投入 (IT hardware/software/network), 万元
    credit_blacklist     BOOLEAN,                     -- 失信被执行人 / 经营异常名录
    major_accident       BOOLEAN,                     -- major safety / quality / environmental accident this year
    bank_account         VARCHAR,                     -- 开户行/账号 for the payment list
    source               VARCHAR,
    dataset_id           VARCHAR,
    PRIMARY KEY (uscc, year)
);
COMMENT ON TABLE service_facts IS '惠企政策事项所需补充信息';

CREATE TABLE service_match_results (
    run_id         VARCHAR NOT NULL,
    item_id        VARCHAR NOT NULL,
    uscc           VARCHAR NOT NULL,
    county_adcode  VARCHAR NOT NULL,
    year           INTEGER NOT NULL,
    outcome        VARCHAR NOT NULL,                  -- eligible | near | manual_review
    review         VARCHAR,                           -- missing | manual | ambiguous_amount | jurisdiction
    amount         DECIMAL(18, 4),                    -- 万元; NULL = not known (amount not published, or ambiguous)
    candidates     VARCHAR,                           -- ambiguous amounts, comma-separated
    stacked_out    BOOLEAN NOT NULL DEFAULT false,    -- a higher award of the same non-stacking group wins
    formula        VARCHAR,                           -- the amount's formula with its numbers
    reasons        VARCHAR,                           -- JSON list of sentences, one per condition
    missing        VARCHAR,                           -- JSON list: the conditions that fail or lack data
    PRIMARY KEY (run_id, item_id, uscc)
);
COMMENT ON TABLE service_match_results IS '政策匹配结果';

ALTER TABLE payments ADD COLUMN year INTEGER;
ALTER TABLE payments ADD COLUMN county_adcode VARCHAR;
ALTER TABLE payments ADD COLUMN stacking_group VARCHAR;
ALTER TABLE payments ADD COLUMN state VARCHAR;             -- applied | confirmed | notice | approved | paid | withdrawn
ALTER TABLE payments ADD COLUMN applied_on DATE;
ALTER TABLE payments ADD COLUMN confirmed_on DATE;
ALTER TABLE payments ADD COLUMN confirmed_by VARCHAR;
ALTER TABLE payments ADD COLUMN on_behalf BOOLEAN;         -- an officer recorded the firm's confirmation
ALTER TABLE payments ADD COLUMN notice_from DATE;
ALTER TABLE payments ADD COLUMN notice_until DATE;
ALTER TABLE payments ADD COLUMN approved_on DATE;
ALTER TABLE payments ADD COLUMN approved_by VARCHAR;
ALTER TABLE payments ADD COLUMN paid_by VARCHAR;
ALTER TABLE payments ADD COLUMN note VARCHAR;

CREATE TABLE service_payout_events (
    payment_id VARCHAR NOT NULL,
    seq        INTEGER NOT NULL,
    state      VARCHAR NOT NULL,
    on_date    DATE NOT NULL,
    actor      VARCHAR NOT NULL,
    amount     DECIMAL(18, 4),
    note       VARCHAR,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (payment_id, seq)
);
COMMENT ON TABLE service_payout_events IS '政策兑现流程记录';
