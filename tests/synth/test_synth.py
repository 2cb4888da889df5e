"""The synthetic province: shape, consistency, defects, ground truth, determinism, calibration."""

from __future__ import annotations

import json

import duckdb
import pytest

from shanhai import reference
from shanhai.errors import ShanhaiError
from shanhai.store import open_store
from shanhai.synth import SynthConfig, build
from shanhai.synth.generator import allocate
from shanhai.uscc import is_valid

STAGES = ["signed", "started", "completed", "producing", "above_scale", "full_output"]


@pytest.fixture(scope="module")
def con(small_db):
    connection = duckdb.connect(str(small_db), read_only=True)
    yield connection
    connection.close()


def one(con, sql, *args):
    return con.execute(sql, list(args)).fetchone()


def test_counts_follow_the_scale(con):
    above = one(con, "SELECT count(*) FROM enterprise_years WHERE year = 2023 AND above_scale")[0]
    assert above == 58_000 * 0.05
    evaluated = one(con, """SELECT count(*) FROM enterprise_years WHERE year = 2023 AND NOT above_scale
                            AND (land_own_mu >= 3 OR land_leased_mu > 0)""")[0]
    assert abs(evaluated - 100_000 * 0.05) <= 0.02 * 100_000 * 0.05


def test_every_uscc_is_valid_and_unique(con):
    codes = [r[0] for r in con.execute("SELECT uscc FROM enterprises").fetchall()]
    assert len(codes) == len(set(codes)) > 7000
    assert all(is_valid(c) for c in codes)
    # the registering region inside the code is the enterprise's county
    assert one(con, "SELECT count(*) FROM enterprises WHERE substr(uscc, 3, 6) <> county_adcode")[0] == 0


def test_every_county_has_industry_and_known_codes(con):
    assert one(con, "SELECT count(DISTINCT county_adcode) FROM enterprises")[0] == 90
    classes = {i.code for i in reference.industry_classes()}
    codes = {r[0] for r in con.execute("SELECT DISTINCT industry_code FROM enterprises").fetchall()}
    assert codes <= classes
    assert len(codes) > 300


def test_lead_industries_are_overrepresented(con):
    # 永嘉 leans to pumps and valves (3441, 3443): far above the province's share
    local, province = one(con, """
        SELECT avg((industry_code IN ('3441', '3443'))::INT) FILTER (WHERE county_adcode = '330324'),
               avg((industry_code IN ('3441', '3443'))::INT) FROM enterprises""")
    assert local > 5 * province


def test_above_scale_flag_matches_revenue(con):
    assert one(con, """SELECT count(*) FROM enterprise_years
                       WHERE above_scale <> (main_revenue >= 2000)""")[0] == 0
    assert one(con, "SELECT count(*) FROM enterprise_years WHERE revenue < main_revenue")[0] == 0


def test_indicators_hang_together(con):
    # value added below revenue, tax tied to value added, land used never negative
    assert one(con, "SELECT count(*) FROM enterprise_years WHERE value_added > revenue * 1.01 "
                    "AND uscc NOT IN (SELECT uscc FROM synth_ground_truth WHERE kind LIKE 'outlier%')")[0] == 0
    corr = one(con, "SELECT corr(ln(tax_paid), ln(value_added)) FROM enterprise_years WHERE tax_paid > 0")[0]
    assert corr > 0.8
    assert one(con, """SELECT count(*) FROM enterprise_years
                       WHERE land_own_mu + land_leased_mu - land_leased_out_mu < 0""")[0] == 0
    # sizes are heavy-tailed: the top 1 % of above-scale firms hold a large share of revenue
    share = one(con, """WITH r AS (SELECT main_revenue, ntile(100) OVER (ORDER BY main_revenue DESC) AS p
                                   FROM enterprise_years WHERE year = 2023 AND above_scale)
                        SELECT sum(main_revenue) FILTER (WHERE p = 1) / sum(main_revenue) FROM r""")[0]
    assert 0.15 < share < 0.6


