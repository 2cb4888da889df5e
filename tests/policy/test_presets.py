"""The packaged presets, the user folder ($SHANHAI_POLICY_DIR), file names, and ``policy.diff``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shanhai import policy
from shanhai.errors import ShanhaiError
from shanhai.policy import PolicyError, Preset
from shanhai.policy._load import PRESET_DIR

PACKAGED = sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_five_published_methods_are_packaged():
    assert PACKAGED == ["huangyan-2021", "huangyan-2022", "linhai-2016", "wenling-2022", "zhejiang-2018"]
    assert set(PACKAGED) <= set(policy.presets())


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_preset_loads_and_says_where_it_comes_from(name):
    preset = policy.get(name)
    assert isinstance(preset, Preset) and preset.name == name
    assert policy.load_file(PRESET_DIR / f"{name}.toml") == preset
    # a source document with an address, a display name in Chinese and in English
    assert re.search(r"https?://\S+", preset.source), preset.source
    assert CJK.search(preset.display_name) and preset.display_name_en.strip()
    assert preset.version and preset.years and all(2000 <= y <= 2100 for y in preset.years)
    if preset.confidence == "secondary":          # third-party copy: the source says so
        assert "转载" in preset.source or "非官方" in preset.source
    if preset.confidence != "doc":
        assert preset.caveats
    # every class has its label, every population a Chinese label
    assert set(preset.classes.labels) == set(preset.classes.order)
    assert all(CJK.search(p.label) for p in preset.populations)
    # the weights of every population add up to 100 (each published table does)
    for p in preset.populations:
        assert p.weight == pytest.approx(100), (p.id, p.weight)
    # indicators each population scores exist in the catalogue, once
    for p in preset.populations:
        assert len({i.id for i in p.indicators}) == len(p.indicators)
        assert all(i.id in policy.INDICATORS for i in p.indicators)


@pytest.mark.parametrize("name", PACKAGED)
def test_preset_round_trips_and_has_a_stable_fingerprint(name):
    preset = policy.get(name)
    again = policy.parse(preset.model_dump(mode="json", by_alias=True), "round trip")
    assert again == preset
    assert policy.fingerprint(again) == policy.fingerprint(preset)
    assert re.fullmatch(r"[0-9a-f]{64}", policy.fingerprint(preset))


def test_fingerprints_differ_between_presets():
    prints = {policy.fingerprint(policy.get(n)) for n in PACKAGED}
    assert len(prints) == len(PACKAGED)


def test_published_benchmarks_as_in_the_notices():
    """Huangyan's published benchmark table (附件2), 2021 and 2022."""
    def table(name):
        return {(p.id, i.id): i.benchmark.value for p in policy.get(name).populations for i in p.indicators}
    assert table("huangyan-2021") == {
        ("above_scale", "tax_per_mu"): 26.01, ("above_scale", "value_added_per_mu"): 132.27,
        ("above_scale", "value_added_per_energy"): 2.54, ("above_scale", "value_added_per_emission"): 4861.08,
        ("above_scale", "labour_productivity"): 17.45, ("above_scale", "rd_intensity"): 0.0305,
        ("below_scale", "tax_per_mu"): 16.601058, ("below_scale", "tax_per_kwh"): 0.236565}
    assert table("huangyan-2022") == {
        ("above_scale", "tax_per_mu"): 24.097, ("above_scale", "value_added_per_mu"): 136.16,
        ("above_scale", "value_added_per_energy"): 2.694, ("above_scale", "value_added_per_emission"): 4929.81,
        ("above_scale", "labour_productivity"): 18.14, ("above_scale", "rd_intensity"): 0.0302,
        ("below_scale", "tax_per_mu"): 11.5932, ("below_scale", "tax_per_kwh"): 0.2352}


def test_diff_lists_the_benchmark_changes_between_huangyan_2021_and_2022():
    rows = policy.diff(policy.get("huangyan-2021"), policy.get("huangyan-2022"))
    changes = {path: (a, b) for path, a, b in rows}
    benchmarks = {path: ab for path, ab in changes.items() if path.endswith(".benchmark.value")}
    assert benchmarks == {
        "populations[above_scale].indicators[tax_per_mu].benchmark.value": (26.01, 24.097),
        "populations[above_scale].indicators[value_added_per_mu].benchmark.value": (132.27, 136.16),
        "populations[above_scale].indicators[value_added_per_energy].benchmark.value": (2.54, 2.694),
        "populations[above_scale].indicators[value_added_per_emission].benchmark.value": (4861.08, 4929.81),
        "populations[above_scale].indicators[labour_productivity].benchmark.value": (17.45, 18.14),
        "populations[above_scale].indicators[rd_intensity].benchmark.value": (0.0305, 0.0302),
        "populations[below_scale].indicators[tax_per_mu].benchmark.value": (16.601058, 11.5932),
        "populations[below_scale].indicators[tax_per_kwh].benchmark.value": (0.236565, 0.2352),
    }
    # the 2022 missing-emission rule is the other change of method
    assert changes["populations[above_scale].indicators[value_added_per_emission].missing"] == ("zero", "mean_score")
    assert changes["name"] == ("huangyan-2021", "huangyan-2022") and changes["years"] == ([2021], [2022])
    # weights and classes did not change
    assert not [p for p in changes if p.endswith(".weight") or p.startswith("classes.")]
    assert policy.diff(policy.get("huangyan-2022"), policy.get("huangyan-2022")) == []


