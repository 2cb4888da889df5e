-- 能源消费与碳效码 energy by carrier, conversions and carbon-efficiency grades (issue 11).

-- Measured factors on the energy row override the factor set's fuel defaults: tce and t CO2 per
-- unit of the row's own unit (from a measured calorific value and carbon content).
ALTER TABLE energy_use ADD COLUMN measured_tce_per_unit DOUBLE;
ALTER TABLE energy_use ADD COLUMN measured_co2_per_unit DOUBLE;

CREATE TABLE carbon_grades (
    run_id              VARCHAR NOT NULL,
    uscc                VARCHAR NOT NULL,
    year                INTEGER NOT NULL,
    county_adcode       VARCHAR NOT NULL,
    industry            VARCHAR NOT NULL,           -- GB/T 4754 division or class, per the preset
    industry_region     VARCHAR,                    -- where the industry average was taken
    value_added         DOUBLE,                     -- 万元
    tce_equivalent      DOUBLE,                     -- 当量值 tce
    tce_equal           DOUBLE,                     -- 等价值 tce
    co2_t               DOUBLE,                     -- t CO2 (net of the zero-carbon deduction when on)
    zero_carbon_kwh     DOUBLE,
    grid_year           INTEGER,                    -- the grid factor's data year used
    equal_year          INTEGER,                    -- the 等价值 coefficient's year used
    intensity           DOUBLE,                     -- L, t CO2 / 万元
    energy_intensity    DOUBLE,                     -- tce 等价值 / 万元
    level               VARCHAR,                    -- low | medium | high
    industry_firms      INTEGER,
    industry_intensity  DOUBLE,
    k                   DOUBLE,
    grade               INTEGER,                    -- 1..5, NULL with a flag
    flag                VARCHAR,                    -- va_not_positive | no_value_added | thin_industry | zero_industry
    PRIMARY KEY (run_id, uscc, year)
);
COMMENT ON TABLE carbon_grades IS '工业碳效码: one row per firm and year of a carbon run';

CREATE TABLE carbon_industries (
    run_id        VARCHAR NOT NULL,
    year          INTEGER NOT NULL,
    industry      VARCHAR NOT NULL,
    adcode        VARCHAR NOT NULL,
    region_level  VARCHAR NOT NULL,                 -- province | city | county
    firms         INTEGER NOT NULL,
    co2_t         DOUBLE,
    value_added   DOUBLE,
    tce_equal     DOUBLE,
    intensity     DOUBLE,                           -- Σ CO2 / Σ VA
    low_carbon    BOOLEAN,                          -- intensity ≤ the preset's line
    PRIMARY KEY (run_id, year, industry, adcode)
);
COMMENT ON TABLE carbon_industries IS '低碳产业: industry intensity by region and year of a carbon run';