def test_growth_is_persistent(con):
    corr = one(con, """
        WITH g AS (SELECT uscc, year, ln(main_revenue / lag(main_revenue) OVER (PARTITION BY uscc ORDER BY year)) AS g
                   FROM enterprise_years),
             p AS (SELECT g.g AS now, lag(g.g) OVER (PARTITION BY uscc ORDER BY year) AS before FROM g)
        SELECT corr(now, before) FROM p WHERE now IS NOT NULL AND before IS NOT NULL""")[0]
    assert corr > 0.2


def test_lessees_have_no_own_land(con):
    lessees, with_lease = one(con, """SELECT count(*) FILTER (WHERE land_own_mu = 0 AND land_leased_mu > 0),
                                             count(*) FILTER (WHERE land_leased_mu > 0)
                                      FROM enterprise_years WHERE year = 2023""")
    assert lessees > 1000 and with_lease >= lessees
    assert one(con, "SELECT count(*) FROM enterprise_years WHERE land_own_mu = 0 AND land_leased_mu = 0")[0] == 0


def test_defects_are_present_and_recorded(con):
    missing_energy, missing_emission = one(con, """SELECT count(*) FILTER (WHERE energy_tce IS NULL),
                                                          count(*) FILTER (WHERE emission_t IS NULL)
                                                   FROM enterprise_years""")
    assert missing_energy > 100 and missing_emission > 100
    duplicates = one(con, "SELECT count(*) FROM (SELECT name FROM enterprises GROUP BY name HAVING count(*) > 1)")[0]
    recorded = one(con, "SELECT count(*) FROM synth_ground_truth WHERE kind = 'duplicate_name'")[0]
    assert recorded > 0 and duplicates >= recorded * 0.9
    outliers = con.execute("""SELECT t.detail, t.magnitude FROM synth_ground_truth t
                              WHERE t.kind LIKE 'outlier%'""").fetchall()
    assert outliers and {d for d, _ in outliers} <= {"tax_paid", "value_added", "land_own_mu"}


def test_firms_enter_and_leave(con):
    entrants = one(con, "SELECT count(*) FROM enterprises WHERE year(founded_on) = 2024")[0]
    leavers = one(con, "SELECT count(*) FROM enterprises WHERE status = 'closed'")[0]
    assert entrants > 100 and leavers > 100
    # a closed firm has no row after it closed; an entrant none before it was founded
    assert one(con, """SELECT count(*) FROM enterprise_years y JOIN enterprises e USING (uscc)
                       WHERE y.year >= year(e.closed_on) OR y.year < year(e.founded_on)""")[0] == 0


def test_annual_electricity_is_the_sum_of_the_months(con):
    worst = one(con, """
        SELECT max(abs(y.electricity_kwh - m.kwh) / greatest(y.electricity_kwh, 1))
        FROM enterprise_years y
        JOIN (SELECT uscc, year(month) AS year, sum(kwh) AS kwh FROM electricity_monthly GROUP BY ALL) m
          USING (uscc, year)""")[0]
    assert worst < 1e-3
    assert one(con, "SELECT count(*) FROM (SELECT uscc, month FROM electricity_monthly GROUP BY ALL HAVING count(*) > 1)")[0] == 0


def test_spring_festival_dip_moves_with_the_calendar(con):
    by_month = dict(con.execute("""SELECT strftime(month, '%Y-%m'), sum(kwh) FROM electricity_monthly
                                   GROUP BY ALL""").fetchall())
    # 2023's festival was on 22 January, 2024's on 10 February
    assert by_month["2023-01"] < 0.85 * by_month["2023-03"]
    assert by_month["2024-02"] < 0.8 * by_month["2024-03"]
    assert by_month["2024-01"] > by_month["2024-02"]


