-- Core: regions, industries, enterprises and their yearly and monthly facts, land, zones,
-- and where each row came from. Money in 万元 (DECIMAL, exact to the yuan), land in 亩,
-- energy in tce, electricity in kWh. A missing value is NULL, never 0.

CREATE TABLE regions (
    adcode                     VARCHAR PRIMARY KEY,   -- GB/T 2260 six digits; towns: 9 or 12 digits
    name                       VARCHAR NOT NULL,
    level                      VARCHAR NOT NULL,      -- province | city | county | town
    parent_adcode              VARCHAR,
    city_adcode                VARCHAR,
    county_kind                VARCHAR,               -- district | county_city | county
    mountain26                 BOOLEAN NOT NULL DEFAULT false,
    mountain_category          VARCHAR,               -- leapfrog 跨越发展类 | ecological 生态发展类
    mountain_category_verified BOOLEAN,               -- false until the 15/11 split is sourced
    mountain_island_2023       BOOLEAN NOT NULL DEFAULT false,
    mountain_island_2025       BOOLEAN NOT NULL DEFAULT false,
    population                 BIGINT,                -- 2020 census (modelled for 5 Hangzhou districts)
    mfg_share                  DOUBLE,                -- manufacturing share of the employed, 2020 census
    population_modelled        BOOLEAN NOT NULL DEFAULT false,
    dataset_id                 VARCHAR                -- NULL for packaged reference rows
);
COMMENT ON TABLE regions IS '行政区划: province, cities, counties (+ towns when imported)';

CREATE TABLE industries (
    code        VARCHAR PRIMARY KEY,                  -- GB/T 4754-2017: 2-, 3- or 4-digit
    name        VARCHAR NOT NULL,
    level       VARCHAR NOT NULL,                     -- division 大类 | group 中类 | class 小类
    parent_code VARCHAR NOT NULL
);
COMMENT ON TABLE industries IS '国民经济行业分类 GB/T 4754-2017, section C (manufacturing)';

-- Where rows came from: one row per synthetic build or import file.
CREATE TABLE datasets (
    dataset_id   VARCHAR PRIMARY KEY,                 -- e.g. synth-s1-seed7 or import-<sha256 prefix>
    kind         VARCHAR NOT NULL,                    -- synthetic | import | reference
    description  VARCHAR,
    params       JSON,                                -- seed, scale, years / file, sheet, encoding
    fingerprint  VARCHAR,                             -- sha256 of the parameters or of the file
    code_version VARCHAR
);
COMMENT ON TABLE datasets IS '数据来源: each synthetic build or imported file';

CREATE TABLE zones (
    zone_id          VARCHAR PRIMARY KEY,
    name             VARCHAR NOT NULL,
    level            VARCHAR NOT NULL,                -- national | provincial | other
    kind             VARCHAR NOT NULL,                -- economic_development | high_tech | industrial_park | other
    county_adcode    VARCHAR NOT NULL,                -- the county that runs it
    planned_area_mu  DECIMAL(14, 4),
    established_year INTEGER,
    dataset_id       VARCHAR
);
COMMENT ON TABLE zones IS '开发区 / 产业平台';

CREATE TABLE zone_counties (
    zone_id VARCHAR NOT NULL,
    adcode  VARCHAR NOT NULL,
    PRIMARY KEY (zone_id, adcode)
);

CREATE TABLE enterprises (
    uscc          VARCHAR PRIMARY KEY,                -- 统一社会信用代码, GB 32100-2015
    name          VARCHAR NOT NULL,
    county_adcode VARCHAR NOT NULL,
    town_adcode   VARCHAR,
    town_name     VARCHAR,
    industry_code VARCHAR NOT NULL,                   -- 4-digit GB/T 4754-2017 class
    zone_id       VARCHAR,
    founded_on    DATE,
    closed_on     DATE,
    status        VARCHAR NOT NULL DEFAULT 'active',  -- active | closed | moved_out
    dataset_id    VARCHAR
);
COMMENT ON TABLE enterprises IS '工业企业名录';

