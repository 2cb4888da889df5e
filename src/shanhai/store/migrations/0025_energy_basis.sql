-- enterprise_years.energy_tce did not say how its electricity was converted: as imported it is the
-- firm's reported 综合能耗, taken as 当量值 (electricity at 0.1229 kgce/kWh), but `shanhai carbon
-- sync-energy` overwrites it with 等价值 by default (electricity at the year's coal coefficient). The
-- 腾笼换鸟 ledger, which values electricity itself on its own basis, then counted the electricity
-- uplift twice on a 等价值 ledger and, in CO2, as burnt coal on any ledger. The sync now says which
-- basis it wrote and keeps the same year's 当量值 beside it; an import that changes energy_tce
-- clears both (ingest/kinds/enterprise-years.toml `resets`), so the figure is again "as imported".
ALTER TABLE enterprise_years ADD COLUMN energy_basis VARCHAR;          -- NULL: as imported (当量值); equivalent_calorific | equivalent_coal when written by carbon sync-energy
ALTER TABLE enterprise_years ADD COLUMN energy_tce_calorific DOUBLE;   -- the same year's 当量值 (tce) written by carbon sync-energy beside energy_tce
