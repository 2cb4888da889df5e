"""The chain model as data (jobs.chain_model): user chains from TOML files and workbooks, errors
naming file, row and column, edits of packaged chains surviving a reload of the reference data,
the workbook export round trip, segment edits, deletion and restore, all audited; and the CLI
commands over them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import typer
import xlsxwriter
from typer.testing import CliRunner

from shanhai import reference
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import chain_model as cm
from shanhai.jobs import membership as mb
from shanhai.store import load_reference, open_store
from shanhai.store.audit import verify

PENS = """
[[chains]]
chain_id = "pens"
name = "制笔"
name_en = "Pens"
[[chains.segments]]
stage = "upstream"
name = "笔头与墨水"
codes = ["2642"]
keywords = ["笔头", "墨水"]
[[chains.segments]]
segment_id = "pens.upstream.tips"
parent_segment_id = "pens.upstream"
name = "笔头"
keywords = ["笔尖", "笔头"]
[[chains.segments]]
stage = "midstream"
name = "笔的制造"
codes = ["2412"]
non_manufacturing_codes = ["5141"]
"""

HEADER = ["产业链代码", "产业链名称", "环节代码", "上级环节", "环节(上游/中游/下游)", "环节名称", "行业代码", "关键词"]


def write_xlsx(path, rows, sheet="产业链"):
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    book.close()
    return path


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "c.duckdb") as s:
        load_reference(s.con)
        yield s


def normal(segments):
    """Segments with their codes in order: the store keeps a segment's codes as a set."""
    return [replace(s, codes=tuple(sorted(s.codes))) for s in segments]


def chain_ids(store):
    return [c for (c,) in store.con.execute("SELECT chain_id FROM chains ORDER BY 1").fetchall()]


