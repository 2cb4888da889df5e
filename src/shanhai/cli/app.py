"""The ``shanhai`` command: groups are registered here, errors become one line on stderr."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from shanhai import __version__
from shanhai.cli import alerts as _alerts
from shanhai.cli import audit as _audit
from shanhai.cli import carbon as _carbon
from shanhai.cli import carbon_ledger as _carbon_ledger
from shanhai.cli import chains as _chains
from shanhai.cli import coop as _coop
from shanhai.cli import cultivate as _cultivate
from shanhai.cli import db as _db
from shanhai.cli import demo as _demo
from shanhai.cli import evaluate as _evaluate
from shanhai.cli import ingest as _ingest
from shanhai.cli import mujun as _mujun
from shanhai.cli import opportunities as _opportunities
from shanhai.cli import parquet as _parquet
from shanhai.cli import policy as _policy
from shanhai.cli import power_index as _power_index
from shanhai.cli import report as _report
from shanhai.cli import serve as _serve
from shanhai.cli import service as _service
from shanhai.cli import service_desk as _service_desk
from shanhai.cli import synth as _synth
from shanhai.cli import targets as _targets
from shanhai.cli import template as _template
from shanhai.cli import users as _users
from shanhai.cli import zones as _zones
from shanhai.errors import ShanhaiError

HELP = """山海 Shanhai — 产业大脑: 亩均评价、产业链、山海协作、监测预警。

An open industry brain for regional manufacturing governance in Zhejiang. Start with
`shanhai demo`; build a synthetic province with `shanhai synth`; manage the database with
`shanhai db`. Every command takes --db (or $SHANHAI_DB); analysis commands take --json.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shanhai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="显示版本 Show the version and exit."),
) -> None:
    """山海 Shanhai."""


app.command("demo")(_demo.demo)
app.command("synth")(_synth.synth)
app.command("import")(_ingest.import_)
app.command("template")(_template.template)
app.add_typer(_evaluate.app, name="evaluate")
app.command("explain")(_evaluate.explain)
app.add_typer(_mujun.app, name="mujun")
app.add_typer(_policy.app, name="policy")
app.add_typer(_db.app, name="db")
app.add_typer(_audit.app, name="audit")
_db.app.command("export-parquet")(_parquet.export_parquet)
app.add_typer(_report.app, name="report")
app.add_typer(_users.app, name="users")
app.add_typer(_chains.app, name="chains")
app.command("opportunities")(_opportunities.opportunities)
app.add_typer(_coop.app, name="coop")
app.add_typer(_alerts.app, name="alerts")
app.add_typer(_power_index.app, name="index")
app.add_typer(_zones.app, name="zones")
app.add_typer(_service.app, name="service")
_service.app.add_typer(_service_desk.requests_app, name="requests")
_service.app.add_typer(_service_desk.lists_app, name="lists")
_service.app.add_typer(_service_desk.pipeline_app, name="pipeline")
app.add_typer(_targets.app, name="targets")
app.add_typer(_cultivate.app, name="cultivate")
app.add_typer(_carbon.app, name="carbon")
_carbon.app.add_typer(_carbon_ledger.app, name="ledger")
app.command("serve")(_serve.serve)


def main() -> None:
    """Entry point: a user error is one clear line on stderr and exit code 2, never a traceback."""
    try:
        app(standalone_mode=True)
    except ShanhaiError as exc:
        typer.echo(f"错误 error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("中断 interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for SHANHAI_DEBUG
        if os.environ.get("SHANHAI_DEBUG"):
            traceback.print_exc()
        typer.echo(f"内部错误 internal error: {type(exc).__name__}: {exc} "
                   "(set SHANHAI_DEBUG=1 for the traceback and report it)", err=True)
        sys.exit(1)