def test_anomalies_are_in_the_data(con):
    rows = con.execute("""SELECT kind, uscc, start_month, magnitude FROM synth_ground_truth
                          WHERE category = 'electricity_anomaly'""").fetchall()
    kinds = {r[0] for r in rows}
    assert kinds == {"collapse", "decline", "spike"}
    checked = 0
    for kind, uscc, start, magnitude in rows[:60]:
        before = one(con, """SELECT avg(kwh) FROM electricity_monthly WHERE uscc = ?
                             AND month < ? AND month >= ? - INTERVAL 12 MONTH""", uscc, start, start)[0]
        at = one(con, "SELECT kwh FROM electricity_monthly WHERE uscc = ? AND month = ?", uscc, start)[0]
        if kind == "collapse":
            assert at < 0.5 * before
        elif kind == "spike":
            assert at > 1.8 * before
        checked += 1
    assert checked > 10


def test_zones_parcels_projects_and_chains(con):
    assert one(con, "SELECT count(*) FROM zones")[0] == 90
    statuses = {r[0] for r in con.execute("SELECT DISTINCT land_use_status FROM land_parcels").fetchall()}
    assert {"in_use", "approved_not_supplied", "supplied_not_used", "underused", "built_not_operating",
            "operating_below_standard"} <= statuses
    stages = {r[0] for r in con.execute("SELECT DISTINCT stage FROM projects").fetchall()}
    assert stages == set(STAGES)
    # events follow the lifecycle order in time, and a project's stage is its last event
    bad = one(con, """
        WITH e AS (SELECT project_id, event_date, list_position(?, stage) AS k FROM project_events)
        SELECT count(*) FROM e a JOIN e b USING (project_id) WHERE a.k < b.k AND a.event_date > b.event_date""",
        STAGES)[0]
    assert bad == 0
    assert one(con, """SELECT count(*) FROM projects p WHERE stage <> (
                         SELECT arg_max(stage, list_position(?, stage)) FROM project_events e
                         WHERE e.project_id = p.project_id)""", STAGES)[0] == 0
    coop = con.execute("""SELECT p.first_contact_adcode, r.mountain26 FROM projects p
                          JOIN regions r ON r.adcode = p.landing_adcode WHERE is_cooperation""").fetchall()
    assert coop and all(m for _, m in coop)
    assert one(con, "SELECT count(*) FROM projects WHERE first_contact_adcode <> landing_adcode")[0] > len(coop)
    leaders = dict(con.execute("""SELECT s.chain_id, count(DISTINCT es.uscc) FROM enterprise_segments es
                                  JOIN chain_segments s USING (segment_id) WHERE role = 'chain_leader'
                                  GROUP BY ALL""").fetchall())
    assert len(leaders) == 10 and all(n >= 3 for n in leaders.values())


def test_rows_are_traced_to_their_dataset(con, small_build):
    dataset = small_build.config.dataset_id
    for table in ("enterprises", "enterprise_years", "electricity_monthly", "projects", "land_parcels"):
        assert one(con, f"SELECT count(*) FROM {table} WHERE dataset_id IS DISTINCT FROM ?", dataset)[0] == 0
    params = json.loads(one(con, "SELECT params FROM datasets WHERE dataset_id = ?", dataset)[0])
    assert params["seed"] == 7 and params["base_year"] == 2023


def test_same_seed_same_database_other_seed_other_database(tmp_path, small_db):
    again = build(tmp_path / "again.duckdb", SynthConfig(scale=0.05, seed=7)).path
    other = build(tmp_path / "other.duckdb", SynthConfig(scale=0.05, seed=8)).path
    with open_store(small_db, read_only=True) as a, open_store(again, read_only=True) as b, \
            open_store(other, read_only=True) as c:
        assert a.content_tables() == b.content_tables()
        first = a.checksums(a.content_tables())
        assert first == b.checksums(b.content_tables())
        assert first["enterprises"] != c.checksums(["enterprises"])["enterprises"]


