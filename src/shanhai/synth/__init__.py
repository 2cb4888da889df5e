"""The synthetic province: a calibrated, deterministic stand-in for confidential enterprise data.

``build(path, SynthConfig(scale, seed, years))`` creates (or, with ``replace=True``, refreshes)
a database with the reference data, about 58,000 above-scale and 108,000 below-scale firms at
scale 1, their yearly indicators and monthly electricity, zones, land parcels, projects, chain
membership and a ground-truth table of injected anomalies; then returns the calibration table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shanhai.errors import ShanhaiError
from shanhai.store import audit, load_reference, open_store, reference_loaded
from shanhai.synth.calibration import CalibrationRow, calibration_table
from shanhai.synth.generator import Progress, SynthConfig, clear_synthetic, existing_enterprises, generate, write

__all__ = ["BuildResult", "CalibrationRow", "SynthConfig", "build", "calibration_table", "generate"]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    config: SynthConfig
    rows: dict[str, int]
    calibration: list[CalibrationRow]


def build(path: str | Path, config: SynthConfig, *, replace: bool = False,
          progress: Progress | None = None) -> BuildResult:
    """Generate the synthetic province into the database at ``path``."""
    progress = progress or (lambda label, fraction: None)
    with open_store(path) as store:
        con = store.con
        if not reference_loaded(con):
            load_reference(con)
        have = existing_enterprises(con)
        if have and not replace:
            raise ShanhaiError(
                f"database {store.path} already holds {have} enterprises: choose a new --db, "
                "or pass --replace to delete the synthetic rows first (imported rows are kept)"
            )
        if replace:
            clear_synthetic(con)
        province = generate(config, progress)
        rows = write(con, province, progress)
        audit.append(con, "synth", target=config.dataset_id, detail=config.as_dict())
        table = calibration_table(con, config.scale, config.base_year)
        con.execute("CHECKPOINT")
        progress("完成 done", 1.0)
    return BuildResult(Path(path), config, rows, table)
