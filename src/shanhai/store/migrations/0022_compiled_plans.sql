-- Compiled per-mu plans (jobs.mujun): the DuckDB statements of a run, recorded by the first run
-- with a given key and replayed by later runs with the same key, in any process, without
-- building or compiling the Ibis expressions (about a second per run, whatever the number of
-- firms). The key covers what shapes the SQL: the preset's fingerprint, the year, the region, the
-- benchmark mode, whether a previous run exists and in which table, the columns of every table a
-- run reads or writes, and the code itself (code_fingerprint: a hash of every source file of the
-- shanhai package with the DuckDB and Ibis versions), so a plan never outlives the code that
-- wrote it. Plans of another code fingerprint are deleted when a new plan is saved.
CREATE TABLE compiled_plans (
    plan_key         VARCHAR NOT NULL PRIMARY KEY,
    kind             VARCHAR NOT NULL,          -- 'mujun'
    code_fingerprint VARCHAR NOT NULL,
    plan             JSON NOT NULL,             -- {"run_id", "prev_id", "steps": [[op, name, sql, extra], ...]}
    created_at       TIMESTAMP NOT NULL
);
COMMENT ON TABLE compiled_plans IS '已编译评价计划 (per-mu runs'' recorded statements, replayed by later runs with the same key and code)';
