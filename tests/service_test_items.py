"""Test-only support-policy items (惠企政策事项) written into a temporary $SHANHAI_POLICY_DIR, and a
firm of 330681 given the facts they ask for: shared by the staged pay-out and lifetime-limit tests
of the jobs, CLI, web and policy layers. Not real policies: each says so in its document."""

from __future__ import annotations

ITEM = """
name = "{name}"
display_name = "{display}"
tier = "other"
version = "1"
document = "测试文件（非真实政策）"
source = "test item (not a real policy)"
valid_from = 2015-01-01
adcode = "330681"
payment_mode = "no_application"
notice_days = 0
{top}
[amount]
kind = "fixed"
value = {value}
{amount}
[[conditions]]
id = "T-1"
label = "数字化改造投入"
field = "digital_spend"
op = ">="
value = 10
wording = "以上"
"""
STAGES_30_70 = 'stages = [{label = "完工", share = 0.3}, {label = "验收", share = 0.7}]'


def item_toml(name: str, value, amount: str = "", top: str = "", display: str | None = None) -> str:
    """An item paying ``value`` 万元 to firms with 数字化改造投入 ≥ 10; ``amount``: more [amount]
    lines (cap, lifetime_cap, stages …); ``top``: more item lines (stacking_group …)."""
    return ITEM.format(name=name, display=display or f"测试事项 {name}", value=value, amount=amount, top=top)


def install_items(tmp_path, monkeypatch, items: dict[str, str]) -> None:
    """Write ``{name: toml}`` as policy/service/NAME.toml under ``tmp_path`` and point
    $SHANHAI_POLICY_DIR at it."""
    folder = tmp_path / "policy" / "service"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in items.items():
        (folder / f"{name}.toml").write_text(text, "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path / "policy"))


def qualifying_firm(store, years) -> str:
    """The first active firm of 330681 with figures in the latest of ``years``, given 数字化改造投入
    50 万元 in each of ``years`` (so the test items above match it)."""
    y = max(years)
    uscc = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '330681' AND status = 'active' "
                             f"AND uscc IN (SELECT uscc FROM enterprise_years WHERE year = {y}) ORDER BY uscc "
                             "LIMIT 1").fetchone()[0]
    listed = ", ".join(str(int(x)) for x in years)
    store.con.execute(f"DELETE FROM service_facts WHERE uscc = '{uscc}' AND year IN ({listed})")
    for x in years:
        store.con.execute(f"INSERT INTO service_facts (uscc, year, digital_spend) VALUES ('{uscc}', {int(x)}, 50)")
    return uscc
