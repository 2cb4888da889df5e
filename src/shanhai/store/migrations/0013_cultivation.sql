-- 企业梯度培育 cultivation screening (issue 8).
-- cultivation_facts: what the cultivation rules need that the annual figures lack (IP counts, years
-- in the niche, market share, debt ratio, platform score, qualitative judgements ...), one row per
-- firm per data year; NULL = not known (the rules answer "needs review", never "fail").
-- cultivation_results: each firm's outcome per rule set per screening run (runs.kind = 'cultivation');
-- runs are never overwritten.

CREATE TABLE cultivation_facts (
    uscc                   VARCHAR NOT NULL,
    year                   INTEGER NOT NULL,          -- the data year (上年度 of the assessment)
    niche_since            DATE,                      -- began in the specific niche market
    ip_class1              INTEGER,                   -- Ⅰ类知识产权 related to the main product, 件
    ip_class1_self         INTEGER,                   -- of which self-developed
    ip_class1_high_value   INTEGER,                   -- of which high-value
    ip_class2              INTEGER,                   -- Ⅱ类知识产权, 件
    invention_patents      INTEGER,                   -- valid invention patents related to the main product
    debt_ratio             DOUBLE,                    -- 资产负债率 at year end, %
    market_share_national  DOUBLE,                    -- main product's national niche share, %
    market_share_niche     DOUBLE,                    -- domestic or international niche share, %
    world_rank             INTEGER,
    national_rank          INTEGER,
    main_products          INTEGER,                   -- number of main products
    equity_financing_2y    DECIMAL(18, 4),            -- new paid-in equity from qualified investors, 2 years, 万元
    equity_financing_3y    DECIMAL(18, 4),            -- same, 3 years, 万元
    rd_staff_share         DOUBLE,                    -- R&D staff ÷ employees, %
    rd_institution_level   INTEGER,                   -- 4 national, 3 provincial, 2 municipal, 1 below, 0 none
    digital_level          INTEGER,                   -- 数字化水平 1-4
    platform_score         DOUBLE,                    -- 专精特新发展评价得分, this year (national platform, 75号)
    platform_score_prev    DOUBLE,                    -- the same, last year
    specialty_score        DOUBLE,                    -- provincial 特色化 score 0-15 (R-2022)
    key_field_level        INTEGER,                   -- 2 补短板/锻长板/填空白, 1 六基/老字号/链主配套, 0 other
    quality_award          BOOLEAN,
    iso_cert               BOOLEAN,
    own_brand              BOOLEAN,
    standard_setting       BOOLEAN,
    it_system              BOOLEAN,
    intl_cert              BOOLEAN,
    sei_field              BOOLEAN,                   -- 战略性新兴产业
    key_chain              BOOLEAN,                   -- in a key chain (else: enterprise_segments decides)
    key_link               BOOLEAN,                   -- manual judgement: key basic field / key chain link (X-6)
    market_position_ok     BOOLEAN,                   -- manual judgement: market position (N-8)
    chain_product_ok       BOOLEAN,                   -- manual judgement: 链/品 (R-2022 小巨人)
    sci_award_provincial   BOOLEAN,                   -- provincial-or-higher S&T award, top 3, last 3 years
    sci_award_national     BOOLEAN,                   -- national S&T award, top 3, last 3 years
    maker_contest_500      BOOLEAN,                   -- 创客中国 national top 500, last 3 years
    maker_contest_50       BOOLEAN,                   -- 创客中国 national top 50, last 3 years
    credit_ok              BOOLEAN,                   -- bank credit A or better, or a clean PBOC report
    source                 VARCHAR,                   -- where the row came from (survey, platform export, synthetic)
    dataset_id             VARCHAR,
    PRIMARY KEY (uscc, year)
);
COMMENT ON TABLE cultivation_facts IS '梯度培育补充信息: facts the cultivation rules need beyond the annual figures';

CREATE TABLE cultivation_results (
    run_id        VARCHAR NOT NULL,
    rule_set      VARCHAR NOT NULL,
    tier          VARCHAR NOT NULL,
    uscc          VARCHAR NOT NULL,
    county_adcode VARCHAR NOT NULL,
    year          INTEGER NOT NULL,                   -- data year
    outcome       VARCHAR NOT NULL,                   -- eligible | needs_review | near | not_eligible
    review        VARCHAR,                            -- missing | manual (needs_review only)
    holds_title   BOOLEAN NOT NULL,                   -- already holds the tier's title on the assessment date
    excluded      BOOLEAN NOT NULL,                   -- an exclusion (bad credit, major incident ...) applies
    score_low     DOUBLE,                             -- the rule set's first score: known points
    score_high    DOUBLE,                             -- ... plus the maxima of the missing items
    missed        VARCHAR,                            -- top-level conditions missed, comma-separated ids
    unknown       VARCHAR,                            -- conditions without data
    manual        VARCHAR,                            -- conditions left to manual review
    gaps          VARCHAR,                            -- the near misses in words, '；'-separated
    PRIMARY KEY (run_id, rule_set, uscc)
);
COMMENT ON TABLE cultivation_results IS '梯度培育筛选结果: one row per firm per rule set per run';