CREATE TABLE enterprise_years (
    uscc                  VARCHAR NOT NULL,
    year                  INTEGER NOT NULL,
    above_scale           BOOLEAN NOT NULL,           -- 规上: main-business revenue >= 2000 万元
    revenue               DECIMAL(18, 4),             -- 营业收入, 万元
    main_revenue          DECIMAL(18, 4),             -- 主营业务收入, 万元
    output_value          DECIMAL(18, 4),             -- 工业总产值, 万元
    value_added           DECIMAL(18, 4),             -- 工业增加值, 万元
    profit                DECIMAL(18, 4),             -- 利润总额, 万元
    tax_paid              DECIMAL(18, 4),             -- 实缴税金, 万元
    headcount             INTEGER,                    -- 年平均职工人数
    land_own_mu           DECIMAL(14, 4),             -- 自有用地, 亩
    land_leased_mu        DECIMAL(14, 4),             -- 租用, 亩
    land_leased_out_mu    DECIMAL(14, 4),             -- 出租, 亩
    energy_tce            DOUBLE,                     -- 综合能耗, 吨标准煤
    emission_t            DOUBLE,                     -- 主要污染物排放当量, 吨
    rd_spending           DECIMAL(18, 4),             -- 研发经费, 万元
    electricity_kwh       DOUBLE,                     -- 用电量, kWh
    confirmed             BOOLEAN NOT NULL DEFAULT false, -- 企业确认 / 部门核实
    dataset_id            VARCHAR,
    PRIMARY KEY (uscc, year)
);
COMMENT ON TABLE enterprise_years IS '企业年度指标 (亩均评价数据)';

-- Status flags that change over time (high-tech, 专精特新, violations, ...).
CREATE TABLE enterprise_flags (
    uscc       VARCHAR NOT NULL,
    flag       VARCHAR NOT NULL,                      -- high_tech | specialised | little_giant | rd_institution | safety_violation | environmental_violation | ...
    valid_from DATE NOT NULL,
    valid_to   DATE,
    detail     VARCHAR,
    dataset_id VARCHAR,
    PRIMARY KEY (uscc, flag, valid_from)
);
COMMENT ON TABLE enterprise_flags IS '企业资质与违法记录';

CREATE TABLE electricity_monthly (  -- unique (uscc, month) is kept by the loaders: an ART index on tens of millions of rows costs more than it guards
    uscc       VARCHAR NOT NULL,
    month      DATE NOT NULL,                         -- first day of the month
    kwh        DOUBLE,
    water_t    DOUBLE,
    gas_m3     DOUBLE,
    dataset_id VARCHAR
);
COMMENT ON TABLE electricity_monthly IS '企业月度用电 (及用水、用气)';

CREATE TABLE land_parcels (
    parcel_id       VARCHAR PRIMARY KEY,
    county_adcode   VARCHAR NOT NULL,
    zone_id         VARCHAR,
    area_mu         DECIMAL(14, 4) NOT NULL,
    land_use_status VARCHAR NOT NULL,  -- in_use | approved_not_supplied 批而未供 | supplied_not_used 供而未用 | underused 用而未尽 | built_not_operating 建而未投 | operating_below_standard 投而未达标
    holder_uscc     VARCHAR,
    supplied_on     DATE,
    dataset_id      VARCHAR
);
COMMENT ON TABLE land_parcels IS '工业用地宗地, with inefficient-land status';

-- Ground truth of what the synthetic province injected, so detectors can be scored.
CREATE TABLE synth_ground_truth (
    truth_id    INTEGER PRIMARY KEY,
    category    VARCHAR NOT NULL,                     -- electricity_anomaly | data_defect
    kind        VARCHAR NOT NULL,                     -- collapse | decline | spike | outlier_x10 | duplicate_name | missing_energy | ...
    uscc        VARCHAR,
    year        INTEGER,
    start_month DATE,
    end_month   DATE,
    magnitude   DOUBLE,
    detail      VARCHAR
);
COMMENT ON TABLE synth_ground_truth IS '合成数据注入的异常与缺陷 (detector scoring)';
