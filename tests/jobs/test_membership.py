"""Chain membership (jobs.membership): by industry code, by keyword in the name or business scope,
manual rows kept (exclusions survive recomputation), sub-segments count for their parents, a firm
in several chains, chain leaders by the one rule the synthetic province also follows."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanhai import reference
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import chain_model
from shanhai.jobs import membership as mb
from shanhai.store import load_reference, open_store
from shanhai.store.connection import Store
from shanhai.uscc import check_char

YEAR = 2024
HANGZHOU_COUNTY, NINGBO_COUNTY = "330106", "330203"   # 西湖区 (杭州), 海曙区 (宁波)


def uscc(n: int, county: str = HANGZHOU_COUNTY) -> str:
    body = "91" + county + f"{n:08d}" + "X"
    return body + check_char(body)


def add_firm(con, n, industry, name, scope=None, county=HANGZHOU_COUNTY, revenue=None, above=False, dataset="t1",
             year=YEAR):
    u = uscc(n, county)
    con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code, business_scope, dataset_id) "
                "VALUES (?, ?, ?, ?, ?, ?)", [u, name, county, industry, scope, dataset])
    if revenue is not None:
        con.execute("INSERT INTO enterprise_years (uscc, year, above_scale, revenue) VALUES (?, ?, ?, ?)",
                    [u, year, above, revenue])
    return u


def rows(con, u=None) -> dict[tuple[str, str], tuple[str, str]]:
    where = f"WHERE uscc = '{u}'" if u else ""
    return {(a, s): (r, m) for a, s, r, m in con.execute(
        f"SELECT uscc, segment_id, role, method FROM enterprise_segments {where}").fetchall()}


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "m.duckdb") as s:
        load_reference(s.con)
        yield s


@pytest.fixture
def firms(store):
    con = store.con
    f = {
        # 3939 应用电视设备: digital_security.midstream and integrated_circuits.downstream by code
        "camera": add_firm(con, 1, "3939", "杭州甲科技有限公司"),
        # 3311 金属结构: smart_home.upstream by code; 安防 in the name: digital_security.midstream by keyword
        "frames": add_firm(con, 2, "3311", "宁波乙安防设备有限公司"),
        # 1713 棉印染: textiles midstream (171) and its sub-segment dyeing (1713) by code
        "dyer": add_firm(con, 3, "1713", "绍兴丙染整有限公司"),
        # 1721 毛条: no code of the chain; 纺织 in the name, 印染 in the business scope
        "wool": add_firm(con, 4, "1721", "绍兴丁纺织有限公司", scope="毛纺织品的印染加工；货物进出口"),
        # 2411 文具: in no chain by code; a battery separator in its business scope
        "stationer": add_firm(con, 5, "2411", "义乌戊文具有限公司", scope="锂电池隔膜的研发、生产"),
        # in no chain at all
        "bakery": add_firm(con, 6, "1431", "杭州己食品有限公司", scope="糕点制造"),
    }
    return f


def test_code_keyword_sub_segments_and_several_chains(store, firms):
    summary = mb.assign_members(store, user="tests")
    con = store.con
    assert rows(con, firms["camera"]) == {
        (firms["camera"], "digital_security.midstream"): ("member", "code"),
        (firms["camera"], "integrated_circuits.downstream"): ("member", "code")}
    assert rows(con, firms["frames"]) == {
        (firms["frames"], "smart_home.upstream"): ("member", "code"),
        (firms["frames"], "digital_security.midstream"): ("member", "keyword")}
    assert rows(con, firms["dyer"]) == {
        (firms["dyer"], "modern_textiles.midstream"): ("member", "code"),
        (firms["dyer"], "modern_textiles.midstream.dyeing"): ("member", "code")}
    assert rows(con, firms["wool"]) == {       # a sub-segment's keyword puts the firm in the parent too
        (firms["wool"], "modern_textiles.midstream"): ("member", "keyword"),
        (firms["wool"], "modern_textiles.midstream.dyeing"): ("member", "keyword")}
    assert rows(con, firms["stationer"]) == {
        (firms["stationer"], "new_energy_vehicles.upstream.battery"): ("member", "keyword"),
        (firms["stationer"], "new_energy_vehicles.upstream"): ("member", "keyword")}
    assert rows(con, firms["bakery"]) == {}
    assert (summary.code, summary.keyword, summary.manual, summary.excluded, summary.firms) == (5, 5, 0, 0, 5)
    assert summary.chains["digital_security"]["by_method"] == {"code": 1, "keyword": 1}
    assert con.execute("SELECT count(*) FROM enterprise_segments WHERE dataset_id IS DISTINCT FROM 't1'").fetchone()[0] == 0
    entry = con.execute("SELECT action, target, detail FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert entry[:2] == ("chains.members", "all") and '"keyword": 5' in entry[2]


def test_a_keyword_does_not_duplicate_a_code_membership(store, firms):
    # 印染 in the dyer's scope: already in dyeing by code, so no keyword row
    store.con.execute(f"UPDATE enterprises SET business_scope = '棉布印染' WHERE uscc = '{firms['dyer']}'")
    mb.assign_members(store)
    assert set(rows(store.con, firms["dyer"]).values()) == {("member", "code")}


def test_manual_rows_and_exclusions_survive_recomputation(store, firms):
    con = store.con
    mb.assign_members(store)
    mb.set_manual(store, firms["camera"], "integrated_circuits.downstream", "excluded", user="analyst")
    mb.set_manual(store, firms["bakery"], "smart_home.downstream", "supplier", user="analyst")
    mb.set_manual(store, firms["frames"], "digital_security.midstream", "chain_leader", user="analyst")
    before = rows(con)
    for _ in range(2):
        summary = mb.assign_members(store)
        assert rows(con) == before
    assert before[(firms["camera"], "integrated_circuits.downstream")] == ("excluded", "manual")
    assert before[(firms["camera"], "digital_security.midstream")] == ("member", "code")
    assert before[(firms["frames"], "digital_security.midstream")] == ("chain_leader", "manual")
    assert (summary.manual, summary.excluded) == (3, 1)
    # an excluded firm is not counted among the chain's firms
    assert summary.chains["integrated_circuits"]["firms"] == 0
    # undoing the exclusion: the next recomputation places the firm by its code again
    assert mb.clear_manual(store, firms["camera"], "integrated_circuits.downstream", user="analyst")
    assert not mb.clear_manual(store, firms["camera"], "integrated_circuits.downstream")
    mb.assign_members(store)
    assert rows(con)[(firms["camera"], "integrated_circuits.downstream")] == ("member", "code")
    actions = [a for (a,) in con.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()]
    assert actions.count("chains.member.set") == 3 and actions.count("chains.member.clear") == 1


def test_manual_rows_survive_a_reimport_of_the_register(store, firms, tmp_path):
    from shanhai.ingest import import_file

    mb.assign_members(store)
    mb.set_manual(store, firms["camera"], "integrated_circuits.downstream", "excluded")
    path = tmp_path / "企业.csv"
    path.write_text("统一社会信用代码,企业名称,县(市、区),行业代码,经营范围\n"
                    f"{firms['camera']},杭州甲科技有限公司,{HANGZHOU_COUNTY},3939,安防摄像机的生产\n", "utf-8")
    result = import_file(store, "enterprises", path)
    assert result.updated == 1, result.rejects
    assert store.con.execute(f"SELECT business_scope FROM enterprises WHERE uscc = '{firms['camera']}'").fetchone()[0] \
        == "安防摄像机的生产"
    mb.assign_members(store)
    assert rows(store.con, firms["camera"])[(firms["camera"], "integrated_circuits.downstream")] == ("excluded", "manual")


def test_exclusions_load_from_the_segments_import(store, firms, tmp_path):
    from shanhai.ingest import import_file

    mb.assign_members(store)
    path = tmp_path / "排除.csv"
    path.write_text("统一社会信用代码,产业链环节,角色\n"
                    f"{firms['frames']},digital_security.midstream,排除\n", "utf-8")
    result = import_file(store, "enterprise-segments", path)
    assert result.updated == 1, result.rejects
    mb.assign_members(store)
    assert rows(store.con, firms["frames"])[(firms["frames"], "digital_security.midstream")] == ("excluded", "manual")


def test_set_manual_checks_its_arguments(store, firms):
    with pytest.raises(ShanhaiError, match="unknown role 'boss'"):
        mb.set_manual(store, firms["camera"], "digital_security.midstream", "boss")
    with pytest.raises(NotFoundError, match="not in the enterprise register"):
        mb.set_manual(store, uscc(999), "digital_security.midstream", "member")
    with pytest.raises(NotFoundError, match="no chain segment"):
        mb.set_manual(store, firms["camera"], "digital_security.nowhere", "member")


def test_dataset_limits_the_recomputation(store, firms):
    con = store.con
    other = add_firm(con, 7, "3939", "杭州庚科技有限公司", dataset="t2")
    mb.assign_members(store)
    # the register changes; recomputing dataset t2 only leaves t1's rows as they were
    con.execute(f"UPDATE enterprises SET industry_code = '1431' WHERE uscc IN ('{firms['camera']}', '{other}')")
    summary = mb.assign_members(store, dataset="t2")
    assert summary.dataset == "t2"
    assert rows(con, other) == {}
    assert (firms["camera"], "digital_security.midstream") in rows(con)
    with pytest.raises(NotFoundError, match="no enterprises of dataset 'nope'"):
        mb.assign_members(store, dataset="nope")


# ---- chain leaders -------------------------------------------------------------------------------

PENS = """
[[chains]]
chain_id = "pens"
name = "制笔"
[[chains.segments]]
stage = "midstream"
name = "笔的制造"
codes = ["2412"]
[[chains.segments]]
stage = "downstream"
name = "文具销售"
keywords = ["文具批发"]
"""


def test_leaders_follow_the_rule(store, tmp_path):
    assert (reference.LEADER_RULE.province_top, reference.LEADER_RULE.city_min_members) == (3, 20)
    con = store.con
    path = tmp_path / "pens.toml"
    path.write_text(PENS, "utf-8")
    chain_model.import_chains(store, path)
    # 杭州: 21 above-scale members with revenue 100..120; 宁波: 5 with revenue 1000..1004
    hz = [add_firm(con, 100 + i, "2412", f"杭州笔{i}有限公司", revenue=100 + i, above=True) for i in range(21)]
    nb = [add_firm(con, 200 + i, "2412", f"宁波笔{i}有限公司", county=NINGBO_COUNTY, revenue=1000 + i, above=True)
          for i in range(5)]
    big_small = add_firm(con, 300, "2412", "宁波大而非规上笔业有限公司", county=NINGBO_COUNTY, revenue=9999, above=False)
    old_star = add_firm(con, 301, "2412", "宁波旧星笔业有限公司", county=NINGBO_COUNTY, revenue=50_000, above=True,
                        year=YEAR - 1)
    con.execute(f"INSERT INTO enterprise_years (uscc, year, above_scale, revenue) VALUES ('{old_star}', {YEAR}, true, 1)")
    trader = add_firm(con, 302, "5141", "宁波文具批发有限公司", county=NINGBO_COUNTY, revenue=5000, above=True)
    summary = mb.assign_members(store)
    leaders = {u for (u, s), (r, m) in rows(con).items() if s.startswith("pens.") and r == "chain_leader"}
    # province: the trader (a keyword member, 5000) and 宁波's two largest; 杭州 (21 ≥ 20) adds its largest;
    # 宁波 has 7 above-scale members (< 20): no city leader beyond the province's top 3
    assert leaders == {trader, nb[4], nb[3], hz[20]}
    assert big_small not in leaders and old_star not in leaders
    assert summary.chains["pens"]["leaders"] == 4
    # a leader's every row in the chain carries the role
    assert rows(con, trader) == {(trader, "pens.downstream"): ("chain_leader", "keyword")}


def test_synthetic_province_follows_the_same_rule(small_db, tmp_path):
    """With keywords out of the way, recomputing the synthetic province reproduces its membership
    and chain leaders row for row: both read reference.LEADER_RULE."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        con = store.con
        generated = set(con.execute("SELECT uscc, segment_id, role, method, dataset_id FROM enterprise_segments").fetchall())
        assert {r[2] for r in generated} == {"member", "chain_leader"}
        con.execute("UPDATE chain_segments SET keywords = NULL")
        mb.assign_members(store)
        again = set(con.execute("SELECT uscc, segment_id, role, method, dataset_id FROM enterprise_segments").fetchall())
        assert again == generated


