"""The numbers pages print (shanhai.web.screens, ``fmt`` in templates): no negative zero, and a table
column of amounts in one unit."""

from __future__ import annotations

import math
import re

from shanhai.web import screens


def test_a_value_that_rounds_to_zero_has_no_sign():
    assert screens.num(-0.001) == "0.00" and screens.num(-0.004, 2) == "0.00" and screens.num(-0.006) == "-0.01"
    assert screens.num(-0.4, 0) == "0" and screens.num(-1234.5) == "-1,234.50"
    assert screens.pct(-0.01) == "0.0%" and screens.pct(-0.01, signed=True) == "0.0%"
    assert screens.pct(0.0, signed=True) == "0.0%" and screens.pct(-2.5, signed=True) == "-2.5%"
    assert screens.pct(3.25, 1, signed=True) == "+3.2%"
    assert screens.share(-0.00001) == "0.0%" and screens.share(-0.5) == "-50.0%"
    assert screens.wan(-0.001) == "0.00 万元" and screens.wan(-20_000) == "-2.00 亿元"
    assert screens.num(math.nan) == "—" and screens.num(None) == "—"


def test_a_column_of_amounts_has_one_unit():
    column = [7_620.59, 328_000.0, None, math.nan, 6_581.43]
    unit = screens.wan_unit(column)
    assert unit == "亿元"
    assert [screens.wan_in(v, unit) for v in column] == ["0.76", "32.80", "—", "—", "0.66"]
    small = [7_620.59, 12.5, None]
    assert screens.wan_unit(small) == "万元" and [screens.wan_in(v, "万元") for v in small] == ["7,620.59", "12.50", "—"]
    assert screens.wan_unit([]) == "万元" and screens.wan_unit([None, math.inf]) == "万元"
    assert screens.wan_unit(iter([-20_000])) == "亿元"         # a generator (the templates' map()) is read once


def _column_units(html: str, table_id: str) -> tuple[list[str], list[list[str]]]:
    """The header cells of a table and its body rows' cells, as text."""
    import re

    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, table_id
    head, _, body = table.group(0).partition("</thead>")
    strip = lambda cell: re.sub(r"<[^>]+>", "", cell)          # noqa: E731
    rows = [[strip(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in re.split(r"<tr[ >]", body)[1:]]
    return [strip(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)], [r for r in rows if r]


def test_money_columns_carry_their_unit_in_the_header(clients):
    """The 26 counties of 山海协作, the chains, a chain's segments, the leads, the enclaves, the ledger and the
    projects: a money column
    names its unit once in its header and its cells are numbers (a column used to mix '7,620.59 万元' with
    '32.80 亿元', where the smaller amount reads larger)."""
    import re

    c = clients["admin"]
    chains = c.get("/chains").text
    chain = re.search(r'<tr data-chain="([^"]+)"', chains).group(1)
    for url, table in (("/coop", "counties-table"), ("/chains", "chains-table"), (f"/chains/{chain}", "segments-table"),
                       ("/coop/leads", "leads-table"), ("/coop/enclaves", "enclaves-table"),
                       ("/coop/ledger", "ledger-counties-table"), ("/coop/ledger", "ledger-rows-table"),
                       ("/coop/counties/331127", "county-projects-table")):
        page = c.get(url)
        assert page.status_code == 200, url
        head, rows = _column_units(page.text, table)
        money = [i for i, h in enumerate(head) if re.search(r"（(万元|亿元)）", h)]
        assert rows and money, (url, head)
        cells = [row[i] for row in rows for i in money if i < len(row)]
        assert cells and not [x for x in cells if re.search(r"万元|亿元", x)], (url, [x for x in cells if "元" in x][:5])


def test_a_policy_setting_reads_as_a_reader_writes_it():
    assert screens.setting(["A", "B"]) == "A、B" and screens.setting([]) == "（无）"
    assert screens.setting({"A": 0.2, "B": 0.5}) == "A = 0.2；B = 0.5"
    assert screens.setting(True) == "是" and screens.setting(False) == "否" and screens.setting(None) == "—"
    assert screens.setting(100.0) == "100" and screens.setting(0.125) == "0.125" and screens.setting("zero") == "zero"


def test_the_preset_comparison_shows_no_python_reprs(clients):
    page = clients["viewer"].get("/policies?a=zhejiang-2018&b=huangyan-2022").text
    cells = re.findall(r"<td><code>([^<]*)</code></td>", page)
    assert cells and not [c for c in cells if c.startswith(("[", "{", "(")) or "&#39;" in c or "True" in c]
