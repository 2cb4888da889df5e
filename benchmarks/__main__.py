"""``python -m benchmarks``: run the suite, print Rich tables, write benchmarks/RESULTS.md.

Exit code 0 when every workload ran (missed targets included: benchmarks report, they do not
gate); 1 when a workload's child process failed; 2 for bad options.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from benchmarks import QUICK_SCALES, SYNTH_LADDER
from benchmarks.measure import (CONTENTION_METHOD, RSS_METHOD, WALL_METHOD, Ladder, parse_sizes, size_arg,
                                use_private_pycache)
from benchmarks.report import (GROWTH_COLUMNS, MAIN_COLUMNS, detail_columns, detail_row, failures, fit_text, growth_fit,
                               growth_rows, growth_section, bytecode_note, contention, machine, main_row, markdown,
                               misses, phase_rows, rich_table, synth_growth_points)
from benchmarks import alerts as _alerts, carbon as _carbon, chains as _chains, ingest as _ingest, mujun as _mujun
from benchmarks import pairing as _pairing, relatedness as _relatedness, service_match as _service_match
from benchmarks.chains import COLUMNS as CHAINS_COLUMNS, chains_cases, markdown_section as chains_section
from benchmarks.chains import misses as chains_misses, rows as chains_rows
from benchmarks.ingest import IMPORT_COLUMNS, PHASE_COLUMNS, import_cases, import_rows, markdown_section
from benchmarks.ingest import phase_rows as import_phase_rows
from benchmarks.mujun import markdown_section as mujun_section, mujun_cases, print_tables as mujun_tables
from benchmarks.pairing import markdown_section as pairing_section, pairing_cases, print_tables as pairing_tables
from benchmarks.alerts import alerts_cases, markdown_section as alerts_section, print_tables as alerts_tables
from benchmarks.carbon import carbon_cases, markdown_section as carbon_section, print_tables as carbon_tables
from benchmarks.service_match import (markdown_section as service_match_section, print_tables as service_match_tables,
                                      service_match_cases)
from benchmarks.relatedness import (markdown_section as relatedness_section, print_tables as relatedness_tables,
                                    relatedness_cases)
from benchmarks.report import md_table
from benchmarks.web import failures as web_failures, markdown_section as web_section, misses as web_misses
from benchmarks.web import COLUMNS as WEB_COLUMNS, rows as web_rows, web_cases
from benchmarks import load as _load
from benchmarks.workloads import Case, demo_cases, python_startup, synth_case, warm_up

DEFAULT_OUT = Path(__file__).resolve().with_name("RESULTS.md")
WORKLOADS = ("synth", "demo", "import", "mujun", "web", "relatedness", "chains", "pairing", "alerts", "carbon",
             "service_match", "encryption", "load")


def ladders() -> dict[str, Ladder]:
    """The size ladder of every workload that has one (each declared in its own module). demo, web, load
    and encryption run at one size: they measure a fixed demo, latency under a fixed load, and a ratio."""
    return {"synth": SYNTH_LADDER, "import": _ingest.ladder(), "mujun": _mujun.LADDER,
            "relatedness": _relatedness.LADDER, "chains": _chains.LADDER, "pairing": _pairing.LADDER,
            "alerts": _alerts.LADDER, "carbon": _carbon.LADDER, "service_match": _service_match.LADDER}


def growth_points(cases: list) -> list:
    """Every workload's points for the growth table (benchmarks.report.growth_rows fits them)."""
    return (synth_growth_points(cases) + _ingest.growth_points(cases) + _mujun.growth_points(cases)
            + _relatedness.growth_points(cases) + _chains.growth_points(cases) + _pairing.growth_points(cases)
            + _alerts.growth_points(cases) + _carbon.growth_points(cases) + _service_match.growth_points(cases))


