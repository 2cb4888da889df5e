"""电力指数 workbook (xlsxwriter, in the house style of ``mujun_excel``): one region's production
index by industry division and by sub-region, its chain operation index by chain and segment, the
region's monthly series, and the 说明 sheet (run, rules, formulas).

It writes what :mod:`shanhai.jobs.power_index` returned for the caller's scope, nothing else."""

from __future__ import annotations

from shanhai.reports._xlsx import notes_sheet, workbook
from shanhai.reports.mujun_excel import _Formats, _print_setup, _table, _widths

COLUMNS = [("地区 region", 14), ("分组 group", 30), ("期间 period", 12), ("企业数 firms", 10),
           ("上年同期企业数 firms a year before", 14), ("日均用电 daily kWh", 16), ("上年同期 a year before", 16),
           ("电量比 energy ratio", 12), ("运行企业占比 operating share", 14), ("正常水平占比 normal share", 14),
           ("同比指数 y/y index", 12), ("运行指数 composite", 12), ("定基指数 fixed base", 12), ("样本少 thin", 8)]


def _row(f, r: dict) -> list[tuple]:
    return [(r["region_name"], f.text), (r["group_name"], f.text), (r["period_label"], f.center),
            (r["firms"], f.count), (r["firms_prev"], f.count), (r["daily_kwh"], f.money), (r["daily_kwh_prev"], f.money),
            (r["energy_ratio"], f.ratio), (r["operating_share"], f.pct), (r["normal_share"], f.pct),
            (r["yoy_index"], f.num), (r["composite_index"], f.num), (r["base_index"], f.num),
            ("是" if r["thin"] else "", f.center)]


def _sheet(wb, f, name: str, title: str, sections: list[tuple[str, list[dict]]]) -> None:
    ws = wb.add_worksheet(name)
    ws.merge_range(0, 0, 0, len(COLUMNS) - 1, title, f.title)
    ws.set_row(0, 30)
    top = 2
    for subtitle, rows in sections:
        top = _table(ws, f, top, COLUMNS, [_row(f, r) for r in rows], title=subtitle) + 1
    _widths(ws, COLUMNS)
    _print_setup(ws, 0)


def power_index_workbook(industries: dict, regions: dict, chains: dict, series: dict) -> bytes:
    """The workbook as bytes; the four documents come from ``jobs.power_index.cells`` (by group,
    production), ``cells`` (by region), ``cells`` (chain) and ``series``."""
    run, region = industries["run"], industries["region"]
    wb, buffer = workbook(f"{region['name']} 电力指数 {industries['period']}", f"run {run['run_id']}")
    f = _Formats(wb)
    head = f"{region['name']} 电力指数 Electricity indices · {industries['period']}"
    total = [industries["total"]] if industries["total"] else []
    _sheet(wb, f, "行业", f"{head} · 分行业 by industry division",
           [("本地区 the region", total), ("分行业 divisions", industries["rows"])])
    _sheet(wb, f, "地区", f"{head} · 分地区 by sub-region", [("下辖地区 sub-regions", regions["rows"])])
    _sheet(wb, f, "产业链", f"{head} · 产业链运行指数 chain operation index",
           [("产业链与环节 chains and segments", chains["rows"])])
    _sheet(wb, f, "月度", f"{region['name']} 月度走势 monthly series (全部制造业)", [("", series["rows"])])
    rules = run.get("rules")
    notes_sheet(wb, f, [
        ("计算批次 run", run["run_id"]), ("地区 region", f"{region['name']} ({region['adcode']})"),
        ("计算时间 computed at", run["created_at"]), ("计算人 by", run["created_by"]),
        ("口径 rules", rules), ("数据指纹 inputs fingerprint", run["inputs_fingerprint"]),
        ("期间 periods", f"{run['periods'][0]} – {run['periods'][-1]}（1-2月合并 Jan–Feb pooled）"),
        ("定基年 base year", run.get("base_year")),
        ("日均用电 daily use", "当期用电量 ÷ 当期天数；1-2月合并时为两月电量 ÷ 两月天数"),
        ("电量比 energy ratio", "Σ 当期日均用电 ÷ Σ 上年同期日均用电（全部有用电的企业）"),
        ("运行企业占比 operating share", "上年同期有用电的企业中，当期日均用电 ≥ 上年同期 × 运行阈值 的比例（默认 30%，广元复工口径）"),
        ("正常水平占比 normal share", "同上，阈值默认 90%（浙江 2024 年春节统计口径）"),
        ("运行指数 composite", "100 × (0.5 × 电量比 + 0.5 × 运行企业占比)，国网浙江 企业复工电力指数 形式"),
        ("定基指数 fixed base", "100 × 当期日均用电 ÷ 定基年各期日均用电的平均"),
        ("来源 source", "reference/monitoring_methods.md §2；口径文件 policy/indices/*.toml"),
        ("数据范围 scope", "仅含本账号所辖地区内企业"),
    ])
    wb.close()
    return buffer.getvalue()
