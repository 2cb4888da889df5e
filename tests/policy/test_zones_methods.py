"""Zone evaluation methods (``policy/zones/*.toml``, ``policy._zones``): the packaged methods load,
cite their sources and keep the published figures of the reference; a user's folder adds one;
hostile files are refused with the field named."""

from __future__ import annotations

import pytest

from shanhai.policy import PolicyError
from shanhai.policy._zones import ZONE_INDICATORS, ZONES_DIR, zone_method, zone_methods


def test_the_packaged_methods_load_and_add_up():
    found = zone_methods()
    assert {"zhejiang-2021", "mofcom-2021", "lishui-2020"} <= set(found)
    for m in found.values():
        assert m.source and m.version and m.display_name
        assert sum(g.weight for g in m.groups) == pytest.approx(1.0)
        for g in m.groups:
            assert sum(i.weight for i in g.indicators) == pytest.approx(1.0)
            assert all(i.id in ZONE_INDICATORS for i in g.indicators)
        assert len(m.fingerprint()) == 64


def test_the_published_figures_of_the_reference():
    """zones_and_cooperation.md §5.1/§5.3 and the Lishui seed: what the methods must keep."""
    zj = zone_method("zhejiang-2021")
    opening = next(g for g in zj.groups if g.id == "opening_up")
    assert opening.weight == 0.40 and opening.published
    assert not any(g.published for g in zj.groups if g.id != "opening_up")
    assert zj.covers.levels == ("provincial",) and zj.comparison.by == ("area",)
    assert {a.display_name for a in zj.comparison.areas} == {"东北片", "西南片"}
    assert zj.comparison.areas_published is False
    assert zj.bottom.n == 5 and [(s.years, s.action) for s in zj.bottom.stages] == [(1, "warning"), (3, "rectify")]
    assert "zjnews.zjol.com.cn/202112/t20211213_23488946" in zj.source

    mof = zone_method("mofcom-2021")
    assert {g.display_name: g.weight for g in mof.groups} == {"对外开放": 0.30, "发展质量": 0.30, "科技创新": 0.15,
                                                              "绿色发展": 0.15, "统筹协调": 0.10}
    assert mof.bottom.n == 5 and (2, "delist") in [(s.years, s.action) for s in mof.bottom.stages]

    ls = zone_method("lishui-2020")
    targets = {i.id: i.target for g in ls.groups for i in g.indicators if i.transform == "ratio_to_target"}
    assert targets == {"value_added_per_mu": 120, "tax_per_mu": 30, "high_tech_share": 0.5, "rd_intensity": 0.03}
    assert ls.covers.cities == ("3311",) and "丽政办发〔2020〕55号" in ls.source


def _text(name="zhejiang-2021"):
    return (ZONES_DIR / f"{name}.toml").read_text("utf-8")


def _write(folder, name, text):
    (folder / "zones").mkdir(exist_ok=True)
    path = folder / "zones" / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_users_method_is_found(tmp_path, monkeypatch):
    text = _text().replace('name = "zhejiang-2021"', 'name = "my-draft"').replace("n = 5", "n = 3")
    _write(tmp_path, "my-draft", text)
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    assert zone_method("my-draft").bottom.n == 3
    assert "zhejiang-2021" in zone_methods()


HOSTILE = [
    (("weight = 0.40", "weight = 0.50"), "group weights must add up to 1"),
    (('{ id = "exports", weight = 0.35', '{ id = "exports", weight = 0.45'), "indicator weights must add up to 1"),
    (('{ id = "exports",', '{ id = "exportz",'), "unknown indicator 'exportz'"),
    (('{ id = "value_added_growth", weight = 0.40, transform = "min_max" }',
      '{ id = "value_added_growth", weight = 0.40, transform = "ratio_to_best" }'), "can be negative"),
    (('{ id = "export_share", weight = 0.25, transform = "ratio_to_best" }',
      '{ id = "export_share", weight = 0.25, transform = "ratio_to_target" }'), "needs a target"),
    (('levels = ["provincial"]', 'levels = ["municipal"]'), "covers.levels"),
    (('"3309"] }', '"3309", "3303"] }'), "city 3303 is in both"),
    (('"3309"] }', '"3399"] }'), "3399 is not a Zhejiang city"),
    (('cities = ["3303", "3307", "3308", "3310", "3311"]', 'cities = ["3303", "3307", "3308", "3310"]'),
     "3311 belong to no area"),
    (('display_name_en = "Tier 1", share = 0.2 }', 'display_name_en = "Tier 1", share = 0.6 }'),
     "add up to less than 1"),
    (('display_name_en = "Tier 3" }', 'display_name_en = "Tier 3", share = 0.3 }'), "last tier takes the rest"),
    (("n = 5", "n = 0"), "bottom.n"),
    (("years = 3,", "years = 1,"), "years must rise"),
    (('action = "warning"', 'action = "shame"'), "action"),
    (('basis = "rank_share"', 'basis = "score"'), "share is only read with basis = 'rank_share'"),
    (('source = "', 'sauce = "'), "sauce"),
    (("max_step = 1", "max_step = -1"), "tiers.max_step"),
    (('missing = "worst"', 'missing = "mean"'), "missing"),
]


@pytest.mark.parametrize("change, words", HOSTILE, ids=[w for _, w in HOSTILE])
def test_a_hostile_method_is_refused_with_its_field_named(tmp_path, monkeypatch, change, words):
    text = _text().replace('name = "zhejiang-2021"', 'name = "hostile"')
    assert change[0] in text, change[0]
    _write(tmp_path, "hostile", text.replace(change[0], change[1], 1))
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match="hostile.toml") as info:
        zone_methods()
    assert words in str(info.value), str(info.value)


def test_hostile_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    _write(tmp_path, "bad", "name = [unclosed")
    with pytest.raises(PolicyError, match="bad.toml: not a readable UTF-8 TOML file"):
        zone_methods()
    (tmp_path / "zones" / "bad.toml").write_bytes(b"\xff\xfe name = 1")
    with pytest.raises(PolicyError, match="bad.toml"):
        zone_methods()
    (tmp_path / "zones" / "bad.toml").unlink()
    _write(tmp_path, "other-name", _text())
    with pytest.raises(PolicyError, match="the file name must be zhejiang-2021.toml"):
        zone_methods()
    (tmp_path / "zones" / "other-name.toml").unlink()
    _write(tmp_path, "zhejiang-2021", _text())
    with pytest.raises(PolicyError, match="already defined"):
        zone_methods()


def test_an_unknown_method_names_the_known_ones():
    with pytest.raises(PolicyError, match="unknown zone method 'nope': expected one of .*zhejiang-2021"):
        zone_method("nope")
    with pytest.raises(PolicyError, match="no such zone method file"):
        zone_method("/nonexistent/x.toml")
