"""Both engines side by side (issue 17): the byte-for-byte comparison command and the benchmark on PostgreSQL."""

import json
from datetime import date
from pathlib import Path

import pytest

from bench import harness, pgequal
from lib import db as dbm
from lib import directory, metrics
from lib.domain import SYSTEM
from lib.metrics import Filters
from tests.factories import add_meeting, small_directory
from tests.pgcluster import required

TODAY = date(2026, 11, 20)


def _cluster(pg_cluster):
    return required(pg_cluster)


# ---- the filters that go to SQL as JSON lists (json_each) select the same rows on both engines -------------------

def _by_unit(db, filters: Filters) -> dict[str, tuple[int, int]]:
    rows = metrics.attendance_by_unit(db, "2025-Q1", filters, TODAY)
    return {r["unit_code"]: (r["meetings"], r["present"]) for r in rows if r["meetings"]}


def test_json_list_filters_pick_the_same_meetings_on_both_engines(db_path, engine):
    # NL: a hamlet cell (a regular meeting, 25 present, and a themed one, 20) and an office cell (10 present);
    # DP: a hamlet cell (18 present). Each filter names its values as a JSON list the SQL reads with json_each:
    # PostgreSQL compares those values as text, SQLite by the column's affinity; for the lists lib builds (codes,
    # types and ids as JSON strings and integers) both must pick the same rows.
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        office = directory.create_cell(db, SYSTEM, {"code": "NL-CQ", "unit_id": ids["u1"], "name": "Chi bộ cơ quan",
                                                    "cell_type": "co_quan", "meeting_day": 15,
                                                    "valid_from": "2020-01-01"})
    add_meeting(db_path, ids["c1"], "2025-03-31", present=25)
    add_meeting(db_path, ids["c1"], "2025-03-20", present=20, mtype="chuyen_de")
    add_meeting(db_path, office, "2025-03-15", present=10)
    add_meeting(db_path, ids["c2"], "2025-03-10", present=18)
    with dbm.read(db_path) as db:
        assert _by_unit(db, Filters()) == {"NL": (3, 55), "DP": (1, 18)}
        assert _by_unit(db, Filters(cell_types=("co_quan",))) == {"NL": (1, 10)}
        assert _by_unit(db, Filters(cell_types=("ap_khom", "co_quan"))) == {"NL": (3, 55), "DP": (1, 18)}
        assert _by_unit(db, Filters(unit_codes=("DP",))) == {"DP": (1, 18)}
        assert _by_unit(db, Filters(mtypes=("chuyen_de",))) == {"NL": (1, 20)}
        assert _by_unit(db, Filters(unit_codes=("NL",), cell_types=("ap_khom",), mtypes=("thuong_ky",))) == {
            "NL": (1, 25)}
        # integer ids in a JSON list (a clerk's communes, the cells of a page)
        assert db.execute("select count(*) from cells where unit_id in (select value from json_each(?))",
                          [json.dumps([ids["u1"]])]).fetchone()[0] == 2
        assert db.execute("select count(*) from meetings where cell_id not in (select value from json_each(?))",
                          [json.dumps([ids["c1"], office])]).fetchone()[0] == 1


# ---- python -m bench.pgequal -------------------------------------------------------------------------------------

def test_compare_counts_a_difference_and_a_failure_as_different():
    lite = {"a": '{"x": 1}', "b": '{"x": 1.0}', "c": pgequal.FAILED + "boom>", "d": "[]"}
    post = {"a": '{"x": 1}', "b": '{"x": 1}', "c": pgequal.FAILED + "boom>", "d": "[]"}
    results = {r.name: r for r in pgequal.compare(lite, post)}
    assert [n for n, r in results.items() if r.equal] == ["a", "d"]
    assert results["a"].sqlite == results["a"].postgresql == pgequal.digest('{"x": 1}')
    assert "at 7" in results["b"].detail and results["b"].sqlite != results["b"].postgresql
    # both engines failing alike is no agreement
    assert not results["c"].equal and "boom" in results["c"].detail


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    """The demo generator's database of 1,500 meetings, as `python -m lib demo --meetings 1500` builds it."""
    path = tmp_path_factory.mktemp("pgequal") / "small.db"
    assert pgequal.build(path, 1500, keep=False) is not None
    return path


