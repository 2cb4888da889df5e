-- 腾笼换鸟 ledger: remediation register and quota allocations (issue 11).

-- The register: each action's county, status and dates, the year its freed quota is credited to,
-- the ledger basis and preset rule set it was computed with, where it came from and who acted.
ALTER TABLE remediation_actions ADD COLUMN county_adcode VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN status VARCHAR DEFAULT 'planned';   -- planned | in_progress | done | cancelled
ALTER TABLE remediation_actions ADD COLUMN planned_on DATE;
ALTER TABLE remediation_actions ADD COLUMN done_on DATE;
ALTER TABLE remediation_actions ADD COLUMN credit_year INTEGER;                -- year the freed quota is credited to (done_on's year)
ALTER TABLE remediation_actions ADD COLUMN figures_year INTEGER;               -- enterprise_years year the freed amounts were read from
ALTER TABLE remediation_actions ADD COLUMN basis VARCHAR;                      -- equivalent_calorific (当量值) | equivalent_coal (等价值)
ALTER TABLE remediation_actions ADD COLUMN rule_set VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN rule_version VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN measured BOOLEAN DEFAULT false;     -- freed amounts given (audited), not by the rule
ALTER TABLE remediation_actions ADD COLUMN source VARCHAR;                     -- mujun | manual | import
ALTER TABLE remediation_actions ADD COLUMN source_run_id VARCHAR;              -- the per-mu run a seeded action came from
ALTER TABLE remediation_actions ADD COLUMN mujun_class VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN note VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN created_by VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN created_at TIMESTAMP;
ALTER TABLE remediation_actions ADD COLUMN updated_by VARCHAR;
ALTER TABLE remediation_actions ADD COLUMN updated_at TIMESTAMP;

-- Allocations: one row per project and quota kind (land 亩, energy tce on the ledger basis, carbon
-- t CO2) drawn from the landing county's balance, with the project's intensity and the check.
ALTER TABLE quota_allocations ADD COLUMN county_adcode VARCHAR;
ALTER TABLE quota_allocations ADD COLUMN credit_year INTEGER;
ALTER TABLE quota_allocations ADD COLUMN basis VARCHAR;
ALTER TABLE quota_allocations ADD COLUMN project_energy_tce DOUBLE;
ALTER TABLE quota_allocations ADD COLUMN project_value_added DECIMAL(18, 4);   -- 万元
ALTER TABLE quota_allocations ADD COLUMN project_intensity DOUBLE;             -- tce / 万元
ALTER TABLE quota_allocations ADD COLUMN threshold DOUBLE;                     -- the new-project threshold of allocated_on
ALTER TABLE quota_allocations ADD COLUMN threshold_inclusive BOOLEAN;
ALTER TABLE quota_allocations ADD COLUMN check_result VARCHAR;                 -- the sentence of the passed check
ALTER TABLE quota_allocations ADD COLUMN rule_set VARCHAR;
ALTER TABLE quota_allocations ADD COLUMN rule_version VARCHAR;
ALTER TABLE quota_allocations ADD COLUMN created_by VARCHAR;
ALTER TABLE quota_allocations ADD COLUMN created_at TIMESTAMP;
ALTER TABLE quota_allocations ADD COLUMN note VARCHAR;
