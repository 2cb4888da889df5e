-- Industrial chains, chain membership, mountain-sea pairings, lead industries, investment
-- projects with their lifecycle, enclaves.

CREATE TABLE chains (
    chain_id VARCHAR PRIMARY KEY,
    name     VARCHAR NOT NULL,
    name_en  VARCHAR,
    note     VARCHAR
);
COMMENT ON TABLE chains IS '产业链';

CREATE TABLE chain_segments (
    segment_id        VARCHAR PRIMARY KEY,
    chain_id          VARCHAR NOT NULL,
    stage             VARCHAR NOT NULL,               -- upstream | midstream | downstream
    parent_segment_id VARCHAR,
    name              VARCHAR NOT NULL,
    name_en           VARCHAR,
    position          INTEGER NOT NULL DEFAULT 0
);
COMMENT ON TABLE chain_segments IS '产业链环节';

CREATE TABLE segment_industries (
    segment_id    VARCHAR NOT NULL,
    industry_code VARCHAR NOT NULL,                   -- 2-, 3- or 4-digit GB/T 4754 code
    PRIMARY KEY (segment_id, industry_code)
);

CREATE TABLE enterprise_segments (
    uscc       VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    role       VARCHAR NOT NULL DEFAULT 'member',     -- member | chain_leader | supplier
    method     VARCHAR NOT NULL DEFAULT 'code',       -- code | keyword | manual
    dataset_id VARCHAR,
    PRIMARY KEY (uscc, segment_id)
);
COMMENT ON TABLE enterprise_segments IS '企业所属产业链环节, 链主';

CREATE TABLE pairings (
    pairing_id       INTEGER PRIMARY KEY,
    developed_adcode VARCHAR,                         -- NULL for a functional zone without an adcode
    developed_name   VARCHAR NOT NULL,
    mountain_adcode  VARCHAR NOT NULL,
    scope            VARCHAR,                         -- province | within-city
    paired_since     INTEGER,
    evidence_date    VARCHAR,
    confidence       VARCHAR,
    source_url       VARCHAR
);
COMMENT ON TABLE pairings IS '山海协作结对关系';

CREATE TABLE lead_industries (
    adcode   VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    name     VARCHAR NOT NULL,
    codes    VARCHAR NOT NULL,                        -- ';'-joined GB/T codes
    PRIMARY KEY (adcode, position)
);
COMMENT ON TABLE lead_industries IS '一县一业 主导产业';

CREATE TABLE projects (
    project_id            VARCHAR PRIMARY KEY,
    name                  VARCHAR NOT NULL,
    investor_uscc         VARCHAR,
    investor_name         VARCHAR,
    industry_code         VARCHAR,
    chain_id              VARCHAR,
    first_contact_adcode  VARCHAR,                    -- 首谈地
    landing_adcode        VARCHAR NOT NULL,           -- 落地地
    zone_id               VARCHAR,
    planned_investment    DECIMAL(18, 4),             -- 计划总投资, 万元
    is_cooperation        BOOLEAN NOT NULL DEFAULT false, -- 山海协作项目
    stage                 VARCHAR NOT NULL,           -- signed | started | completed | producing | above_scale | full_output
    signed_on             DATE,
    expected_full_output  DATE,
    dataset_id            VARCHAR
);
COMMENT ON TABLE projects IS '招商项目';

CREATE TABLE project_events (
    project_id VARCHAR NOT NULL,
    stage      VARCHAR NOT NULL,
    event_date DATE NOT NULL,
    invested   DECIMAL(18, 4),                        -- cumulative investment at the event, 万元
    output     DECIMAL(18, 4),                        -- annualised output at the event, 万元
    note       VARCHAR,
    dataset_id VARCHAR,
    PRIMARY KEY (project_id, stage)
);
COMMENT ON TABLE project_events IS '项目生命周期节点';

CREATE TABLE enclaves (
    enclave_id    VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,                   -- industrial | innovation | village_income
    host_adcode   VARCHAR NOT NULL,
    owner_adcode  VARCHAR NOT NULL,
    established_on DATE,
    area_mu       DECIMAL(14, 4),
    dataset_id    VARCHAR
);
COMMENT ON TABLE enclaves IS '飞地';

CREATE TABLE enclave_returns (
    enclave_id VARCHAR NOT NULL,
    year       INTEGER NOT NULL,
    amount     DECIMAL(18, 4),                        -- 返还收益, 万元
    PRIMARY KEY (enclave_id, year)
);
