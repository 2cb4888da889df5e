"""Child process of the synth workload: build one province and report on stdout as JSON.

Run as ``python -P benchmarks/synth_child.py --scale S --seed N --db PATH`` (``-P``: the
benchmarks folder is not put on the child's ``sys.path``). Imports only the standard library
and ``shanhai``. Besides rows per table it reports its own timeline: one event per progress
call of ``shanhai.synth.build``, with the seconds since the build started and the peak RSS so
far, which the report turns into a per-phase breakdown.
"""

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def _maxrss_mb() -> float:
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw / 2**20 if sys.platform == "darwin" else raw / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    from shanhai.synth import SynthConfig, build

    imported = time.perf_counter()
    events = []

    def progress(label: str, fraction: float) -> None:
        events.append({"label": label, "fraction": fraction,
                       "t": time.perf_counter() - imported, "maxrss_mb": _maxrss_mb()})

    result = build(args.db, SynthConfig(scale=args.scale, seed=args.seed), progress=progress)
    built = time.perf_counter()
    json.dump({
        "scale": args.scale,
        "seed": args.seed,
        "rows": result.rows,
        "import_s": imported - _STARTED,
        "build_s": built - imported,
        "maxrss_mb": _maxrss_mb(),
        "calibration_ok": sum(1 for row in result.calibration if row.ok),
        "calibration_total": len(result.calibration),
        "events": events,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
