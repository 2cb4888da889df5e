"""Region scope (``shanhai.store.scope``): one Scope per caller, checked against ``regions``, and
the SQL predicate every reader filters with."""

from __future__ import annotations

import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store import load_reference
from shanhai.store.scope import OutOfScopeError, Scope


@pytest.fixture
def ref(store):
    load_reference(store.con)
    return store


def test_province_and_lookups(ref):
    p = Scope.province()
    assert (p.adcode, p.level) == ("330000", "province")
    assert Scope.of(ref, None) == p and Scope.of(ref, "") == p and Scope.of(ref, " 330000 ") == p
    lishui = Scope.of(ref, "331100")
    assert (lishui.level, lishui.name) == ("city", "丽水市")
    jingning = Scope.of(ref, "331127")
    assert jingning.level == "county" and jingning.name.startswith("景宁")
    assert Scope("331127", "county") == jingning          # the name does not take part in equality
    with pytest.raises(NotFoundError, match="339999 is not a region"):
        Scope.of(ref, "339999")
    with pytest.raises(ShanhaiError, match="scope level"):
        Scope("331127", "town")


def test_town_is_refused(ref):
    ref.con.execute("INSERT INTO regions (adcode, name, level, parent_adcode, city_adcode) "
                    "VALUES ('331127100', '鹤溪街道', 'town', '331127', '331100')")
    with pytest.raises(ShanhaiError, match="is a town"):
        Scope.of(ref, "331127100")


def test_covers_agrees_with_the_regions_table(ref):
    """The adcode-prefix rule of ``covers`` gives the same counties as the SQL predicate, for every
    city and county of the province."""
    scopes = [Scope.province()] + [Scope.of(ref, a) for (a,) in ref.con.execute(
        "SELECT adcode FROM regions WHERE level IN ('city', 'county') ORDER BY adcode").fetchall()]
    counties = [a for (a,) in ref.con.execute("SELECT adcode FROM regions WHERE level = 'county'").fetchall()]
    assert len(counties) == 90
    for s in scopes:
        by_sql = set(s.counties(ref))
        assert by_sql == {c for c in counties if s.covers(c)}, s
        n = ref.con.execute(f"SELECT count(*) FROM regions WHERE level = 'county' AND {s.sql('adcode')}").fetchone()[0]
        assert n == len(by_sql) > 0
    assert len(Scope.province().counties(ref)) == 90
    assert Scope.province().sql() == "true"


def test_covers_and_contains(ref):
    lishui, jingning, hangzhou = Scope.of(ref, "331100"), Scope.of(ref, "331127"), Scope.of(ref, "330100")
    assert jingning.covers("331127") and jingning.covers("331127100") and not jingning.covers("331102")
    assert lishui.covers("331127") and lishui.covers("331102") and not lishui.covers("330102")
    assert not lishui.covers(None) and not lishui.covers("")
    assert Scope.province().covers("330102")
    assert lishui.contains(jingning) and not jingning.contains(lishui) and not lishui.contains(hangzhou)
    assert Scope.province().contains(lishui) and not lishui.contains(Scope.province())
    assert jingning.sql("m.county_adcode") == "m.county_adcode = '331127'"


def test_narrow_and_check(ref):
    lishui = Scope.of(ref, "331100")
    assert lishui.narrow(ref, None) == lishui
    assert lishui.narrow(ref, "331127").level == "county"
    with pytest.raises(OutOfScopeError, match="outside your scope"):
        lishui.narrow(ref, "330102")
    with pytest.raises(OutOfScopeError):
        Scope.of(ref, "331127").narrow(ref, "331100")       # a county user cannot widen to its city
    lishui.check("331127")
    with pytest.raises(OutOfScopeError, match="enterprise X is outside"):
        lishui.check("330102", "enterprise X")


def test_sql_never_interpolates_raw_text(ref):
    hostile = Scope("33110'0", "city")
    assert "'33110''0'" in hostile.sql()
    assert ref.con.execute(f"SELECT count(*) FROM regions WHERE {hostile.sql('adcode')}").fetchone()[0] == 0


def test_review_wrappers_use_scope(ref):
    from shanhai.jobs import mujun_review as rv

    assert rv.region_of(ref, "330000") is None and rv.region_of(ref, None) is None
    assert rv.region_of(ref, "331127").level == "county"
    assert rv.region_filter(ref, "331100", "c") == Scope.of(ref, "331100").sql("c")
    assert rv.region_filter(ref, Scope.of(ref, "331127")) == "county_adcode = '331127'"
    assert rv.region_filter(ref, None) == "true"
