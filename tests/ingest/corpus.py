"""A hostile corpus for the import engine, generated on demand (no binary fixtures in git).

Every case writes one file into a folder and says what an import of it must do: either which
rows load (the exact rows, by key, with their cleaned values) and which rows are rejected (row,
column, value, reason), or that the import is refused with a ``ShanhaiError`` naming the file.

The database a case is imported into holds the reference data and the firms ``uscc(0)`` …
``uscc(REGISTERED - 1)`` in 柯桥区 (330603), class 1752 (see ``register_firms``), nothing else.

``python -m tests.ingest.corpus FOLDER`` writes every file into FOLDER, to look at by hand.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from shanhai.uscc import check_char

REGISTERED = 60            # firms uscc(0) .. uscc(59) are in the register of every test database
COUNTY = "330603"          # 柯桥区
INDUSTRY = "1752"          # 化纤织物染整精加工


def uscc(n: int, region: str = COUNTY) -> str:
    """A valid USCC (GB 32100) for serial ``n``: 91 + region + 8-digit serial + X + check."""
    body = "91" + region + f"{n:08d}" + "X"
    return body + check_char(body)


def wrong_check(n: int) -> str:
    """``uscc(n)`` with a wrong 18th character."""
    good = uscc(n)
    return good[:17] + ("0" if good[17] != "0" else "1")


def fullwidth(text: str) -> str:
    """ASCII digits, letters and punctuation as their full-width forms (１２３．５)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def register_firms(con, serials=range(REGISTERED)) -> None:
    """Insert the register's firms directly (reference data must be loaded)."""
    rows = [(uscc(n), f"登记企业{n}", COUNTY, INDUSTRY) for n in serials]
    con.executemany("INSERT INTO enterprises (uscc, name, county_adcode, industry_code) VALUES (?, ?, ?, ?)", rows)


# ---------------------------------------------------------------------------- expectations


ANY = "<any value>"


@dataclass(frozen=True)
class Reject:
    """One explained problem: ``column`` and ``reason`` are fragments of the Problem's text;
    ``value`` is the Problem's value exactly (the cell as the user wrote it; None for a missing
    cell), or ``ANY`` where the engine reports a derived value."""

    row: int
    column: str
    value: str | None
    reason: str


@dataclass
class Case:
    name: str
    kind: str
    filename: str
    write: Callable[[Path], None]
    year: int | None = None
    # a refused file: fragments of the ShanhaiError's message (the file's path is always expected)
    error: tuple[str, ...] | None = None
    # a file that loads: key -> {column: value} of every row this import adds to the kind's table
    loaded: dict[tuple, dict] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)
    unknown_columns: tuple[str, ...] = ()
    blank_rows: int | None = None
    total_rows: int | None = None
    header_rows: list[int] | None = None
    encoding: tuple[str, ...] | None = None        # accepted values of ImportResult.encoding
    rows_in: int | None = None
    # a file that may be refused instead (a defensible choice for the engine): fragments of the message
    may_refuse: tuple[str, ...] | None = None
    xfail: str | None = None        # a known engine bug this case shows (pytest.mark.xfail(strict=True))
    note: str = ""

    @property
    def refused(self) -> bool:
        return self.error is not None


def _csv(rows: list[list[object]], encoding: str = "utf-8", newline: str = "\n") -> bytes:
    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        if any(ch in text for ch in ',"\n\r'):
            text = '"' + text.replace('"', '""') + '"'
        return text

    return (newline.join(",".join(cell(v) for v in row) for row in rows) + newline).encode(encoding)


def _write_csv(rows, encoding="utf-8", newline="\n"):
    def write(path: Path) -> None:
        path.write_bytes(_csv(rows, encoding, newline))
    return write


def _workbook(path: Path, fill: Callable, sheet: str = "数据") -> None:
    workbook = xlsxwriter.Workbook(str(path))
    formats = {
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": workbook.add_format({"num_format": "yyyy/m/d h:mm"}),
        "bold": workbook.add_format({"bold": True, "align": "center", "valign": "vcenter"}),
    }
    fill(workbook.add_worksheet(sheet), formats)
    workbook.close()


def _write_xlsx(rows: list[list[object]], sheet: str = "数据"):
    """Rows of cells: numbers as numbers, text as text (never guessed), None left empty."""
    def fill(ws, formats):
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, str(value))

    return lambda path: _workbook(path, fill, sheet)


def D(text: str) -> Decimal:
    return Decimal(text)


# ---------------------------------------------------------------------------- enterprises

ENT_HEADER = ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码", "乡镇(街道)", "成立日期"]