def test_calibration_at_demo_scale(tmp_path):
    result = build(tmp_path / "demo.duckdb", SynthConfig(scale=0.1, seed=7))
    failed = [(r.key, r.target, r.actual) for r in result.calibration if not r.ok]
    assert not failed
    assert len(result.calibration) == 15


def test_refuses_to_mix_then_replaces(tmp_path):
    path = tmp_path / "p.duckdb"
    build(path, SynthConfig(scale=0.02, seed=1))
    with pytest.raises(ShanhaiError, match="--replace"):
        build(path, SynthConfig(scale=0.02, seed=2))
    result = build(path, SynthConfig(scale=0.02, seed=2), replace=True)
    with open_store(path, read_only=True) as store:
        datasets = [r[0] for r in store.con.execute("SELECT DISTINCT dataset_id FROM enterprises").fetchall()]
        towns = store.con.execute("SELECT count(*) FROM regions WHERE level = 'town'").fetchone()[0]
    assert datasets == [result.config.dataset_id]
    assert towns == result.rows["regions"]


@pytest.mark.parametrize("kwargs, message", [
    ({"scale": 0}, "--scale"),
    ({"scale": 50}, "--scale"),
    ({"seed": -1}, "--seed"),
    ({"years": (2019, 2020)}, "--years"),
    ({"years": (2021, 2023)}, "contiguous"),
    ({"years": (2023,)}, "two years"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ShanhaiError, match=message):
        SynthConfig(**kwargs)


def test_allocate_is_exact_and_proportional():
    import numpy as np

    counts = allocate(100, np.array([1.0, 1.0, 2.0]))
    assert counts.tolist() == [25, 25, 50]
    assert allocate(7, np.array([1.0, 1.0, 1.0])).sum() == 7
    assert allocate(10, np.array([100.0, 1.0]), minimum=2).tolist() == [8, 2]


@pytest.mark.slow
def test_full_scale_is_calibrated_and_deterministic(tmp_path):
    """The issue's acceptance: scale 1, seed 7, twice: identical tables, every row within ±10 %."""
    first = build(tmp_path / "a.duckdb", SynthConfig(scale=1.0, seed=7))
    assert [(r.key, r.actual) for r in first.calibration if not r.ok] == []
    assert 57_000 <= first.rows["enterprise_years"] / 4 / 2.8 <= 60_000 or first.rows["enterprises"] > 150_000
    second = build(tmp_path / "b.duckdb", SynthConfig(scale=1.0, seed=7))
    with open_store(first.path, read_only=True) as a, open_store(second.path, read_only=True) as b:
        assert a.checksums(a.content_tables()) == b.checksums(b.content_tables())


def test_unverified_category_is_marked_where_shown(small_build):
    labels = [row.label for row in small_build.calibration if "mountain_tax_per_mu" in row.key]
    assert len(labels) == 2 and all("待核实" in label for label in labels)


@pytest.mark.parametrize("scale", [0.0001, 0.002])
def test_tiny_scales_build(tmp_path, scale):
    """Every scale the configuration accepts builds: at a few dozen firms some counties, and even a
    whole mountain category, draw no above-scale firm, and the calibration then leaves them alone
    instead of dividing by zero (scale 0.002 stopped on a NaN land area, 0.001 and below on a
    county index past the end and an empty mountain total)."""
    result = build(tmp_path / "tiny.duckdb", SynthConfig(scale=scale, seed=7, years=(2022, 2023)))
    with duckdb.connect(str(result.path), read_only=True) as con:
        firms, above = one(con, "SELECT count(DISTINCT uscc), count(*) FILTER (WHERE above_scale) "
                                "FROM enterprise_years WHERE year = 2023")
        assert firms > 0 and above > 0
        # the calibrated figures are numbers (a NaN factor would have failed the DECIMAL columns' insert)
        assert one(con, "SELECT count(*) FROM enterprise_years WHERE above_scale AND NOT isfinite(value_added::DOUBLE)")[0] == 0
