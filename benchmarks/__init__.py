"""Shanhai benchmark suite: ``python -m benchmarks`` (or ``make bench``).

Each workload runs in a fresh child process, so interpreter start-up, imports and peak memory
are those a user sees. Results go to the terminal as Rich tables and to ``benchmarks/RESULTS.md``.

Speed targets live here and only here: the unit tests (``make test``) never time anything.
The targets come from the issue that asked for this suite; the baseline of every ratio is the
target itself ("ratio to target" = measured wall time / target, below 1 is good).
"""

from __future__ import annotations

from benchmarks.measure import Ladder

# target seconds, keyed by (workload, case); other rows have no target and show "—"
TARGETS: dict[tuple[str, str], float] = {
    ("synth", "scale 1.0"): 60.0,   # `shanhai synth` at scale 1.0, on 2 cores
    ("demo", "cold"): 30.0,       # `shanhai demo` from an absent database
}
TARGET_CORES = 2

SYNTH_SCALES = (0.1, 0.25, 0.5, 1.0)
QUICK_SCALES = (0.1, 0.25)
SEED = 7
# synth's size ladder: scales (about 18,600 · 46,500 · 93,000 · 186,000 enterprises); `--sizes 0.1,1` picks some
SYNTH_LADDER = Ladder("enterprises (synth scale)", SYNTH_SCALES, QUICK_SCALES, target=1.0, largest=5.0, smallest=0.01)


def scale_label(scale: float) -> str:
    """0.1 -> "0.1", 1 -> "1.0": the way the issue and the CLI help write scales."""
    return f"{scale:.1f}" if float(scale).is_integer() else f"{scale:g}"
