"""The benchmark suite's size ladders, ``--sizes`` parsing and the growth fit (``benchmarks/``).

Nothing here times anything: the suite reports timings, tests only check its arithmetic and its
options. The fit is checked on synthetic points whose exponent is known.
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:      # `benchmarks` is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import SYNTH_LADDER  # noqa: E402
from benchmarks.__main__ import ladder_lines, ladders, parse_args  # noqa: E402
from benchmarks.measure import ChildRun, GrowthPoint, Ladder, fit_growth, parse_sizes, reproduce  # noqa: E402
from benchmarks.report import growth_fit, growth_rows, growth_section, md_table  # noqa: E402
from benchmarks.workloads import Case  # noqa: E402

# ---------------------------------------------------------------------------- the fit


def test_fit_recovers_a_known_exponent_exactly():
    sizes = [10_000, 100_000, 1_000_000]
    fit = fit_growth(sizes, [3e-5 * s ** 1.5 for s in sizes])
    assert fit is not None and fit.points == 3
    assert fit.exponent == pytest.approx(1.5, abs=1e-9)
    assert fit.predict(50_000) == pytest.approx(3e-5 * 50_000 ** 1.5, rel=1e-9)


def test_fit_of_linear_and_constant_time():
    sizes = [500, 5_000, 50_000]
    assert fit_growth(sizes, [2e-4 * s for s in sizes]).exponent == pytest.approx(1.0, abs=1e-9)
    assert fit_growth(sizes, [0.7, 0.7, 0.7]).exponent == pytest.approx(0.0, abs=1e-9)


def test_fit_is_least_squares_over_noisy_points():
    # log t = 0.5 + 1.2 log s + e with residuals +0.1, -0.2, +0.1 (sum 0, orthogonal to the centred log s)
    sizes = [1e4, 1e5, 1e6]
    noise = [0.1, -0.2, 0.1]
    fit = fit_growth(sizes, [math.exp(0.5 + 1.2 * math.log(s) + e) for s, e in zip(sizes, noise)])
    assert fit.exponent == pytest.approx(1.2, abs=1e-9)
    assert fit.intercept == pytest.approx(0.5, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(exponent=st.floats(0.1, 3.0), coefficient=st.floats(1e-7, 1e-1),
       sizes=st.lists(st.integers(10, 10**8), min_size=2, max_size=6, unique=True))
def test_fit_recovers_any_power_law(exponent, coefficient, sizes):
    fit = fit_growth(sizes, [coefficient * s ** exponent for s in sizes])
    assert fit is not None and fit.points == len(sizes)
    assert fit.exponent == pytest.approx(exponent, abs=1e-6)


def test_fit_needs_two_distinct_positive_sizes():
    assert fit_growth([], []) is None
    assert fit_growth([1000], [1.0]) is None
    assert fit_growth([1000, 1000], [1.0, 1.2]) is None
    # missing, zero or negative figures are left out, not fitted as log(0)
    assert fit_growth([1000, 10_000], [1.0, None]) is None
    fit = fit_growth([1000, 10_000, 100_000, 0], [1.0, 10.0, None, 5.0])
    assert fit.points == 2 and fit.exponent == pytest.approx(1.0)


def _synth_case(scale: float, enterprises: int, wall: float, build: float) -> Case:
    case = Case("synth", f"scale {scale:g}", f"scale {scale:g}", scale=scale, n=scale)
    case.runs.append(ChildRun([], 0, wall, 100.0, wall, "", "", others_cpu_s=0.0))
    case.reports.append({"rows": {"enterprises": enterprises}, "build_s": build})
    return case


def test_synth_growth_goes_through_the_shared_fit():
    cases = [_synth_case(s, int(166_000 * s), 0.5 + 40 * s, 38 * s ** 1.1) for s in (0.1, 0.25, 0.5)]
    fit = growth_fit(cases)
    enterprises = [c.enterprises for c in cases]
    assert fit.exponent == pytest.approx(fit_growth(enterprises, [c.wall_s for c in cases]).exponent)
    assert fit.build_exponent == pytest.approx(1.1, abs=1e-9)
    assert set(fit.extrapolated_s) == {1.0}
    assert fit.extrapolated_s[1.0] == pytest.approx(
        fit_growth(enterprises, [c.wall_s for c in cases]).predict(166_000), rel=1e-9)


# ---------------------------------------------------------------------------- the growth table


def test_growth_rows_fit_each_engine_and_name_skipped_sizes():
    points = [GrowthPoint("relatedness", "shanhai", "county × class cells", s, 1e-5 * s, "run s", s, others_cpu_s=0.1)
              for s in (5_472, 54_720, 547_200)]
    points += [GrowthPoint("relatedness", "ecomplexity", "county × class cells", s, 1e-9 * s ** 2, "run s", s)
               for s in (5_472, 54_720)]
    points.append(GrowthPoint("relatedness", "ecomplexity", "county × class cells", 547_200, None, "run s", 547_200,
                              "does not finish within the timeout"))
    rows = {row[1]: row for row in growth_rows(points)}
    assert list(rows) == ["shanhai", "ecomplexity"]
    ours, theirs = rows["shanhai"], rows["ecomplexity"]
    assert ours[3] == "5,472 · 54,720 · 547,200" and ours[6] == "1.00" and ours[7] == "0.1 · 0.1 · 0.1"
    assert theirs[3] == "5,472 · 54,720" and theirs[6] == "2.00"
    assert theirs[8] == "547,200: does not finish within the timeout"
    # the command reproduces every size of the row, the skipped one included
    assert theirs[9] == "python -m benchmarks --only relatedness --sizes 5472,54720,547200"
    one = growth_rows([points[0]])[0]
    assert one[6] == "—"       # one size: no exponent


def test_growth_section_is_markdown_with_commands_in_backticks():
    points = [GrowthPoint("carbon", "shanhai", "firm-years", s, 1e-6 * s, "run s", s) for s in (10_000, 100_000)]
    lines = growth_section(points, md_table, repeat=3)
    assert lines[1] == "## growth"
    assert any("`python -m benchmarks --only carbon --sizes 10000,100000 --repeat 3`" in line for line in lines)
    assert growth_section([], md_table) == []


# ---------------------------------------------------------------------------- sizes and ladders


@pytest.mark.parametrize(("text", "sizes"), [
    ("10000,100000", (10_000, 100_000)),
    ("10k, 1M", (10_000, 1_000_000)),
    ("1_000_000", (1_000_000,)),
    ("50M,5m", (5_000_000, 50_000_000)),
    ("1M,10k,1M", (10_000, 1_000_000)),           # sorted, duplicates dropped
    ("0.25,0.1", (0.1, 0.25)),                     # synth scales
    ("1.0", (1,)),
    ("2.5k", (2_500,)),
])
def test_parse_sizes(text, sizes):
    parsed = parse_sizes(text)
    assert parsed == sizes
    assert [type(s) for s in parsed] == [type(s) for s in sizes]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty size"), ("10k,,1M", "empty size"), ("abc", "'abc' is not a number"), ("10x", "'10x' is not a number"),
    ("0", "positive"), ("-5", "positive"), ("nan", "positive"), ("1e400", "positive"),
])
def test_parse_sizes_rejects_with_the_item_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_sizes(text)


def test_ladder_sizes_and_problems():
    ladder = Ladder("firms", (10, 100, 1000), (10, 100), target=1000)
    assert ladder.sizes() == (10, 100, 1000)
    assert ladder.sizes(quick=True) == (10, 100)
    assert ladder.sizes(quick=True, chosen=(55,)) == (55,)
    assert ladder.problem((10, 55)) is None
    assert "not a whole number" in ladder.problem((10.5,))
    scales = Ladder("scale", (0.1, 1.0), (0.1,), largest=5.0, smallest=0.01)
    assert scales.problem((0.25, 5)) is None
    assert "above the largest size" in scales.problem((6,))
    assert "below the smallest size" in scales.problem((0.001,))


EXPECTED_FULL = {
    # the sizes: 10k, 100k, 1M enterprises; 5 M and 50 M electricity rows
    "mujun": (10_000, 100_000, 1_000_000),
    "carbon": (10_000, 100_000, 1_000_000),
    "import": (10_000, 100_000, 1_000_000),
    "service_match": (10_000, 100_000, 158_000, 1_000_000),
    "alerts": (500_000, 5_000_000, 50_000_000),
}


def test_every_ladder_is_declared_sorted_with_its_target_and_a_small_quick_ladder():
    found = ladders()
    assert set(found) == {"synth", "import", "mujun", "relatedness", "chains", "pairing", "alerts", "carbon",
                          "service_match"}
    for name, ladder in found.items():
        assert list(ladder.full) == sorted(set(ladder.full)), name
        assert ladder.target in ladder.full, name
        assert len(ladder.quick) == 2 and set(ladder.quick) <= set(ladder.full), name
        assert max(ladder.quick) < max(ladder.full), name     # --quick never runs the largest size
        assert ladder.problem(ladder.full) is None, name
    for name, sizes in EXPECTED_FULL.items():
        assert found[name].full == sizes, name
    # workloads with a size of their own grow about 10× a rung in their natural unit
    for name in ("relatedness", "chains", "pairing"):
        full = found[name].full
        assert len(full) == 3, name
        assert all(9 <= b / a <= 11 for a, b in zip(full, full[1:])), name
    assert found["synth"] is SYNTH_LADDER
    assert len(ladder_lines()) == len(found)


def test_relatedness_sizes_keep_the_provinces_proportions():
    import importlib.util

    spec = importlib.util.spec_from_file_location("relatedness_child_for_tests", ROOT / "benchmarks/relatedness_child.py")
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    assert child.dimensions(54_720) == (90, 608)          # the target's input is unchanged
    assert child.dimensions(5_472) == (28, 195)
    assert child.dimensions(547_200) == (285, 1_920)
    small = child.make_input(7, *child.dimensions(5_472))
    assert set(small.column("location").to_pylist()) <= {f"{330100 + i}" for i in range(28)}
    assert len(set(small.column("product").to_pylist())) <= 195 - round(14 * 195 / 608)


def test_mujun_sizes_map_to_a_synth_scale_and_copies():
    from benchmarks.mujun import input_for

    assert input_for(10_000) == (0.06, 1)
    assert input_for(100_000) == (0.1, 6)
    assert input_for(1_000_000) == (1.0, 6)
    with pytest.raises(ValueError, match="outside 0–5"):
        input_for(10_000_000)


# ---------------------------------------------------------------------------- the command line


def test_sizes_option(capsys):
    assert parse_args(["--only", "carbon", "--sizes", "10k,100k"]).sizes == (10_000, 100_000)
    assert parse_args(["--only", "synth", "--sizes", "0.1,1"]).sizes == (0.1, 1)
    assert parse_args(["--only", "carbon"]).sizes is None
    for argv, message in ((["--sizes", "10k"], "--sizes needs --only"),
                          (["--only", "web", "--sizes", "10k"], "web runs at one size"),
                          (["--only", "carbon", "--sizes", "ten"], "'ten' is not a number"),
                          (["--only", "carbon", "--sizes", "0.5"], "not a whole number of firm-years"),
                          (["--only", "chains", "--sizes", "7"], "above the largest size"),
                          (["--only", "alerts", "--sizes", "99"], "below the smallest size")):
        with pytest.raises(SystemExit) as raised:
            parse_args(argv)
        assert raised.value.code == 2
        assert message in capsys.readouterr().err


def test_every_reproduce_command_parses_back_to_its_sizes():
    for name, ladder in ladders().items():
        command = reproduce(name, ladder.full, repeat=3)
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "benchmarks"]
        args = parse_args(argv[3:])
        assert args.only == name and args.repeat == 3
        assert args.sizes == tuple(sorted(ladder.full)), name


def _done(case, **report):
    case.runs.append(ChildRun([], 0, 1.0, 100.0, 1.0, "", "", others_cpu_s=0.0))
    case.reports.append(report)
    return case


def test_baselines_that_cannot_run_the_largest_size_are_listed_as_not_measured():
    from benchmarks import alerts, ingest

    ours = _done(alerts.AlertsCase("alerts", "shanhai", "50 M rows", n=50_000_000), run_s=2.0)
    theirs = _done(alerts.AlertsCase("alerts", "pandas", "a tenth", n=50_000_000), run_s=8.5)
    ours.firms_run, theirs.firms_run = 500_000, 50_000
    small = _done(alerts.AlertsCase("alerts", "pandas", "whole", n=5_000_000), run_s=8.0)
    small.firms_run = 50_000
    points = {(p.engine, p.rung): p for p in alerts.growth_points([ours, theirs, small])}
    assert points[("shanhai", 50_000_000)].size == 50_000_000 and points[("shanhai", 50_000_000)].seconds == 2.0
    assert points[("pandas", 50_000_000)].seconds is None
    assert "first 50,000 firms" in points[("pandas", 50_000_000)].skipped
    assert points[("pandas", 5_000_000)].size == 5_000_000 and points[("pandas", 5_000_000)].seconds == 8.0

    csv = _done(Case("import", "shanhai csv 1,000,000", "csv", n=1_000_000), work_s=5.0)
    rows = {row[1]: row for row in growth_rows(ingest.growth_points([csv]))}
    assert rows["shanhai csv"][4] == "5.00"
    assert rows["shanhai xlsx"][3] == "—" and rows["shanhai xlsx"][8].startswith("1,000,000: not run: XLSX only up to")
