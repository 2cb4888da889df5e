-- 山海协作 projects (issue 7 parts 3–5): investment leads and their transfer to the region that
-- can take them (项目流转, crediting the first-contact region 首谈地), the planned dates and
-- investment of a project's lifecycle stages, and the schedule by which a cooperation project's
-- output and tax are shared between its landing region and its partner.
--
-- project_events.stage (VARCHAR) gains 'land_supplied' 供地, between 'signed' and 'started'.

CREATE TABLE leads (
    lead_id         VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    industry_code   VARCHAR,                          -- GB/T 4754-2017 class
    chain_id        VARCHAR,
    investment      DECIMAL(18, 4),                   -- 计划投资, 万元
    land_mu         DECIMAL(14, 4),                   -- 用地需求, 亩
    energy_tce      DOUBLE,                           -- 年综合能耗, tce
    energy_per_va   DOUBLE,                           -- 单位增加值能耗, tce/万元
    jobs            INTEGER,                          -- 新增就业, 人
    found_by_adcode VARCHAR NOT NULL,                 -- the county that found the lead (首谈地)
    found_on        DATE,
    status          VARCHAR NOT NULL DEFAULT 'open',  -- open | transferred | landed | dropped
    note            VARCHAR,
    dataset_id      VARCHAR
);
COMMENT ON TABLE leads IS '招商线索';

CREATE TABLE lead_transfers (
    lead_id        VARCHAR NOT NULL,
    from_adcode    VARCHAR NOT NULL,                  -- first contact 首谈地 (the lead's finder)
    to_adcode      VARCHAR NOT NULL,                  -- receiving county 承接地
    transferred_on DATE NOT NULL,
    project_id     VARCHAR,                           -- the project it became, once signed
    note           VARCHAR,
    created_by     VARCHAR,
    dataset_id     VARCHAR,
    PRIMARY KEY (lead_id, to_adcode)
);
COMMENT ON TABLE lead_transfers IS '项目流转: a lead passed from its finder to a receiving county';

CREATE TABLE project_plans (
    project_id         VARCHAR NOT NULL,
    stage              VARCHAR NOT NULL,              -- signed | land_supplied | started | completed | producing | above_scale | full_output
    planned_date       DATE,
    planned_investment DECIMAL(18, 4),                -- cumulative investment planned by the stage, 万元
    dataset_id         VARCHAR,
    PRIMARY KEY (project_id, stage)
);
COMMENT ON TABLE project_plans IS '项目计划节点: planned date and investment per lifecycle stage';

CREATE TABLE project_shares (
    project_id     VARCHAR NOT NULL,
    from_year      INTEGER NOT NULL,
    to_year        INTEGER,                           -- NULL: open-ended
    landing_share  DECIMAL(5, 4) NOT NULL,            -- 落地地 share of output and tax
    partner_adcode VARCHAR NOT NULL,                  -- 合作方 county
    partner_share  DECIMAL(5, 4) NOT NULL,            -- landing_share + partner_share = 1
    dataset_id     VARCHAR,
    PRIMARY KEY (project_id, from_year)
);
COMMENT ON TABLE project_shares IS '山海协作项目 产值、税收分成方案 (by year)';