def test_keywords_on_the_synthetic_province_are_found_exactly(small_db, tmp_path):
    """Every keyword occurrence, checked against a plain substring test in SQL."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        con = store.con
        con.execute("UPDATE enterprises SET business_scope = '锂电池隔膜、印染加工' WHERE hash(uscc) % 50 = 0")
        summary = mb.assign_members(store)
        assert summary.keyword > 0
        found = set(con.execute("SELECT uscc, segment_id FROM enterprise_segments WHERE method = 'keyword'").fetchall())
        expected = set(con.execute("""
            WITH kw AS (SELECT segment_id, unnest(string_split(keywords, ';')) AS word FROM chain_segments),
            hit AS (SELECT DISTINCT e.uscc, kw.segment_id FROM enterprises e JOIN kw
                    ON contains(lower(concat_ws('|', e.name, e.business_scope)), lower(kw.word))),
            placed AS (SELECT uscc, segment_id FROM hit UNION
                       SELECT h.uscc, s.parent_segment_id FROM hit h JOIN chain_segments s USING (segment_id)
                       WHERE s.parent_segment_id IS NOT NULL)
            SELECT uscc, segment_id FROM placed
            EXCEPT SELECT uscc, segment_id FROM enterprise_segments WHERE method = 'code'""").fetchall())
        assert found == expected


# ---- keyword matching, exhaustively on small alphabets ------------------------------------------

def _bare_store() -> Store:
    con = duckdb.connect()
    con.execute("CREATE TABLE enterprises (uscc VARCHAR PRIMARY KEY, name VARCHAR, business_scope VARCHAR, "
                "industry_code VARCHAR, county_adcode VARCHAR, dataset_id VARCHAR)")
    con.execute("CREATE TABLE chain_segments (segment_id VARCHAR PRIMARY KEY, chain_id VARCHAR, "
                "parent_segment_id VARCHAR, keywords VARCHAR)")
    con.execute("CREATE TABLE segment_industries (segment_id VARCHAR, industry_code VARCHAR)")
    con.execute("CREATE TABLE enterprise_segments (uscc VARCHAR, segment_id VARCHAR, role VARCHAR, method VARCHAR, "
                "dataset_id VARCHAR, PRIMARY KEY (uscc, segment_id))")
    return Store(None, con, False)


_BARE = _bare_store()
words = st.text(alphabet="aBb电池", min_size=2, max_size=4)


@settings(max_examples=60, deadline=None)
@given(keywords=st.lists(st.lists(words, min_size=1, max_size=3, unique=True), min_size=1, max_size=4),
       texts=st.lists(st.tuples(st.text(alphabet="aAbB电池 x", max_size=12), st.none() | st.text(alphabet="abB电池x", max_size=8)),
                      min_size=1, max_size=6))
def test_keyword_matching_equals_substring_search(keywords, texts):
    con = _BARE.con
    for table in ("enterprises", "chain_segments", "enterprise_segments"):
        con.execute(f"DELETE FROM {table}")
    for i, ws in enumerate(keywords):
        con.execute("INSERT INTO chain_segments VALUES (?, 'c', NULL, ?)", [f"c.s{i}", ";".join(ws)])
    for i, (name, scope) in enumerate(texts):
        con.execute("INSERT INTO enterprises VALUES (?, ?, ?, '1431', '330106', 'd')", [f"F{i}", name, scope])
    regex = mb._keyword_tables(_BARE)
    got = set(con.execute(f"SELECT uscc, segment_id FROM ({mb._computed_rows_sql(mb._firms(None), regex)})").fetchall())
    want = {(f"F{i}", f"c.s{k}") for i, (name, scope) in enumerate(texts) for k, ws in enumerate(keywords)
            if any(w.lower() in "|".join(x for x in (name, scope) if x is not None).lower() for w in ws)}
    assert got == want


def test_partial_overlaps_are_found():
    assert mb._partial_overlaps({"锂电", "电池隔膜", "锂电池"}) == {("锂电", "电池隔膜"), ("锂电池", "电池隔膜")}
    assert mb._partial_overlaps({"纺织", "印染", "纺织机械"}) == set()