def gbk_csv() -> Case:
    rows = [ENT_HEADER,
            [uscc(1000), "绍兴华泰纺织有限公司", "柯桥区", "1752", "柯桥街道", "2008-05-12"],
            [uscc(1001), "浙江龙游纸业有限公司", "龙游县", "2221", "湖镇镇", "2010/3/1"],
            [uscc(1002), "丽水市莲都区锅炉厂", "331102", "C3411", None, "20150601"],
            [wrong_check(1003), "错码公司", "柯桥区", "1752", None, None]]
    return Case(
        "gbk_csv", "enterprises", "企业名录_gbk.csv", _write_csv(rows, "gbk"), encoding=("gbk", "gb18030"),
        loaded={
            (uscc(1000),): {"name": "绍兴华泰纺织有限公司", "county_adcode": "330603", "industry_code": "1752",
                            "town_name": "柯桥街道", "founded_on": dt.date(2008, 5, 12), "status": "active"},
            (uscc(1001),): {"name": "浙江龙游纸业有限公司", "county_adcode": "330825", "industry_code": "2221",
                            "town_name": "湖镇镇", "founded_on": dt.date(2010, 3, 1)},
            (uscc(1002),): {"name": "丽水市莲都区锅炉厂", "county_adcode": "331102", "industry_code": "3411",
                            "town_name": None, "founded_on": dt.date(2015, 6, 1)},
        },
        rejects=[Reject(5, "统一社会信用代码", wrong_check(1003), "校验码")])


def gb18030_csv() -> Case:
    rare = "𠀀"   # U+20000, CJK Extension B: in GB18030, not in GBK
    try:
        rare.encode("gbk")
    except UnicodeEncodeError:
        pass
    else:  # pragma: no cover - the case would not test what it says
        raise AssertionError("𠀀 should not be encodable in GBK")
    rows = [ENT_HEADER,
            [uscc(1010), f"{rare}科技有限公司", "柯桥区", "1752", "钱清街道", "2019年1月2日"],
            [uscc(1011), "景宁畲族自治县䶮业有限公司", "景宁畲族自治县", "3982", None, None],
            [uscc(1012), "未知县公司", "某某县", "1752", None, None]]
    return Case(
        "gb18030_csv", "enterprises", "名录_gb18030.csv", _write_csv(rows, "gb18030"), encoding=("gb18030",),
        loaded={
            (uscc(1010),): {"name": f"{rare}科技有限公司", "county_adcode": "330603", "town_name": "钱清街道",
                            "founded_on": dt.date(2019, 1, 2)},
            (uscc(1011),): {"name": "景宁畲族自治县䶮业有限公司", "county_adcode": "331127", "industry_code": "3982"},
        },
        rejects=[Reject(4, "县(市、区)", "某某县", "未知")])


def utf8_bom_csv() -> Case:
    rows = [["统一社会信用代码", "年份", "主营业务收入", "是否规上"],
            [uscc(0), "2023", "2500", "是"],
            [uscc(1), "2023", "1500", "否"]]

    def write(path: Path) -> None:
        path.write_bytes(_csv(rows, "utf-8-sig", "\r\n"))

    return Case(
        "utf8_bom_csv", "enterprise-years", "年度_bom.csv", write, encoding=("utf-8-sig",),
        loaded={(uscc(0), 2023): {"main_revenue": D("2500"), "above_scale": True},
                (uscc(1), 2023): {"main_revenue": D("1500"), "above_scale": False}})


