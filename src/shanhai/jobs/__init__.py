"""Jobs: a capability run against the store — evaluate, store the run, read results back.

The CLI, the web and the reports call these; the logic stays in ``analysis`` (pure Ibis) and
the storage in ``store``. A job owns one transaction per run.
"""
