"""`shanhai policy check`: every family of policy files read at once (policy._families), so a
county's own file with a mistake is found before a command first reads its family."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from shanhai.policy._families import FAMILIES, PACKAGED, check

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from test_cli import shanhai  # noqa: E402


def test_every_folder_of_packaged_policy_files_is_a_family():
    """A new family of policy files must be registered, or `policy check` would never read it."""
    folders = {p.name for p in PACKAGED.iterdir() if p.is_dir() and not p.name.startswith("_")} - {"presets"}
    assert folders == {f.folder for f in FAMILIES if f.folder}


def test_the_packaged_files_all_load():
    rows = check()
    assert len(rows) == len(FAMILIES) and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    by = {r["family"]: r for r in rows}
    assert "zhejiang-2018" in by["per-mu presets"]["names"] and "lishui-2020" in by["zone methods"]["names"]


def test_a_policy_folder_with_mistakes_fails_the_families_it_touches_and_names_the_file(tmp_path):
    folder = tmp_path / "policy"
    (folder / "zones").mkdir(parents=True)
    (folder / "service").mkdir()
    mine = (PACKAGED / "zones" / "lishui-2020.toml").read_text("utf-8").replace('name = "lishui-2020"',
                                                                                  'name = "my-county-2026"', 1)
    assert 'name = "my-county-2026"' in mine
    (folder / "zones" / "my-county-2026.toml").write_text(mine, "utf-8")
    (folder / "service" / "broken-item.toml").write_text('name = "broken-item"\n[amount]\nkind = "nonsense"\n', "utf-8")
    shutil.copy(PACKAGED / "transition" / "ledger_default.toml", folder / "transition.toml")   # not a preset
    rows = {r["family"]: r for r in check(folder)}
    assert rows["zone methods"]["ok"] and "my-county-2026" in rows["zone methods"]["names"]
    assert not rows["support-policy items"]["ok"] and "broken-item.toml" in rows["support-policy items"]["error"]
    assert not rows["per-mu presets"]["ok"] and "transition.toml" in rows["per-mu presets"]["error"]
    assert all(r["ok"] for name, r in rows.items() if name not in ("support-policy items", "per-mu presets"))
    result = shanhai("policy", "check", "--dir", str(folder), "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert {f["family"] for f in doc["families"] if not f["ok"]} == {"support-policy items", "per-mu presets"}
    assert shanhai("policy", "check").returncode == 0