def last_audit(store):
    return store.con.execute("SELECT action, target, detail FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()


def test_the_packaged_model_reads_back_from_the_store(store):
    stored = {c.chain_id: c for c in cm.stored_chains(store)}
    for chain in reference.chains():
        assert stored[chain.chain_id].segments == tuple(normal(chain.segments))
        assert (stored[chain.chain_id].name, stored[chain.chain_id].source) == (chain.name, chain.source)


# ---- TOML --------------------------------------------------------------------------------------

def test_a_user_chain_from_toml(store, tmp_path):
    path = tmp_path / "pens.toml"
    path.write_text(PENS, "utf-8")
    result = cm.import_chains(store, path, user="analyst")
    assert (result.chains, result.created, result.edited, result.segments) == (["pens"], ["pens"], [], 3)
    con = store.con
    assert con.execute("SELECT name, name_en, origin, source, updated_at IS NOT NULL FROM chains "
                       "WHERE chain_id = 'pens'").fetchone() == ("制笔", "Pens", "user", "用户文件 pens.toml", True)
    assert con.execute("SELECT segment_id, stage, parent_segment_id, keywords, non_manufacturing_codes, position "
                       "FROM chain_segments WHERE chain_id = 'pens' ORDER BY position").fetchall() == [
        ("pens.upstream", "upstream", None, "笔头;墨水", None, 0),
        ("pens.upstream.tips", "upstream", "pens.upstream", "笔尖;笔头", None, 1),
        ("pens.midstream", "midstream", None, None, "5141", 2)]
    assert con.execute("SELECT segment_id, industry_code FROM segment_industries WHERE segment_id LIKE 'pens.%' "
                       "ORDER BY 1").fetchall() == [("pens.midstream", "2412"), ("pens.upstream", "2642")]
    action, target, detail = last_audit(store)
    assert (action, target) == ("chains.import", "pens.toml") and json.loads(detail)["created"] == ["pens"]
    assert verify(con) is None
    # the stored model reads back as the file said
    (stored,) = cm.stored_chains(store, ["pens"])
    (parsed,) = reference.load_chains(path)
    assert stored.segments == parsed.segments


def test_toml_errors_name_the_file_chain_and_segment(store, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PENS.replace('codes = ["2412"]', 'codes = ["9999"]'), "utf-8")
    with pytest.raises(ShanhaiError, match=r"bad.toml: chain 'pens' segment 'pens.midstream': unknown .* code '9999'"):
        cm.import_chains(store, path)
    path.write_text("chains = [", "utf-8")
    with pytest.raises(ShanhaiError, match="bad.toml: invalid TOML"):
        cm.import_chains(store, path)
    with pytest.raises(ShanhaiError, match="not found"):
        cm.import_chains(store, tmp_path / "none.toml")
    (tmp_path / "x.csv").write_text("a", "utf-8")
    with pytest.raises(ShanhaiError, match=r"a TOML file \(.toml\) or an Excel workbook"):
        cm.import_chains(store, tmp_path / "x.csv")
    assert "pens" not in chain_ids(store)


def test_chain_names_must_differ(store, tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text(PENS.replace('name = "制笔"', 'name = "数字安防"'), "utf-8")
    with pytest.raises(ShanhaiError, match="named '数字安防' like the stored chain 'digital_security'"):
        cm.import_chains(store, path)


# ---- editing a packaged chain ------------------------------------------------------------------

def test_a_users_edit_of_a_packaged_chain_survives_reloading_the_reference(store, tmp_path):
    text = """
[[chains]]
chain_id = "digital_security"
name = "数字安防"
source = "市经信局 2025 年链图"
[[chains.segments]]
stage = "midstream"
name = "视频监控设备"
codes = ["3939"]
keywords = ["摄像机", "安防"]
"""
    path = tmp_path / "ds.toml"
    path.write_text(text, "utf-8")
    con = store.con
    firm = "91330106MA2XXXXX0A"
    con.execute(f"INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES ('{firm}', '杭州某光学', "
                "'330106', '4040')")
    mb.assign_members(store)
    assert {s for (s,) in con.execute(f"SELECT segment_id FROM enterprise_segments WHERE uscc = '{firm}'").fetchall()} \
        == {"digital_security.upstream"}
    result = cm.import_chains(store, path, user="analyst")
    assert result.edited == ["digital_security"]
    assert result.removed_segments == ["digital_security.downstream", "digital_security.upstream"]
    assert result.memberships_dropped == 1          # the firm's row in the upstream segment that is gone
    load_reference(con)                              # a newer package, say
    assert con.execute("SELECT origin, source FROM chains WHERE chain_id = 'digital_security'").fetchone() == (
        "user", "市经信局 2025 年链图")
    assert [s for (s,) in con.execute("SELECT segment_id FROM chain_segments WHERE chain_id = 'digital_security'"
                                      ).fetchall()] == ["digital_security.midstream"]
    assert con.execute("SELECT industry_code FROM segment_industries WHERE segment_id LIKE 'digital_security.%'"
                       ).fetchall() == [("3939",)]
    assert con.execute("SELECT count(*) FROM chain_segments").fetchone()[0] == 35 - 2
    # other packaged chains are still refreshed by the reload
    con.execute("UPDATE chains SET name = '改名' WHERE chain_id = 'smart_home'")
    load_reference(con)
    assert con.execute("SELECT name, origin FROM chains WHERE chain_id = 'smart_home'").fetchone() == ("智能家居", "package")
    # restore: the packaged definition is back, origin package
    back = cm.restore_chain(store, "digital_security", user="analyst")
    assert back["removed_segments"] == []
    assert con.execute("SELECT origin, updated_at FROM chains WHERE chain_id = 'digital_security'").fetchone() == (
        "package", None)
    assert cm.stored_chains(store, ["digital_security"])[0].segments == tuple(normal(reference.chains()[0].segments))
    assert last_audit(store)[:2] == ("chains.restore", "digital_security")
    with pytest.raises(NotFoundError, match="not one of the packaged chains"):
        cm.restore_chain(store, "pens")


# ---- workbooks -------------------------------------------------------------------------------

def test_export_and_import_round_trip(store, tmp_path):
    path = tmp_path / "pens.toml"
    path.write_text(PENS, "utf-8")
    cm.import_chains(store, path)
    before = cm.stored_chains(store)
    out = tmp_path / "模型.xlsx"
    summary = cm.export_chains(store, out)
    assert summary["chains"] == 11 and summary["segments"] == 38
    result = cm.import_chains(store, out, user="analyst")
    assert sorted(result.edited) == sorted(c.chain_id for c in before) and result.created == []
    assert result.removed_segments == []
    assert cm.stored_chains(store) == before
    assert store.con.execute("SELECT count(*) FROM chains WHERE origin = 'user'").fetchone()[0] == 11


def test_a_user_chain_from_a_workbook(store, tmp_path):
    path = write_xlsx(tmp_path / "链.xlsx", [
        ["某市产业链模型"],                                                   # a title row above the header
        HEADER + ["非制造业行业代码"],
        ["pens", "制笔", None, None, "上游", "笔头与墨水", "2642", "笔头、墨水"],
        ["pens", None, "pens.upstream.tips", "笔头与墨水", None, "笔头", None, "笔尖;笔头"],   # parent by name
        [None] * 8,                                                           # blank rows are skipped
        ["pens", "制笔", "pens.midstream", None, "中游", "笔的制造", 2412, None, "5141"],   # a numeric cell
    ])
    result = cm.import_chains(store, path)
    assert result.segments == 3
    (chain,) = cm.stored_chains(store, ["pens"])
    assert [(s.segment_id, s.stage, s.parent_segment_id, s.codes, s.keywords, s.non_manufacturing_codes)
            for s in chain.segments] == [
        ("pens.upstream", "upstream", None, ("2642",), ("笔头", "墨水"), ()),
        ("pens.upstream.tips", "upstream", "pens.upstream", (), ("笔尖", "笔头"), ()),
        ("pens.midstream", "midstream", None, ("2412",), (), ("5141",))]


@pytest.mark.parametrize(("rows", "message"), [
    ([HEADER, ["pens", "制笔", None, None, "上游", "笔头", "2642", None],
      ["pens", "制笔", None, None, "中游", "笔", "9999", None]],
     r"链.xlsx: 第3行 row 3 \(chain 'pens' segment 'pens.midstream'\), 列 column 行业代码: unknown .* code '9999'"),
    ([HEADER, ["pens", "制笔", None, None, "侧游", "笔", "2412", None]],
     r"第2行 row 2, 列 column 环节\(上游/中游/下游\): '侧游' is not a stage"),
    ([HEADER, [None, "制笔", None, None, "中游", "笔", "2412", None]],
     r"第2行 row 2, 列 column 产业链代码: missing"),
    ([HEADER, ["pens", "制笔", None, None, "上游", "笔头", "2642", None],
      ["pens", "文具", None, None, "中游", "笔", "2412", None]],
     r"第3行 row 3, 列 column 产业链名称: '文具' differs from '制笔'"),
    ([HEADER, ["pens", "制笔", None, None, "中游", "笔", "2412", "笔"]],
     r"第2行 row 2 \(chain 'pens' segment 'pens.midstream'\), 列 column 关键词: keyword '笔' has 1 characters"),
    ([HEADER, ["pens", "制笔", None, "pens.downstream", None, "笔芯", "2412", None],
      ["pens", "制笔", None, None, "中游", "笔", "2412", None]],
     r"第2行 row 2 \(chain 'pens'\), 列 column 环节代码: a sub-segment .* needs its own 环节代码"),
    ([HEADER, ["pens", "制笔", "pens.midstream.core", "pens.upstream", None, "笔芯", "2412", None],
      ["pens", "制笔", None, None, "中游", "笔", "2412", None]],
     r"第2行 row 2 \(chain 'pens' segment 'pens.midstream.core'\), 列 column 上级环节: 上级环节 'pens.upstream' is not a segment"),
    ([HEADER, ["Pens", "制笔", None, None, "中游", "笔", "2412", None]],
     r"第2行 row 2 \(chain 'Pens'\), 列 column 产业链代码: 产业链代码 must be English snake_case"),
    ([HEADER[:-1] + ["关键词", "颜色"], ["pens", "制笔", None, None, "中游", "笔", "2412", None, "红"]],
     r"第1行 row 1: unknown column '颜色'"),
    ([["产业链代码", "环节名称", "行业代码"], ["pens", "笔", "2412"]],
     r"第1行 row 1: missing column\(s\) 产业链名称"),
    ([HEADER], "no segments below the header row"),
    ([], "the first sheet is empty"),
])
def test_workbook_errors_name_file_row_and_column(store, tmp_path, rows, message):
    path = write_xlsx(tmp_path / "链.xlsx", rows)
    with pytest.raises(ShanhaiError, match=message):
        cm.import_chains(store, path)
    assert "pens" not in chain_ids(store) and "Pens" not in chain_ids(store)


def test_a_damaged_workbook_is_one_sentence(store, tmp_path):
    path = tmp_path / "坏.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ShanhaiError, match="cannot be read as an Excel workbook"):
        cm.import_chains(store, path)


# ---- segment edits, deletion ---------------------------------------------------------------------

def test_update_segment(store):
    segment = cm.update_segment(store, "smart_home.downstream", codes=["2110"], keywords=["全屋定制", "软装"],
                                user="analyst")
    assert (segment.codes, segment.keywords) == (("2110",), ("全屋定制", "软装"))
    con = store.con
    assert con.execute("SELECT origin FROM chains WHERE chain_id = 'smart_home'").fetchone() == ("user",)
    assert con.execute("SELECT keywords FROM chain_segments WHERE segment_id = 'smart_home.downstream'").fetchone() == (
        "全屋定制;软装",)
    # the other segments of the chain are unchanged
    assert list(cm.stored_chains(store, ["smart_home"])[0].segments[:2]) == normal(reference.chains()[8].segments[:2])
    action, target, detail = last_audit(store)
    assert (action, target) == ("chains.segment.edit", "smart_home.downstream")
    assert json.loads(detail)["before"]["keywords"] == list(reference.chains()[8].segments[2].keywords)
    with pytest.raises(ShanhaiError, match=r"表单 form: chain 'smart_home' segment 'smart_home.downstream': "
                                            r"unknown .* code '9999'"):
        cm.update_segment(store, "smart_home.downstream", codes=["9999"])
    with pytest.raises(NotFoundError):
        cm.update_segment(store, "smart_home.nowhere", codes=["2110"])
    assert cm.split_list("3973; 3976、3982，3983 3984") == ["3973", "3976", "3982", "3983", "3984"]


def test_delete_a_user_chain_with_its_membership(store, tmp_path):
    path = tmp_path / "pens.toml"
    path.write_text(PENS, "utf-8")
    cm.import_chains(store, path)
    con = store.con
    con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES "
                "('91330106MA2XXXXX0B', '杭州某笔业有限公司', '330106', '2412')")
    mb.assign_members(store)
    assert con.execute("SELECT count(*) FROM enterprise_segments WHERE segment_id LIKE 'pens.%'").fetchone()[0] == 1
    result = cm.delete_chain(store, "pens", user="analyst")
    assert result == {"chain_id": "pens", "name": "制笔", "segments": 3, "memberships_dropped": 1}
    assert "pens" not in chain_ids(store)
    assert con.execute("SELECT count(*) FROM chain_segments WHERE chain_id = 'pens'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM segment_industries WHERE segment_id LIKE 'pens.%'").fetchone()[0] == 0
    assert last_audit(store)[:2] == ("chains.delete", "pens")
    with pytest.raises(ShanhaiError, match="packaged 标志性产业链 and cannot be deleted"):
        cm.delete_chain(store, "smart_home")
    with pytest.raises(NotFoundError):
        cm.delete_chain(store, "pens")


def test_chain_list(store, tmp_path):
    path = tmp_path / "pens.toml"
    path.write_text(PENS, "utf-8")
    cm.import_chains(store, path)
    rows = {r["chain_id"]: r for r in cm.chain_list(store)}
    assert len(rows) == 11
    assert (rows["pens"]["origin"], rows["pens"]["packaged"], rows["pens"]["segments"], rows["pens"]["sub_segments"]) \
        == ("user", False, 3, 1)
    assert (rows["modern_textiles"]["origin"], rows["modern_textiles"]["packaged"], rows["modern_textiles"]["sub_segments"]) \
        == ("package", True, 2)


# ---- the CLI -------------------------------------------------------------------------------------

@pytest.fixture
def cli():
    from shanhai.cli import chain_model as commands

    app = typer.Typer()
    app.command("import")(commands.chains_import)
    app.command("export")(commands.chains_export)
    app.command("members")(commands.chains_members)
    return app


def test_cli_import_export_members(cli, tmp_path):
    db = tmp_path / "cli.duckdb"
    with open_store(db) as s:
        load_reference(s.con)
        s.con.execute("INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES "
                      "('91330106MA2XXXXX0C', '杭州某笔业有限公司', '330106', '2412')")
    runner = CliRunner()
    toml = tmp_path / "pens.toml"
    toml.write_text(PENS, "utf-8")
    r = runner.invoke(cli, ["import", str(toml), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["import"]["created"] == ["pens"] and doc["membership"]["chains"]["pens"]["firms"] == 1
    r = runner.invoke(cli, ["import", str(toml), "--db", str(db), "--no-recompute"])
    assert r.exit_code == 0 and "修改 edited: pens" in r.stdout and "chains members --recompute" in r.stdout
    out = tmp_path / "model.xlsx"
    r = runner.invoke(cli, ["export", str(out), "--db", str(db)])
    assert r.exit_code == 0 and out.is_file() and "11 条产业链" in r.stdout
    r = runner.invoke(cli, ["members", "--db", str(db), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["chains"]["pens"]["by_method"] == {"code": 1}
    r = runner.invoke(cli, ["members", "--recompute", "--db", str(db)])
    assert r.exit_code == 0 and "Membership recomputed" in r.stdout and "pens" in r.stdout
    r = runner.invoke(cli, ["members", "--dataset", "x", "--db", str(db)])
    assert r.exit_code != 0 and isinstance(r.exception, ShanhaiError)
    r = runner.invoke(cli, ["export", str(tmp_path / "model.csv"), "--db", str(db)])
    assert isinstance(r.exception, ShanhaiError) and "ending in .xlsx" in str(r.exception)
