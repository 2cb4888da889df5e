"""``import_file_isolated``: the reading, cleaning and checking in a child process give exactly
what ``import_file`` gives in process — every kind, under a region scope, for bad files."""

from __future__ import annotations

import pytest

from shanhai.errors import ShanhaiError
from shanhai.ingest import import_file
from shanhai.ingest._isolated import import_file_isolated, lookup_tables
from shanhai.ingest.spec import kind as ingest_kind
from shanhai.store import load_reference, open_store
from shanhai.store.scope import Scope
from shanhai.synth import SynthConfig, build
from shanhai.synth.files import IMPORT_ORDER, write_files

COUNTY = "330602"   # 越城区: a county with firms in every synthetic province


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("isolated")
    db = folder / "province.duckdb"
    build(db, SynthConfig(scale=0.02, seed=11))
    with open_store(db, read_only=True) as store:
        paths = write_files(store, folder / "out")
    return paths


def _fresh(path):
    store = open_store(path)
    load_reference(store.con)
    store.con.execute("DELETE FROM pairings")   # the reference pairings: the file brings them back
    return store


def _summary(result) -> dict:
    doc = result.as_dict(limit=10_000)
    doc.pop("file")
    return doc


def test_every_kind_gives_the_same_tables_and_summaries(files, tmp_path):
    with _fresh(tmp_path / "in.duckdb") as plain, _fresh(tmp_path / "out.duckdb") as isolated:
        for name in IMPORT_ORDER:
            steps = []
            a = import_file(plain, name, files[name])
            b = import_file_isolated(isolated, name, files[name],
                                     progress=lambda label, fraction: steps.append(fraction))
            assert _summary(b) == _summary(a), name
            assert steps == sorted(steps) and steps[-1] == 1.0, (name, steps)   # the child's steps came through
        tables = [t for t in plain.content_tables() if t != "change_history"]   # rows carry the time
        assert isolated.checksums(tables) == plain.checksums(tables)
        assert plain.con.execute("SELECT count(*) FROM enterprise_years").fetchone()[0] > 0
        # again, the same files: nothing changes either way
        for name in ("enterprises", "enterprise-years"):
            a = import_file(plain, name, files[name])
            b = import_file_isolated(isolated, name, files[name])
            assert (b.inserted, b.updated, b.unchanged) == (a.inserted, a.updated, a.unchanged) == (0, 0, a.rows_in)


def test_a_county_scope_rejects_the_same_rows(files, tmp_path):
    with _fresh(tmp_path / "in.duckdb") as plain, _fresh(tmp_path / "out.duckdb") as isolated:
        for name in ("zones", "towns", "enterprises"):
            import_file(plain, name, files[name])
            import_file_isolated(isolated, name, files[name])
        scope = Scope.of(plain, COUNTY)
        a = import_file(plain, "enterprise-years", files["enterprise-years"], scope=scope)
        b = import_file_isolated(isolated, "enterprise-years", files["enterprise-years"], scope=scope)
        assert a.out_of_scope > 0 and a.inserted > 0
        assert _summary(b) == _summary(a)
        tables = ["enterprise_years", "import_rejects", "datasets"]
        assert isolated.checksums(tables) == plain.checksums(tables)


def test_a_bad_file_gets_the_same_sentence(tmp_path):
    bad = tmp_path / "企业.csv"
    bad.write_text("统一社会信用代码,年份\n", encoding="utf-8")
    missing = tmp_path / "nothing.csv"
    with _fresh(tmp_path / "in.duckdb") as store:
        for path in (bad, missing):
            with pytest.raises(ShanhaiError) as plain:
                import_file(store, "enterprise-years", path)
            with pytest.raises(ShanhaiError) as isolated:
                import_file_isolated(store, "enterprise-years", path)
            assert str(isolated.value) == str(plain.value)


def test_lookup_tables_are_the_fixed_ones_and_those_the_kind_names(tmp_path):
    with open_store(tmp_path / "x.duckdb") as store:
        assert "projects" in lookup_tables(store, ingest_kind("project-events"))   # its rules read projects
        assert "projects" not in lookup_tables(store, ingest_kind("enterprise-years"))
        assert {"regions", "enterprises", "land_parcels"} <= set(lookup_tables(store, ingest_kind("electricity")))
        assert "electricity_monthly" not in lookup_tables(store, ingest_kind("electricity"))


def test_folders_of_a_killed_server_are_swept_and_live_ones_kept(tmp_path):
    """A server killed in the middle of an import leaves its folder (Parquet copies of the
    register) behind; the next isolated import deletes it, never a live server's."""
    import subprocess
    import sys

    from shanhai.ingest._isolated import FOLDER_PREFIX, OWNER, sweep_stale_folders

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live, other = (tmp_path / f"{FOLDER_PREFIX}{n}" for n in ("stale", "live", "unowned"))
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "enterprises.parquet").write_bytes(b"x")
    (stale / OWNER).write_text(str(dead.pid))
    import os
    (live / OWNER).write_text(str(os.getpid()))
    assert sweep_stale_folders(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def test_an_isolated_import_sweeps_stale_folders_and_leaves_none(files, tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from shanhai.ingest._isolated import FOLDER_PREFIX, OWNER

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (temp / f"{FOLDER_PREFIX}killed").mkdir()
    (temp / f"{FOLDER_PREFIX}killed" / OWNER).write_text(str(dead.pid))
    with _fresh(tmp_path / "a.duckdb") as store:
        result = import_file_isolated(store, IMPORT_ORDER[0], files[IMPORT_ORDER[0]])
        assert result.inserted > 0
    assert not list(temp.glob(FOLDER_PREFIX + "*"))
