"""Child of ``benchmarks/chains.py`` (run with ``python -P``).

``prepare DB --scale S --seed N``: build the synthetic province and store one province-wide
zhejiang-2018 run of its latest year (not measured). ``run DB``: import what a server has loaded
by the time a request arrives (shanhai.jobs.chains, ibis), open the store read-only, then time
``panorama_grid`` (every chain × every county) with an empty cache, again warm, one county's
targets and one county's risk; print one JSON line.
"""

from __future__ import annotations

import json
import sys
import time


def prepare(path: str, scale: float, seed: int) -> None:
    from shanhai.jobs import mujun
    from shanhai.store import open_store
    from shanhai.synth import SynthConfig, build

    started = time.perf_counter()
    build(path, SynthConfig(scale=scale, seed=seed))
    synth_s = time.perf_counter() - started
    with open_store(path) as store:
        year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
        run_id = mujun.run(store, "zhejiang-2018", year).run_id
        firms = store.con.execute(f"SELECT count(*) FROM enterprise_years WHERE year = {year}").fetchone()[0]
        members = store.con.execute("SELECT count(*) FROM enterprise_segments").fetchone()[0]
    print(json.dumps({"synth_s": synth_s, "year": year, "run_id": run_id, "firms": firms, "members": members}))


def run(path: str) -> None:
    started = time.perf_counter()
    import ibis  # noqa: F401

    from shanhai.jobs import chains
    from shanhai.store import open_store
    from shanhai.store.scope import Scope

    imports_s = time.perf_counter() - started
    with open_store(path, read_only=True) as store:
        t = time.perf_counter()
        grid = chains.panorama_grid(store, Scope.province())
        cold = time.perf_counter() - t
        t = time.perf_counter()
        chains.panorama_grid(store, Scope.province())
        warm = time.perf_counter() - t
        t = time.perf_counter()
        targets = chains.targets(store, Scope.province(), "331127", limit=50)
        targets_s = time.perf_counter() - t
        t = time.perf_counter()
        chains.risk(store, Scope.province(), "331127")
        risk_s = time.perf_counter() - t
    print(json.dumps({"imports_s": imports_s, "grid_cold_s": cold, "grid_warm_s": warm, "targets_s": targets_s,
                      "risk_s": risk_s, "panoramas": len(grid), "targets": targets["total"]}))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
        prepare(sys.argv[2], float(args.get("--scale", 1.0)), int(args.get("--seed", 7)))
    else:
        run(sys.argv[2])
