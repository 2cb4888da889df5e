-- 用电户号: State Grid exports electricity per meter account (户号), often without a USCC, and one
-- enterprise may hold several accounts (monitoring_methods.md §2.4: merge an enterprise's 户号
-- before any firm-level rule). The register says which firm holds an account and from which month
-- to which (valid_to NULL: still open); it holds the account's current holder only, so an account
-- moved to another firm is re-registered with the new firm and its new valid_from.
CREATE TABLE electricity_accounts (
    account_no   VARCHAR PRIMARY KEY,          -- 用电户号
    uscc         VARCHAR NOT NULL,             -- the firm holding it (in the enterprise register)
    account_name VARCHAR,                      -- 户名 as the grid writes it
    valid_from   DATE,                         -- first month counted (first day of the month); NULL: always
    valid_to     DATE,                         -- last month counted; NULL: still open
    dataset_id   VARCHAR
);
COMMENT ON TABLE electricity_accounts IS '用电户号登记 (meter account -> firm, with its months of validity)';

-- One account's month, as imported (kind electricity-by-account). After each such import the
-- importer recomputes electricity_monthly.kwh of every (firm, month) it touched as the sum over the
-- firm's accounts valid that month (ingest/importer.py, _merge_accounts).
CREATE TABLE electricity_account_monthly (  -- unique (account_no, month) is kept by the loaders, as electricity_monthly's (uscc, month) (0001)
    account_no VARCHAR NOT NULL,
    month      DATE NOT NULL,                 -- first day of the month
    kwh        DOUBLE,                        -- kWh
    dataset_id VARCHAR
);
COMMENT ON TABLE electricity_account_monthly IS '户号月度用电 (per meter account; summed into electricity_monthly)';

-- A region-scoped import of account months finds an account's county through its firm.
CREATE VIEW electricity_account_counties AS
    SELECT a.account_no, e.county_adcode
    FROM electricity_accounts a JOIN enterprises e ON e.uscc = a.uscc;
