"""The web dashboard: ``create_app(db_path)`` (FastAPI), router plugins in ``shanhai.web.routers``.

Nothing here is imported by the layers below; the CLI imports it only for ``shanhai serve``.
"""