def ladder_lines(quick: bool = False) -> list[str]:
    """The ladders as text (``--ladders``): workload, unit, full and quick sizes, target size, why."""
    out = []
    for name, ladder in ladders().items():
        fmt = (lambda xs: ", ".join(f"{x:,}" if float(x).is_integer() and x >= 1 else f"{x:g}" for x in xs))
        out.append(f"{name}: {ladder.unit} — full {fmt(ladder.full)}; --quick {fmt(ladder.quick)}; target at "
                   f"{fmt([ladder.target]) if ladder.target is not None else '—'}"
                   + (f" ({ladder.note})" if ladder.note else ""))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Shanhai benchmarks, each workload at every size of its ladder (--ladders) with the time's "
                    "growth exponent fitted per engine: synth at several scales, `shanhai demo` cold/warm, the import "
                    "of enterprise-years files of 10,000 to 1,000,000 rows (beside pandas), the per-mu evaluation of "
                    "10,000 to 1,000,000 firms (beside pandas), economic complexity (beside ecomplexity), the panoramas "
                    "of ten chains × 90 counties, the 1+N pairing plan (beside PuLP), the early-warning scan of up to "
                    "50,000,000 monthly electricity rows, carbon grading and support-policy matching (beside pandas), "
                    "the web dashboard under 50 concurrent clients (wrk) and 100 clients during an import, each in a "
                    "fresh subprocess. Writes a markdown report (default benchmarks/RESULTS.md).")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: the two smallest sizes of every ladder (synth at scales "
                             f"{', '.join(f'{s:g}' for s in QUICK_SCALES)}; a target row only where one of them is the "
                             "target's size: import XLSX, relatedness, pairing), "
                             "plus demo, and the web pages at scale 0.1 for 10 s")
    parser.add_argument("--only", choices=WORKLOADS, help="run one workload only")
    parser.add_argument("--sizes", metavar="LIST",
                        help="with --only: run the workload at these sizes instead of its ladder, e.g. "
                             "--sizes 10000,100000 or 10k,1M (synth and chains: scales, e.g. 0.1,1); "
                             "--ladders lists every workload's sizes and unit")
    parser.add_argument("--ladders", action="store_true",
                        help="print every workload's size ladder (unit, full, --quick, target size) and exit")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per case; figures are medians (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="PATH",
                        help="markdown report to (over)write (default benchmarks/RESULTS.md)")
    parser.add_argument("--pycache", action="store_true",
                        help="let children cache bytecode in a private temporary folder (PYTHONPYCACHEPREFIX), "
                             "as on a normal installation, even if PYTHONDONTWRITEBYTECODE is set")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S",
                        help="kill a child that runs longer than this many seconds (default 900)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.sizes is not None:
        if args.only is None:
            parser.error("--sizes needs --only NAME: every workload counts its size in its own unit (see --ladders)")
        if args.only not in ladders():
            parser.error(f"--sizes: {args.only} runs at one size (it has no ladder; see --ladders)")
        try:
            args.sizes = parse_sizes(args.sizes)
        except ValueError as exc:
            parser.error(f"--sizes: {exc}")
        problem = ladders()[args.only].problem(args.sizes)
        if problem:
            parser.error(f"--sizes for {args.only}: {problem}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.pycache:
        return run(args)
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-pycache-") as folder:
        use_private_pycache(Path(folder))
        try:
            return run(args)
        finally:
            use_private_pycache(None)


def run(args: argparse.Namespace) -> int:
    if args.ladders:
        for line in ladder_lines():
            print(line)
        return 0
    if args.only == "encryption":   # plain vs SHANHAI_DB_KEY store, its own table (benchmarks/encryption.py)
        from benchmarks.encryption import main as encryption_main
        return encryption_main(["--repeat", str(max(args.repeat, 1))] + (["--rows", "400000"] if args.quick else []))
    started = time.monotonic()
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    log = console.print
    scales = SYNTH_LADDER.sizes(args.quick, args.sizes if args.only == "synth" else None)
    sizes = args.sizes
    mode = (("quick" if args.quick else "full") + (f", only {args.only}" if args.only else "")
            + (f", sizes {','.join(size_arg(s) for s in sizes)}" if sizes else "")
            + (", --pycache" if args.pycache else ""))
    info = machine()
    info["bytecode"] = bytecode_note(args.pycache)
    info["mode"] = f"{mode}, repeat {args.repeat}"
    console.print(f"[bold]Shanhai benchmarks[/bold] ({mode}, repeat {args.repeat}) — {info['date']}, "
                  f"commit {info['commit']}, {info['cpus']}")
    console.print(f"[dim]{WALL_METHOD}.\n{RSS_METHOD}.\n{CONTENTION_METHOD}.[/dim]")

    if "PYTHONDONTWRITEBYTECODE" in info["bytecode"]:
        console.print(f"[yellow]note:[/yellow] bytecode {info['bytecode']}")
    problem = warm_up(args.timeout)
    if problem:
        console.print("[bold red]warning[/bold red]")
        console.print(problem, markup=False, highlight=False)
    startup = python_startup(args.repeat, args.timeout)
    cases: list[Case] = []
    if args.only in (None, "synth"):
        for scale in scales:
            cases.append(synth_case(scale, args.repeat, args.timeout, log))
    if args.only in (None, "demo"):
        cases += demo_cases(args.repeat, args.timeout, log)
    if args.only in (None, "import"):
        cases += import_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "mujun"):
        cases += mujun_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "relatedness"):    # target: ≥ 10× faster than ecomplexity (benchmarks/relatedness.py)
        cases += relatedness_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "chains"):        # target: 10 chains × 90 counties under 2 s (benchmarks/chains.py)
        cases += chains_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "pairing"):       # target: 26 counties × 5,000 firms planned under 3 s (benchmarks/pairing.py)
        cases += pairing_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "alerts"):        # target: 50,000,000 monthly rows scanned under 15 s, 2 GB (benchmarks/alerts.py)
        cases += alerts_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "carbon"):        # target: 1,000,000 firm-years × 6 carriers graded under 2 s (benchmarks/carbon.py)
        cases += carbon_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    if args.only in (None, "service_match"):  # target: 100 items × 158,000 firms matched under 2 s (benchmarks/service_match.py)
        cases += service_match_cases(args.repeat, args.timeout, log, quick=args.quick, sizes=sizes)
    webs = web_cases(args.timeout, log, quick=args.quick) if args.only in (None, "web") else []
    loads = _load.load_cases(args.timeout, log, quick=args.quick) if args.only in (None, "load") else []
    fit = growth_fit(cases)
    points = growth_points(cases)
    info["contention"] = contention(cases)

    console.print()
    for workload in ("synth", "demo"):
        chosen = [c for c in cases if c.workload == workload]
        if not chosen:
            continue
        console.print(rich_table(f"{workload} — median of {args.repeat}", MAIN_COLUMNS,
                                 [main_row(c) for c in chosen]))
        if workload == "synth":
            console.print(fit_text(fit))
        console.print(rich_table(f"{workload} details", detail_columns(workload),
                                 [detail_row(c) for c in chosen]))
        done = [c for c in chosen if c.ok and c.workload == "synth"]
        if done:
            largest = max(done, key=lambda c: c.scale)
            console.print(rich_table(f"synth phases at {largest.size}",
                                     ("phase", "s", "share of build", "peak RSS MB"), phase_rows(largest)))

    imports = [c for c in cases if c.workload == "import"]
    if imports:
        console.print(rich_table(f"import — median of {args.repeat}", IMPORT_COLUMNS, import_rows(imports)))
        console.print(rich_table("import phases", PHASE_COLUMNS, import_phase_rows(_ingest.phase_cases(imports))))
    mujun_tables(console, cases, args.repeat, rich_table)
    relatedness_tables(console, cases, args.repeat, rich_table)
    if chains_rows(cases):
        console.print(rich_table(f"chains — median of {args.repeat}", CHAINS_COLUMNS, chains_rows(cases)))
    pairing_tables(console, cases, args.repeat, rich_table)
    alerts_tables(console, cases, args.repeat, rich_table)
    carbon_tables(console, cases, args.repeat, rich_table)
    service_match_tables(console, cases, args.repeat, rich_table)

    if points:
        console.print(rich_table("growth — time ∝ size^exponent", GROWTH_COLUMNS, growth_rows(points, args.repeat)))
    if webs:
        console.print(rich_table("web — p95 latency under load", WEB_COLUMNS, web_rows(webs)))
    if loads:
        console.print(rich_table("load — 100 clients while importing", _load.COLUMNS, _load.rows(loads)))
    missed = (misses(cases) + chains_misses(cases) + ([] if args.quick else web_misses(webs))
              + ([] if args.quick else _load.misses(loads)))
    for line in missed:
        console.print(f"[bold yellow]TARGET MISSED[/bold yellow] {line}")
    failed = failures(cases) + [(line, None) for line in web_failures(webs) + _load.failures(loads)]
    for title, tail in failed:
        console.print(f"[bold red]FAILED[/bold red] {title}")
        if tail:
            console.print(tail, markup=False, highlight=False)
    if not failed and not missed and (any(c.target_s for c in cases) or webs):
        console.print("[green]all targets met[/green]")
    console.print(f"contention: {info['contention']}")
    elapsed = time.monotonic() - started
    console.print(f"the suite ran for {elapsed / 60:.1f} min")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    sections = growth_section(points, md_table, args.repeat)
    sections += markdown_section(imports, md_table) if imports else []
    sections += mujun_section(cases, md_table, info)
    sections += relatedness_section(cases, md_table, info)
    sections += chains_section(cases, md_table)
    sections += pairing_section(cases, md_table)
    sections += alerts_section(cases, md_table)
    sections += carbon_section(cases, md_table)
    sections += service_match_section(cases, md_table)
    sections += web_section(webs, md_table)
    sections += _load.markdown_section(loads, md_table)
    args.out.write_text(markdown(cases, info, fit, mode=mode, repeat=args.repeat, startup_s=startup,
                                 sections=sections, elapsed_s=elapsed), encoding="utf-8")
    console.print(f"report written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