def test_pgequal_compares_the_cli_and_every_bundle_on_a_copy(small_demo, pg_cluster, tmp_path, capsys):
    url = _cluster(pg_cluster).fresh()
    out = tmp_path / "RESULTS.md"
    out.write_text("<!-- sql:start -->\nthe SQL section\n<!-- sql:end -->\n", encoding="utf-8")
    try:
        code = pgequal.main(["--meetings", "1500", "--db", str(small_demo), "--keep", "--url", url,
                             "--today", "2026-11-20", "--out", str(out)])
    finally:
        _cluster(pg_cluster).drop(url)
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith(("equal", "DIFFERENT"))]
    assert code == 0, printed
    codes = pgequal.sample(small_demo)
    names = [line.split(None, 2)[2] for line in lines]
    assert len(names) == len(pgequal.items(codes, TODAY)) > 100
    # metrics --json of a year, a quarter, a month, the dashboards' default period and of a commune
    assert {"metrics --json --period 2025", "metrics --json --period 2025-Q2", "metrics --json --period 2025-06",
            "metrics --json --period 2026-Q3", f"metrics --json --period 2025 --unit {codes['commune']}"} <= set(names)
    # each bundle under a commune filter and a cell-type filter
    assert f"quality_page 2025 [commune {codes['commune']}]" in names
    assert f"overview_page 2025 [cell type {codes['cell_type']}]" in names
    assert all(line.startswith("equal") for line in lines)
    text = out.read_text(encoding="utf-8")
    assert "the SQL section" in text and "<!-- pgequal:start -->" in text
    assert f"**{len(names)} of {len(names)} equal**" in text


def test_pgequal_exits_1_on_a_difference(monkeypatch, capsys):
    different = [pgequal.Compared("overview_page 2025 [all]", False, "aaa", "bbb", 10, "at 3: …")]
    monkeypatch.setattr(pgequal, "run", lambda *a, **k: (different, {"build": None, "copy": 1.0, "sqlite": 1.0,
                                                                     "postgresql": 2.0}))
    assert pgequal.main(["--meetings", "10", "--url", "postgresql://nobody@/none"]) == 1
    assert "DIFFERENT  aaa bbb  overview_page 2025 [all]" in capsys.readouterr().out


# ---- python -m bench --engines sqlite,postgresql ------------------------------------------------------------------

def test_engines_flag():
    assert harness.parse_engines("postgresql") == ["sqlite", "postgresql"]  # SQLite's file is what is copied
    assert harness.parse_engines("sqlite") == ["sqlite"]
    with pytest.raises(Exception, match="engines must be among"):
        harness.parse_engines("mysql")
    from tests.pgcluster import bindir

    assert harness.default_engines() == (["sqlite", "postgresql"] if bindir() else ["sqlite"])


def test_bench_times_the_pages_on_both_engines_side_by_side(pg_cluster, tmp_path, monkeypatch):
    from tests.pgcluster import Cluster

    _cluster(pg_cluster)
    stopped, stop = [], Cluster.stop
    monkeypatch.setattr(Cluster, "stop", lambda self: (stopped.append(self.root), stop(self))[1])
    out = tmp_path / "RESULTS.md"
    period = str(date.today().year)  # the small demo walks back from today
    results, text = harness.run([600], 1, False, out, period, tmp_path, pages=["attendance", "weaknesses"],
                                naive=False, log=lambda *_: None, engines=["sqlite", "postgresql"])
    (res,) = results
    assert [r["page"] for r in res.pg["rows"]] == ["attendance", "weaknesses"]
    assert res.pg["copy_seconds"] > 0 and res.pg["rows_copied"] > 600
    assert all(r["sql_ms"] > 0 for r in res.pg["rows"])
    lines = text.splitlines()
    head = lines.index("| meetings | page | SQLite ms | PostgreSQL ms | PostgreSQL / SQLite | PostgreSQL floor ms | "
                       "PostgreSQL peak MB |")
    rows = [line.strip("|").split("|") for line in lines[head + 2:head + 4]]
    assert [r[1].strip() for r in rows] == ["attendance", "weaknesses"]
    assert all(r[0].strip() == "600" and r[4].strip().endswith("×") for r in rows)
    assert "Copy of the SQLite file into PostgreSQL" in text and "600 meetings" in text
    # the run's own cluster was stopped and its folder removed
    assert len(stopped) == 1 and not stopped[0].exists()


def test_the_section_keeps_one_part_per_size():
    first = pgequal.section("", 100_000, "### 100,000 meetings\n\nold")
    both = pgequal.section(first, 1_000_000, "### 1,000,000 meetings\n\nbig")
    again = pgequal.section(both, 100_000, "### 100,000 meetings\n\nnew")
    assert again == f"{pgequal.TITLE}\n\n### 100,000 meetings\n\nnew\n\n### 1,000,000 meetings\n\nbig"