def excel_dates() -> Case:
    def fill(ws, f):
        ws.write_row(0, 0, ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码", "成立日期", "注销日期", "经营状态"])
        rows = [
            (uscc(1100), "日期格子", dt.datetime(2023, 6, 5), dt.datetime(2024, 1, 2, 13, 30), "注销"),
            (uscc(1101), "斜杠日期", "2023/6/5", "2023年6月5日", "吊销"),
            (uscc(1102), "八位日期", "20230605", 45082, "迁出"),
            (uscc(1103), "点号日期", "2023.6.5", "2023-6-5", "在营"),
            (uscc(1104), "坏日期", "2023-13-05", "昨天", None),
            (uscc(1105), "太早", dt.datetime(1899, 12, 31), None, None),
            (uscc(1106), "坏状态", None, None, "倒闭"),
        ]
        for r, (code, name, founded, closed, status) in enumerate(rows, start=1):
            ws.write_string(r, 0, code)
            ws.write_string(r, 1, name)
            ws.write_string(r, 2, "柯桥区")
            ws.write_number(r, 3, 1752)
            for c, value in ((4, founded), (5, closed)):
                if isinstance(value, dt.datetime):
                    ws.write_datetime(r, c, value, f["datetime"] if value.hour else f["date"])
                elif isinstance(value, int):
                    ws.write_number(r, c, value)
                elif value is not None:
                    ws.write_string(r, c, value)
            if status:
                ws.write_string(r, 6, status)

    return Case(
        "excel_dates", "enterprises", "日期.xlsx", lambda p: _workbook(p, fill),
        loaded={
            (uscc(1100),): {"founded_on": dt.date(2023, 6, 5), "closed_on": dt.date(2024, 1, 2), "status": "closed",
                            "industry_code": "1752"},
            (uscc(1101),): {"founded_on": dt.date(2023, 6, 5), "closed_on": dt.date(2023, 6, 5), "status": "closed"},
            (uscc(1102),): {"founded_on": dt.date(2023, 6, 5), "closed_on": dt.date(2023, 6, 5),
                            "status": "moved_out"},
            (uscc(1103),): {"founded_on": dt.date(2023, 6, 5), "closed_on": dt.date(2023, 6, 5), "status": "active"},
        },
        rejects=[Reject(6, "成立日期", "2023-13-05", "日期"), Reject(6, "注销日期", "昨天", "日期"),
                 Reject(7, "成立日期", ANY, "范围"), Reject(8, "经营状态", "倒闭", "取值")])


def bad_keys() -> Case:
    base = uscc(1200)
    rows = [ENT_HEADER[:4],
            [uscc(1201), "好公司", "柯桥区", "1752"],                   # 2 loads
            [wrong_check(1202), "错校验码", "柯桥区", "1752"],            # 3
            [uscc(1203)[:17], "十七位", "柯桥区", "1752"],                # 4
            [base[:8] + "I" + base[9:], "含I", "柯桥区", "1752"],          # 5
            [base[:8] + "O" + base[9:], "含O", "柯桥区", "1752"],          # 6
            [uscc(1204).lower(), "小写", "柯桥区", "1752"],                # 7 loads, upper-cased
            [uscc(1205)[:9] + " " + uscc(1205)[9:], "中间空格", "柯桥区", "1752"],   # 8 loads
            [uscc(1206), "未知县", "某某县", "1752"],                      # 9
            [uscc(1207), "设区市不是县", "绍兴市", "1752"],                 # 10
            [uscc(1208), "未知行业", "柯桥区", "9999"],                    # 11
            [uscc(1209), "大类不是小类", "柯桥区", "17"],                   # 12
            [uscc(1201), "重复", "柯桥区", "1752"],                        # 13 duplicate of row 2
            [None, "无代码", "柯桥区", "1752"],                            # 14
            [uscc(1210), None, "柯桥区", "1752"],                          # 15 name missing
            [uscc(1201) + "0", "十九位", "柯桥区", "1752"]]                # 16
    return Case(
        "bad_keys", "enterprises", "坏代码.csv", _write_csv(rows),
        loaded={(uscc(1201),): {"name": "好公司"}, (uscc(1204),): {"name": "小写"},
                (uscc(1205),): {"name": "中间空格"}},
        rejects=[Reject(3, "统一社会信用代码", wrong_check(1202), "校验码"),
                 Reject(4, "统一社会信用代码", uscc(1203)[:17], "18"),
                 Reject(5, "统一社会信用代码", base[:8] + "I" + base[9:], "不允许"),
                 Reject(6, "统一社会信用代码", base[:8] + "O" + base[9:], "不允许"),
                 Reject(9, "县(市、区)", "某某县", "未知"),
                 Reject(10, "县(市、区)", "绍兴市", "未知"),
                 Reject(11, "行业代码", "9999", "行业"),
                 Reject(12, "行业代码", "17", "行业"),
                 Reject(13, "统一社会信用代码", uscc(1201), "与第2行重复"),
                 Reject(14, "统一社会信用代码", None, "必填"),
                 Reject(15, "企业名称", None, "必填"),
                 Reject(16, "统一社会信用代码", uscc(1201) + "0", "18")])


def unknown_columns() -> Case:
    rows = [["统一社会信用代码", "企业名称", "备注", "县(市、区)", "法人代表", "行业代码"],
            [uscc(1300), "有备注", "重点企业", "柯桥区", "张三", "1752"]]
    return Case(
        "unknown_columns", "enterprises", "多余列.csv", _write_csv(rows),
        loaded={(uscc(1300),): {"name": "有备注"}}, unknown_columns=("备注", "法人代表"))


def missing_required() -> Case:
    rows = [["统一社会信用代码", "企业名称", "行业代码"], [uscc(1400), "缺县", "1752"]]
    return Case("missing_required", "enterprises", "缺列.csv", _write_csv(rows), error=("县(市、区)",))


def headerless() -> Case:
    rows = [[uscc(1500), "无表头", "柯桥区", "1752"], [uscc(1501), "无表头2", "柯桥区", "1752"]]
    return Case("headerless", "enterprises", "无表头.csv", _write_csv(rows),
                error=("统一社会信用代码", "企业名称", "县(市、区)", "行业代码"))


def truncated_csv() -> Case:
    rows = [ENT_HEADER[:4]] + [[uscc(1600 + i), f"截断公司{i}", "柯桥区", "1752"] for i in range(4)]

    def write(path: Path) -> None:
        data = _csv(rows)
        cut = data.rindex("截断公司3".encode()) + len("截断公司3".encode())   # mid-row: after the last name
        path.write_bytes(data[:cut])

    return Case(
        "truncated_csv", "enterprises", "截断.csv", write,
        loaded={(uscc(1600 + i),): {"name": f"截断公司{i}"} for i in range(3)},
        rejects=[Reject(5, "县(市、区)", None, "必填"), Reject(5, "行业代码", None, "必填")])


def truncated_csv_in_quotes() -> Case:
    rows = [ENT_HEADER[:4]] + [[uscc(1610 + i), f"引号公司{i}", "柯桥区", "1752"] for i in range(3)]

    def write(path: Path) -> None:
        data = _csv(rows) + f'{uscc(1613)},"断在引号里的'.encode()
        path.write_bytes(data)

    return Case(
        "truncated_csv_in_quotes", "enterprises", "截断引号.csv", write,
        loaded={(uscc(1610 + i),): {"name": f"引号公司{i}"} for i in range(3)},
        rejects=[Reject(5, "县(市、区)", None, "必填"), Reject(5, "行业代码", None, "必填")],
        may_refuse=("CSV",))


def _good_workbook_bytes(folder: Path) -> bytes:
    path = folder / ".whole.xlsx"
    _write_xlsx([ENT_HEADER[:4]] + [[uscc(1700 + i), f"公司{i}", "柯桥区", "1752"] for i in range(2000)])(path)
    data = path.read_bytes()
    path.unlink()
    return data


def truncated_xlsx() -> Case:
    def write(path: Path) -> None:
        data = _good_workbook_bytes(path.parent)
        path.write_bytes(data[: len(data) // 2])

    return Case("truncated_xlsx", "enterprises", "截断.xlsx", write, error=("Excel",))


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def png_as_xlsx() -> Case:
    return Case("png_as_xlsx", "enterprises", "截图.xlsx", lambda p: p.write_bytes(PNG), error=("Excel",))


def text_as_xlsx() -> Case:
    rows = [ENT_HEADER[:4], [uscc(1800), "文本", "柯桥区", "1752"]]
    return Case("text_as_xlsx", "enterprises", "其实是文本.xlsx", _write_csv(rows), error=("Excel", ".csv"))


def zip_not_xlsx() -> Case:
    def write(path: Path) -> None:
        import zipfile
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "不是工作簿")

    return Case("zip_not_xlsx", "enterprises", "压缩包.xlsx", write, error=())


def xlsx_as_csv() -> Case:
    def write(path: Path) -> None:
        path.write_bytes(_good_workbook_bytes(path.parent))

    return Case("xlsx_as_csv", "enterprises", "工作簿.csv", write, error=(".xlsx",))


def empty_csv() -> Case:
    return Case("empty_csv", "enterprises", "空.csv", lambda p: p.write_bytes(b""), error=())


def blank_lines_csv() -> Case:
    return Case("blank_lines_csv", "enterprises", "空行.csv", lambda p: p.write_bytes(b"\r\n\n  \n"), error=())


def empty_xlsx_file() -> Case:
    return Case("empty_xlsx_file", "enterprises", "零字节.xlsx", lambda p: p.write_bytes(b""), error=())


def empty_workbook() -> Case:
    return Case("empty_workbook", "enterprises", "空工作簿.xlsx", _write_xlsx([]), error=())


def undecodable_csv() -> Case:
    def write(path: Path) -> None:
        path.write_bytes(_csv([ENT_HEADER[:4]]) + b"\xff\xfe\xfa\xfb,\x81\x20,x,y\n")

    return Case("undecodable_csv", "enterprises", "乱码.csv", write, error=("encoding",))


def header_only_csv() -> Case:
    return Case("header_only_csv", "enterprises", "只有表头.csv", _write_csv([ENT_HEADER]), rows_in=0,
                header_rows=[1])


def header_only_xlsx() -> Case:
    return Case("header_only_xlsx", "enterprises", "只有表头.xlsx", _write_xlsx([ENT_HEADER]), rows_in=0,
                header_rows=[1])


def quoted_multiline_csv() -> Case:
    rows = [ENT_HEADER[:4],
            [uscc(1900), "第一行\n第二行公司", "柯桥区", "1752"],   # lines 2-3
            [uscc(1901), '带"引号"的公司', "柯桥区", "9999"],        # line 4: rejected, row 4
            [uscc(1902), "逗号,公司", "柯桥区", "1752"]]             # line 5
    return Case(
        "quoted_multiline_csv", "enterprises", "多行.csv", _write_csv(rows, newline="\r\n"),
        loaded={(uscc(1900),): {"industry_code": "1752"}, (uscc(1902),): {"name": "逗号,公司"}},
        rejects=[Reject(4, "行业代码", "9999", "行业")])


def tsv_file() -> Case:
    def write(path: Path) -> None:
        rows = [ENT_HEADER[:4], [uscc(1950), "制表符公司", "柯桥区", "1752"]]
        path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")

    return Case("tsv_file", "enterprises", "制表符.tsv", write, loaded={(uscc(1950),): {"name": "制表符公司"}})


# ---------------------------------------------------------------------------- enterprise-years


def numbers_fullwidth() -> Case:
    rows = [["统一社会信用代码", "年份", "主营业务收入", "营业收入", "实缴税金", "年平均职工人数", "用电量"],
            [fullwidth(uscc(2)), "２０２３", "１２３．５", "１，２３４", "－５", "１２", "１２３４５"],
            [uscc(3), "2023", "1,234,567.89", "1 234", "-12.5", "1,200", "12,345"],
            [uscc(4), "2023年", " 2500 ", "+10", ".5", "7.0", "1e3"],
            [uscc(5), "2023", "abc", "1", "1", "1", "1"],
            [uscc(6), "2023", "1e20", "1", "1", "1", "1"],
            [uscc(7), "2023", "2500", "1", "1", "12.5", "1"]]
    return Case(
        "numbers_fullwidth", "enterprise-years", "全角数字.csv", _write_csv(rows),
        loaded={
            (uscc(2), 2023): {"main_revenue": D("123.5"), "revenue": D("1234"), "tax_paid": D("-5"),
                              "headcount": 12, "electricity_kwh": 12345.0, "above_scale": False},
            (uscc(3), 2023): {"main_revenue": D("1234567.89"), "revenue": D("1234"), "tax_paid": D("-12.5"),
                              "headcount": 1200, "electricity_kwh": 12345.0, "above_scale": True},
            (uscc(4), 2023): {"main_revenue": D("2500"), "revenue": D("10"), "tax_paid": D("0.5"),
                              "headcount": 7, "electricity_kwh": 1000.0},
        },
        rejects=[Reject(5, "主营业务收入", "abc", "不是数字"), Reject(6, "主营业务收入", "1e20", "过大"),
                 Reject(7, "年平均职工人数", "12.5", "整数")])


def units_in_cells() -> Case:
    rows = [["统一社会信用代码", "年份", "主营业务收入", "自有用地", "租用用地", "用电量", "综合能耗", "实缴税金",
             "年平均职工人数"],
            [uscc(8), "2023", "1,234.5万元", "30亩", "2000平方米", "12万千瓦时", "5万吨标准煤", "12,345,678元", "120人"],
            [uscc(9), "2023", "0.5亿元", "1.5公顷", "1,000㎡", "1,000度", "500千克标准煤", "3千元", "8"],
            [uscc(10), "2023", "2500万", "12 亩", "3 m2", "2 MWh", "1 tce", "0.1亿", "9"],
            [uscc(11), "2023", "100美元", "1", "1", "1", "1", "1", "1"],
            [uscc(12), "2023", "2500", "30平方公里", "1", "1", "1", "1", "1"],
            [uscc(13), "2023", "12%", "1", "1", "1", "1", "1", "1"],
            [uscc(14), "2023", "2500", "1", "1", "1", "1", "1", "3吨"]]
    return Case(
        "units_in_cells", "enterprise-years", "单元格单位.csv", _write_csv(rows),
        loaded={
            (uscc(8), 2023): {"main_revenue": D("1234.5"), "land_own_mu": D("30"), "land_leased_mu": D("3"),
                              "electricity_kwh": 120000.0, "energy_tce": 50000.0, "tax_paid": D("1234.5678"),
                              "headcount": 120},
            (uscc(9), 2023): {"main_revenue": D("5000"), "land_own_mu": D("22.5"), "land_leased_mu": D("1.5"),
                              "electricity_kwh": 1000.0, "energy_tce": 0.5, "tax_paid": D("0.3"), "headcount": 8},
            (uscc(10), 2023): {"main_revenue": D("2500"), "land_own_mu": D("12"), "land_leased_mu": D("0.0045"),
                               "electricity_kwh": 2000.0, "energy_tce": 1.0, "tax_paid": D("1000")},
        },
        rejects=[Reject(5, "主营业务收入", "100美元", "美元"), Reject(6, "自有用地", "30平方公里", "平方公里"),
                 Reject(7, "主营业务收入", "12%", "%"), Reject(8, "年平均职工人数", "3吨", "吨")])


def units_in_headers() -> Case:
    header = ["统一社会信用代码", "年份", "营业收入(亿元)", "主营业务收入（万元）", "实缴税金（元）", "用地面积(平方米)",
              "用电量(万千瓦时)", "综合能耗(万吨标准煤)", "研发经费【千元】"]
    rows = [header,
            [uscc(15), 2023, 0.25, 2500, 12345678, 2000, 12, 1.5, 1234],
            [uscc(16), 2023, "1.5", 3000, "1,234,567", "1,500", "0.5", "2", "5"],
            [uscc(17), 2023, "5000万元", 100, "1万元", "1.5公顷", "3000千瓦时", "10吨标准煤", "1万元"],
            [uscc(18), 2023, 1, 2500, 1, "-2000", 1, 1, 1]]
    return Case(
        "units_in_headers", "enterprise-years", "表头单位.xlsx", _write_xlsx(rows),
        loaded={
            (uscc(15), 2023): {"revenue": D("2500"), "main_revenue": D("2500"), "tax_paid": D("1234.5678"),
                               "land_own_mu": D("3"), "electricity_kwh": 120000.0, "energy_tce": 15000.0,
                               "rd_spending": D("123.4")},
            (uscc(16), 2023): {"revenue": D("15000"), "main_revenue": D("3000"), "tax_paid": D("123.4567"),
                               "land_own_mu": D("2.25"), "electricity_kwh": 5000.0, "energy_tce": 20000.0,
                               "rd_spending": D("0.5")},
            # a unit in the cell wins over the header's
            (uscc(17), 2023): {"revenue": D("5000"), "main_revenue": D("100"), "tax_paid": D("1"),
                               "land_own_mu": D("22.5"), "electricity_kwh": 3000.0, "energy_tce": 10.0,
                               "rd_spending": D("1")},
        },
        rejects=[Reject(5, "用地面积(平方米)", "-2000", "负")])


def blank_markers() -> Case:
    header = ["统一社会信用代码", "年份", "主营业务收入", "营业收入", "利润总额", "实缴税金", "研发经费", "用电量",
              "综合能耗", "年平均职工人数", "是否规上"]
    rows = [header,
            [uscc(19), "2023", "2500", "-", "—", "/", "无", "--", "——", "暂无", None],
            [uscc(20), "2023", "1800", "N/A", "－", "  ", "null", "#N/A", "\\", "空", ""],
            [uscc(21), "2023", "—", "1", "1", "1", "1", "1", "1", "1", "-"],
            [uscc(22), "2023", "-", "1", "1", "1", "1", "1", "1", "1", "是"]]
    nulls = {"revenue": None, "profit": None, "tax_paid": None, "rd_spending": None, "electricity_kwh": None,
             "energy_tce": None, "headcount": None}
    return Case(
        "blank_markers", "enterprise-years", "空值标记.csv", _write_csv(rows),
        loaded={(uscc(19), 2023): {"main_revenue": D("2500"), "above_scale": True, **nulls},
                (uscc(20), 2023): {"main_revenue": D("1800"), "above_scale": False, **nulls},
                (uscc(22), 2023): {"main_revenue": None, "above_scale": True, "revenue": D("1")}},
        rejects=[Reject(4, "是否规上", None, "主营业务收入")])


def merged_header() -> Case:
    """Title, blank row, two-row header with merged cells, blank rows and a blank column in
    the data, a 合计 row at the bottom."""
    def fill(ws, f):
        ws.merge_range(0, 0, 0, 7, "2023年度工业企业亩均效益评价数据(单位: 万元、亩)", f["bold"])
        # row 1 (sheet row 2) left blank
        ws.merge_range(2, 0, 3, 0, "统一社会信用代码", f["bold"])
        ws.merge_range(2, 1, 3, 1, "企业名称", f["bold"])
        ws.merge_range(2, 2, 3, 2, "年份", f["bold"])
        ws.merge_range(2, 3, 2, 4, "用地面积", f["bold"])
        ws.write(3, 3, "自有(亩)", f["bold"])
        ws.write(3, 4, "租用(亩)", f["bold"])
        # column F (5) has no header and stays blank
        ws.merge_range(2, 6, 3, 6, "主营业务收入(万元)", f["bold"])
        ws.merge_range(2, 7, 3, 7, "实缴税金(万元)", f["bold"])
        data = {4: (uscc(23), "合并表头甲", 30.5, 2, 2600, 50),
                6: (uscc(24), "合并表头乙", "12", None, 1200, "-3.5"),   # sheet row 6 follows a blank row
                7: (uscc(25), "合并表头丙", -1, 0, 3000, 1)}
        for r, (code, name, own, leased, revenue, tax) in data.items():
            ws.write_string(r, 0, code)
            ws.write_string(r, 1, name)
            ws.write_number(r, 2, 2023)
            for c, v in ((3, own), (4, leased), (6, revenue), (7, tax)):
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif v is not None:
                    ws.write_number(r, c, v)
        # sheet rows 9 and 10 blank, then the total row
        ws.merge_range(10, 0, 10, 2, "合计", f["bold"])
        ws.write_number(10, 3, 41.5)
        ws.write_number(10, 6, 6800)

    return Case(
        "merged_header", "enterprise-years", "合并表头.xlsx", lambda p: _workbook(p, fill),
        loaded={(uscc(23), 2023): {"land_own_mu": D("30.5"), "land_leased_mu": D("2"), "main_revenue": D("2600"),
                                   "tax_paid": D("50"), "above_scale": True},
                (uscc(24), 2023): {"land_own_mu": D("12"), "land_leased_mu": None, "main_revenue": D("1200"),
                                   "tax_paid": D("-3.5"), "above_scale": False}},
        rejects=[Reject(8, "自有", "-1", "负")],
        header_rows=[3, 4], blank_rows=3, total_rows=1)


def units_row_header() -> Case:
    """A header row, then a row of units under it (万元, 平方米, 元)."""
    rows = [["统一社会信用代码", "年份", "主营业务收入", "用地面积", "实缴税金"],
            [None, None, "万元", "平方米", "(元)"],
            [uscc(26), "2023", "2500", "2000", "10000"]]
    return Case(
        "units_row_header", "enterprise-years", "单位行.csv", _write_csv(rows),
        loaded={(uscc(26), 2023): {"main_revenue": D("2500"), "land_own_mu": D("3"), "tax_paid": D("1")}},
        header_rows=[1, 2])


def bad_values() -> Case:
    rows = [["统一社会信用代码", "年份", "主营业务收入", "自有用地", "出租用地", "年平均职工人数"],
            [uscc(27), "2023", "2500", "10", "2", "50"],           # 2 loads
            [uscc(27), "2022", "2400", "10", "2", "50"],           # 3 loads: same firm, other year
            [uscc(27), "2023", "9999", "10", "2", "50"],           # 4 duplicate of row 2
            [uscc(28), "2023", "2500", "-5", None, "50"],          # 5 negative land
            [uscc(29), "2023", "2500", "5", "8", "50"],            # 6 leased out > own
            [uscc(30), "1800", "2500", "5", None, "50"],           # 7 year out of range
            [uscc(31), "2023", "2500", "5", None, "-3"],           # 8 negative headcount
            [uscc(32), "二〇二三", "2500", "5", None, "50"]]       # 9 not a year
    # (a firm not in the register: test_import.test_enterprise_years_of_an_unregistered_firm_is_rejected)
    return Case(
        "bad_values", "enterprise-years", "坏数值.csv", _write_csv(rows),
        loaded={(uscc(27), 2023): {"main_revenue": D("2500"), "land_own_mu": D("10"), "land_leased_out_mu": D("2")},
                (uscc(27), 2022): {"main_revenue": D("2400")}},
        rejects=[Reject(4, "统一社会信用代码", f"{uscc(27)}|2023", "与第2行重复"), Reject(5, "自有用地", "-5", "负"),
                 Reject(6, "出租用地", ANY, "出租用地大于自有用地"), Reject(7, "年份", "1800", "范围"),
                 Reject(8, "年平均职工人数", "-3", "负"), Reject(9, "年份", "二〇二三", "年份")])


def no_above_scale_basis() -> Case:
    rows = [["统一社会信用代码", "年份", "营业收入"], [uscc(35), "2023", "2500"]]
    return Case("no_above_scale_basis", "enterprise-years", "无规上依据.csv", _write_csv(rows),
                error=("是否规上", "主营业务收入"))


def year_option() -> Case:
    rows = [["统一社会信用代码", "主营业务收入"], [uscc(33), "2500"], [uscc(34), "100"]]
    return Case("year_option", "enterprise-years", "无年份.csv", _write_csv(rows), year=2024,
                loaded={(uscc(33), 2024): {"main_revenue": D("2500")}, (uscc(34), 2024): {"main_revenue": D("100")}})


def no_year() -> Case:
    rows = [["统一社会信用代码", "主营业务收入"], [uscc(33), "2500"]]
    return Case("no_year", "enterprise-years", "无年份无参数.csv", _write_csv(rows), error=("年份", "--year"))


# ---------------------------------------------------------------------------- electricity


def wide_electricity() -> Case:
    header = ["户名", "统一社会信用代码"] + [f"{m}月(万千瓦时)" for m in range(1, 13)] + ["备注"]
    rows = [header,
            ["甲厂", uscc(40)] + [1.5] * 12 + ["正常"],
            ["乙厂", uscc(41)] + ["2"] * 6 + [None] * 5 + ["-1"],
            ["丙厂", uscc(42)] + ["１２"] + [None] * 10 + ["0.25"]]
    loaded = {(uscc(40), dt.date(2023, m, 1)): {"kwh": 15000.0} for m in range(1, 13)}
    loaded |= {(uscc(41), dt.date(2023, m, 1)): {"kwh": 20000.0} for m in range(1, 7)}
    loaded |= {(uscc(42), dt.date(2023, 1, 1)): {"kwh": 120000.0}, (uscc(42), dt.date(2023, 12, 1)): {"kwh": 2500.0}}
    return Case(
        "wide_electricity", "electricity", "用电宽表.xlsx", _write_xlsx(rows, "2023年用电"), year=2023,
        loaded=loaded,
        rejects=[Reject(3, "", "-1", "负")],
        unknown_columns=("备注",))


def wide_electricity_no_year() -> Case:
    rows = [["统一社会信用代码"] + [f"{m}月" for m in range(1, 13)], [uscc(40)] + [1] * 12]
    return Case("wide_electricity_no_year", "electricity", "用电宽表无年份.xlsx", _write_xlsx(rows),
                error=("--year",))


def long_electricity() -> Case:
    rows = [["统一社会信用代码", "户名", "抄表月份", "抄见电量(万千瓦时)", "用水量(吨)"],
            [uscc(43), "甲", "2023-01", "1.2", "30"],
            [uscc(43), "甲", "2023年2月", "12万千瓦时", "-"],
            [uscc(43), "甲", "202303", "5000千瓦时", None],
            [uscc(43), "甲", "2023/01", "1", None],        # duplicate (uscc, month) of row 2
            [uscc(44), "乙", "2023-13", "1", None]]
    return Case(
        "long_electricity", "electricity", "用电长表.csv", _write_csv(rows),
        loaded={(uscc(43), dt.date(2023, 1, 1)): {"kwh": 12000.0, "water_t": 30.0},
                (uscc(43), dt.date(2023, 2, 1)): {"kwh": 120000.0, "water_t": None},
                (uscc(43), dt.date(2023, 3, 1)): {"kwh": 5000.0}},
        rejects=[Reject(5, "", ANY, "与第2行重复"), Reject(6, "抄表月份", "2023-13", "月份")])


# ---------------------------------------------------------------------------- indicators, land


def percentages() -> Case:
    rows = [["指标代码", "指标名称", "地区", "期间", "数值"],
            ["GYZJZ", "规上工业增加值增速", "柯桥区", "2023", "8.5%"],
            ["GYZJZ", "规上工业增加值增速", "浙江省", "2023Q2", "12.5％"],
            ["MJSS", "亩均税收", "330603", "2023-06", "３０．５"],
            ["MJSS", "亩均税收", "绍兴市", "2023年6月", "-"],
            ["MJSS", "亩均税收", "火星", "2023", "1"]]
    return Case(
        "percentages", "indicators", "指标.csv", _write_csv(rows),
        loaded={("GYZJZ", "330603", "2023"): {"value": 0.085}, ("GYZJZ", "330000", "2023-Q2"): {"value": 0.125},
                ("MJSS", "330603", "2023-06"): {"value": 30.5}, ("MJSS", "330600", "2023-06"): {"value": None}},
        rejects=[Reject(6, "地区", "火星", "未知")])


def land_parcels() -> Case:
    rows = [["宗地编号", "县(市、区)", "宗地面积(平方米)", "土地状态", "权利人信用代码", "供地日期"],
            ["KQ-001", "柯桥区", "20,000", "在用", uscc(45), "2015-03-01"],
            ["KQ-002", "柯桥区", "3公顷", "批而未供", None, None],
            ["KQ-003", "柯桥区", "-100", "在用", None, None],
            ["KQ-004", "柯桥区", "100", "荒废", None, None],
            ["KQ-005", "柯桥区", "100", "在用", wrong_check(46), None]]
    return Case(
        "land_parcels", "land", "宗地.csv", _write_csv(rows, "gbk"),
        loaded={("KQ-001",): {"area_mu": D("30"), "land_use_status": "in_use", "holder_uscc": uscc(45),
                              "supplied_on": dt.date(2015, 3, 1)},
                ("KQ-002",): {"area_mu": D("45"), "land_use_status": "approved_not_supplied"}},
        rejects=[Reject(4, "宗地面积", "-100", "负"), Reject(5, "土地状态", "荒废", "取值"),
                 Reject(6, "权利人信用代码", wrong_check(46), "校验码")])


# ---------------------------------------------------------------------------- the corpus

BUILDERS = (gbk_csv, gb18030_csv, utf8_bom_csv, excel_dates, bad_keys, unknown_columns, missing_required,
            headerless, truncated_csv, truncated_csv_in_quotes, truncated_xlsx, png_as_xlsx, text_as_xlsx,
            zip_not_xlsx, xlsx_as_csv, empty_csv, blank_lines_csv, empty_xlsx_file, empty_workbook,
            undecodable_csv, header_only_csv, header_only_xlsx, quoted_multiline_csv, tsv_file,
            numbers_fullwidth, units_in_cells, units_in_headers, blank_markers, merged_header, units_row_header,
            bad_values, no_above_scale_basis, year_option, no_year, wide_electricity, wide_electricity_no_year, long_electricity,
            percentages, land_parcels)


def cases() -> dict[str, Case]:
    built = {}
    for builder in BUILDERS:
        case = builder()
        assert case.name not in built, case.name
        built[case.name] = case
    return built


def generate(case: Case, folder: Path) -> Path:
    """Write ``case``'s file into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.filename
    case.write(path)
    return path


if __name__ == "__main__":  # pragma: no cover - a look at the files by hand
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    for case in cases().values():
        print(generate(case, out))


# ---------------------------------------------------------------------------- reading back

KEYS = {"enterprises": ("uscc",), "enterprise_years": ("uscc", "year"), "electricity_monthly": ("uscc", "month"),
        "indicator_values": ("indicator_id", "adcode", "period"), "land_parcels": ("parcel_id",)}


def table_rows(con, table: str, columns: list[str] | None = None) -> dict[tuple, dict]:
    """Every row of ``table`` as {key tuple: {column: value}} (a duplicated key fails)."""
    names = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]
    wanted = columns or names
    out: dict[tuple, dict] = {}
    for row in con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in wanted)} FROM "{table}"').fetchall():
        record = dict(zip(wanted, row))
        key = tuple(record[c] for c in KEYS[table])
        assert key not in out, f"key {key} twice in {table}"
        out[key] = record
    return out


def content_checksums(store) -> dict:
    """Checksums of every content table (audit_log and schema_migrations excluded)."""
    return store.checksums(store.content_tables())