# ---------------------------------------------------------------------------------------------
# a user's folder
# ---------------------------------------------------------------------------------------------

def _copy(folder: Path, source: str, name: str, file_name: str | None = None) -> Path:
    """A packaged preset's file under another name (the TOML text with its name line changed)."""
    text = (PRESET_DIR / f"{source}.toml").read_text("utf-8")
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    path = folder / f"{file_name or name}.toml"
    path.write_text(text, "utf-8")
    return path


def test_policy_dir_adds_a_user_preset(tmp_path, monkeypatch):
    folder = tmp_path / "presets-ok"
    folder.mkdir()
    _copy(folder, "huangyan-2022", "my-county-2023")
    monkeypatch.setenv(policy.ENV_POLICY_DIR, str(folder))
    found = policy.presets()
    assert set(PACKAGED) | {"my-county-2023"} == set(found)
    preset = policy.get("my-county-2023")
    assert preset.name == "my-county-2023" and preset.display_name == policy.get("huangyan-2022").display_name
    monkeypatch.delenv(policy.ENV_POLICY_DIR)
    assert "my-county-2023" not in policy.presets()


def test_policy_dir_refuses_a_name_already_taken(tmp_path, monkeypatch):
    folder = tmp_path / "presets-dup"
    folder.mkdir()
    _copy(folder, "linhai-2016", "huangyan-2022")
    monkeypatch.setenv(policy.ENV_POLICY_DIR, str(folder))
    with pytest.raises(PolicyError, match=r"huangyan-2022\.toml: preset huangyan-2022 is already defined in .*"
                                          r"presets[/\\]huangyan-2022\.toml"):
        policy.presets()


def test_policy_dir_that_is_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(policy.ENV_POLICY_DIR, str(tmp_path / "nowhere"))
    with pytest.raises(PolicyError, match="SHANHAI_POLICY_DIR=.*nowhere: not a folder"):
        policy.presets()


def test_a_file_named_otherwise_than_its_preset_is_refused(tmp_path, monkeypatch):
    path = _copy(tmp_path, "huangyan-2022", "huangyan-2022-copy", file_name="黄岩2022")
    with pytest.raises(PolicyError, match=r"the file name must be the preset's name \(huangyan-2022-copy\.toml\)"):
        policy.load_file(path)
    with pytest.raises(PolicyError, match="the file name must be"):
        policy.get(str(path))
    folder = tmp_path / "presets-misnamed"
    folder.mkdir()
    _copy(folder, "huangyan-2022", "county-a", file_name="county-b")
    monkeypatch.setenv(policy.ENV_POLICY_DIR, str(folder))
    with pytest.raises(PolicyError, match=r"county-b\.toml: the file name must be the preset's name"):
        policy.presets()


def test_get_by_path_and_unknown_names(tmp_path):
    path = _copy(tmp_path, "wenling-2022", "wenling-test")
    assert policy.get(str(path)).name == "wenling-test"
    with pytest.raises(PolicyError, match=r"unknown policy 'huangyan-2099': expected one of .*huangyan-2021"):
        policy.get("huangyan-2099")
    with pytest.raises(PolicyError, match="no such preset file"):
        policy.get(str(tmp_path / "missing.toml"))
    assert issubclass(PolicyError, ShanhaiError)


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsource = [unclosed\n', "utf-8")
    with pytest.raises(PolicyError, match=r"bad\.toml: not valid TOML"):
        policy.load_file(bad)
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('display_name = "黄岩区"\n'.encode("gbk"))
    with pytest.raises(PolicyError, match=r"gbk\.toml: not UTF-8 text"):
        policy.load_file(gbk)
    empty = tmp_path / "empty.toml"
    empty.write_text("", "utf-8")
    with pytest.raises(PolicyError, match=r"empty\.toml: name: Field required"):
        policy.load_file(empty)
