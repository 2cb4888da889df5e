"""Faults: a full disk during an import fails cleanly, with nothing half-written.

The import (`shanhai import electricity` of the small province's 390,000-row file into a copy
whose electricity rows were deleted) runs in a subprocess that cannot write past a size:

* ``RLIMIT_FSIZE`` with SIGXFSZ ignored, so a write past the limit fails with EFBIG — at 4 MB the
  import fails while reading (the CSV's UTF-8 copy in the temporary folder), at 30 MB when the
  commit checkpoints the new rows into the database file;
* a 12 MB tmpfs beyond the database's own size holding the database and the temporary folder,
  for a real ENOSPC (root only: skipped otherwise).

Each time the command exits with the one-line user error (exit code 2) saying the disk is full,
and the database afterwards opens and holds exactly what it held before: every table's rows and
content checksum, the audit log and the dataset list included. Takes about 25 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shanhai.store import open_store

LIMITED = r"""
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # a write past the limit fails with EFBIG
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.executable, [sys.executable, "-m", "shanhai", *sys.argv[2:]])
"""


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    from shanhai.synth.files import write_files

    folder = tmp_path_factory.mktemp("disk")
    with open_store(small_db, read_only=True) as store:
        files = write_files(store, folder / "files")
    base = folder / "base.duckdb"
    shutil.copy(small_db, base)
    with open_store(base) as store:
        store.con.execute("DELETE FROM electricity_monthly")
        store.con.execute("CHECKPOINT")
    return folder, base, files["electricity"]


def _state(db: Path) -> dict:
    with open_store(db, read_only=True) as store:
        return store.checksums()


def _import(db: Path, file: Path, limit: int | None = None, env: dict | None = None):
    argv = ["import", "electricity", str(file), "--db", str(db)]
    cmd = [sys.executable, "-c", LIMITED, str(limit), *argv] if limit else [sys.executable, "-m", "shanhai", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def _assert_clean_failure(done, db: Path, before: dict) -> None:
    lines = [x for x in done.stderr.splitlines() if x.startswith(("错误 error", "内部错误", "Traceback"))]
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("错误 error: the disk is full"), done.stderr[-2000:]
    assert _state(db) == before            # opens, and holds exactly what it held before


@pytest.mark.parametrize("limit", [4_000_000, 30_000_000], ids=["while-reading", "at-commit"])
def test_file_size_limit_fails_cleanly(world, tmp_path, limit):
    folder, base, file = world
    db = tmp_path / "full.duckdb"
    shutil.copy(base, db)
    before = _state(db)
    done = _import(db, file, limit)
    _assert_clean_failure(done, db, before)
    # and with room again the same import completes
    again = _import(db, file)
    assert again.returncode == 0, again.stderr[-2000:]
    with open_store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM electricity_monthly").fetchone()[0] > 0


def test_full_tmpfs_fails_cleanly(world, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder, base, file = world
    mount = tmp_path / "small-disk"
    mount.mkdir()
    size_mb = base.stat().st_size // 2**20 + 12
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        db = mount / "full.duckdb"
        shutil.copy(base, db)
        (mount / "tmp").mkdir()
        before = _state(db)
        done = _import(db, file, env={"TMPDIR": str(mount / "tmp")})
        _assert_clean_failure(done, db, before)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
