"""``shanhai coop …``: mountain–sea cooperation (山海协作) — the 26 mountain counties' profiles,
firm–county pairing plans, investment leads and their transfer, the project tracker, the credit
and sharing ledger, and enclaves. Each command lives in its capability's module; this file only
groups them."""

from __future__ import annotations

import typer

from shanhai.cli import coop_pairing, coop_profile, coop_projects

HELP = ("山海协作 Mountain–sea cooperation: the 26 mountain counties, pairing, leads, projects, ledger, enclaves.\n\n"
        "`coop counties` lists the 26 with their headline figures against the category targets; "
        "`coop profile --region ADCODE` one county in full; `coop targets` the action plan's progress; "
        "`coop pair` plans firm–county pairs (一企一县) optimally and stores the plan, `coop plan` shows one; "
        "`coop leads`, `coop rank-lead`, `coop transfer` route investment leads with first-contact credit; "
        "`coop projects` and `coop stalled` follow the project lifecycle with lights; `coop ledger` the credit, "
        "dual counting and output sharing; `coop enclaves` the 飞地 and their returns.")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich")
app.command("counties")(coop_profile.counties)
app.command("profile")(coop_profile.profile)
app.command("targets")(coop_profile.targets)
app.command("enclaves")(coop_profile.enclaves)
app.command("pair")(coop_pairing.pair)
app.command("plan")(coop_pairing.plan)
app.command("projects")(coop_projects.projects)
app.command("stalled")(coop_projects.stalled)
app.command("leads")(coop_projects.leads)
app.command("rank-lead")(coop_projects.rank_lead)
app.command("transfer")(coop_projects.transfer)
app.command("ledger")(coop_projects.ledger)
