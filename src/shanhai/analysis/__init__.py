"""Analysis: one module per capability, pure (Ibis tables in, tables or dataclasses out).

Modules here never import ``web``, ``cli`` or ``reports``, and never open the database: they
receive an Ibis backend from ``shanhai.engine``.
"""
