"""Leaders' posts and groups over time (lib.leaders), the figures by the post of the period, an assignment's issuer."""

import json
from datetime import date

import pytest

from db import migrations as mig
from lib import assignments, demo, directory, importer, leaders, metrics, org
from lib import db as dbm
from lib.domain import SYSTEM, LeaderGroup, PermissionDenied, ValidationError
from lib.i18n import t
from lib.users import actor_for
from tests.factories import add_meeting
from tests.helpers import make_user

TODAY = date(2025, 12, 31)


def _fields(exc: pytest.ExceptionInfo) -> set[tuple[str, str]]:
    return {(e.field, e.key) for e in exc.value.errors}


@pytest.fixture
def world(db_path):
    """A commune with one cell (meets on the 10th) under a province home node; leader L1 (UV BCH, "Phó Bí thư")
    becomes UV BTV "Bí thư" on 1/7/2025, leader L2 stays UV BCH; both are assigned to the commune, once a quarter,
    for 2025. L1 attends the meetings of 10/5 and 10/8/2025, L2 none."""
    with dbm.write(db_path) as db:
        tinh = directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})
        org.set_home(db, SYSTEM, "TINH")
        xa = directory.create_unit(db, SYSTEM, {"code": "XA", "name": "Xã Nhị Long", "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "XA-A", "unit_id": xa, "name": "Chi bộ ấp A",
                                                  "cell_type": "ap_khom", "meeting_day": 10,
                                                  "valid_from": "2020-01-01"})
        l1 = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "Nguyễn Văn An", "grp": "uv_bch",
                                                  "position": "Phó Bí thư"})
        l2 = directory.create_leader(db, SYSTEM, {"code": "L2", "full_name": "Trần Thị Bình", "grp": "uv_bch"})
        for leader in (l1, l2):
            assignments.create(db, SYSTEM, {"leader_id": leader, "unit_id": xa, "decision_no": "395-QĐ/HU",
                                            "decision_date": "2025-01-02", "valid_from": "2025-01-01",
                                            "valid_to": "2025-12-31"}, today=TODAY)
        first = leaders.latest_post(db, l1)["id"]
        leaders.end_post(db, SYSTEM, first, "2025-06-30")
        leaders.create_post(db, SYSTEM, {"leader_id": l1, "unit_id": tinh, "title": "Bí thư", "grp": "uv_btv",
                                         "valid_from": "2025-07-01"})
    add_meeting(db_path, cell, "2025-05-10", leaders=[{"leader_id": l1}])
    add_meeting(db_path, cell, "2025-08-10", leaders=[{"leader_id": l1}])
    return {"tinh": tinh, "xa": xa, "cell": cell, "l1": l1, "l2": l2, "first": first}


# ---- the figures by the post of the period ---------------------------------------------------


def _groups(db_path, period) -> list[tuple]:
    return [(g["grp"], g["leaders"], g["expected"], g["attended"], g["compliance"])
            for g in metrics.participation_by_group(db_path, period, today=TODAY)]


def test_a_leader_counts_in_the_old_group_before_the_change_and_in_the_new_one_after(db_path, world):
    # Q2: both leaders UV BCH; each expected at 1 meeting (3 months × 1 a quarter / 3): 2 expected, L1 attended 1.
    assert _groups(db_path, "2025-Q2") == [("uv_bch", 2, 2.0, 1, 0.5)]
    # Q3: L1 is UV BTV (the post valid on 30/9), attended 1 of 1; L2 alone in UV BCH, 0 of 1.
    assert _groups(db_path, "2025-Q3") == [("uv_btv", 1, 1.0, 1, 1.0), ("uv_bch", 1, 1.0, 0, 0.0)]
    # The year: the post valid on 31/12 counts, L1 expected at 4 and attended 2.
    assert _groups(db_path, "2025") == [("uv_btv", 1, 4.0, 2, 0.5), ("uv_bch", 1, 4.0, 0, 0.0)]
    by_leader = {r["leader_code"]: r["grp"] for r in metrics.participation_by_leader(db_path, "2025-Q2", today=TODAY)}
    assert by_leader == {"L1": "uv_bch", "L2": "uv_bch"}
    page = metrics.leaders_page(db_path, "2025-Q3", today=TODAY)
    assert [g["grp"] for g in page["participation_by_group"]] == ["uv_btv", "uv_bch"]
    # the post title of the period, for the page
    assert metrics.leader_posts(db_path, "2025-Q2")["L1"]["title"] == "Phó Bí thư"
    assert metrics.leader_posts(db_path, "2025-Q3")["L1"]["title"] == "Bí thư"
    assert metrics.leader_posts(db_path, "2025-Q3")["L2"]["grp"] == "uv_bch"


def test_a_post_ended_within_the_period_counts_when_none_is_valid_at_its_end(db_path, world):
    with dbm.write(db_path) as db:
        second = leaders.latest_post(db, world["l1"])["id"]
        leaders.end_post(db, SYSTEM, second, "2025-08-31")
    # Q3: no post of L1 is valid on 30/9; the last one valid in the quarter (UV BTV, to 31/8) counts.
    assert _groups(db_path, "2025-Q3") == [("uv_btv", 1, 1.0, 1, 1.0), ("uv_bch", 1, 1.0, 0, 0.0)]


def test_of_two_posts_valid_at_the_end_the_most_senior_group_counts_however_long_each_runs(db_path, world):
    with dbm.write(db_path) as db:
        # L2: the open UV BCH post, and a UV BTV one from 1/7/2025 to 30/6/2026 (both valid on 30/9/2025)
        leaders.create_post(db, SYSTEM, {"leader_id": world["l2"], "grp": "uv_btv", "title": "Ủy viên BTV",
                                         "valid_from": "2025-07-01", "valid_to": "2026-06-30"})
    assert _groups(db_path, "2025-Q3") == [("uv_btv", 2, 2.0, 1, 0.5)]
    assert metrics.leader_posts(db_path, "2025-Q3")["L2"]["title"] == "Ủy viên BTV"
    assert _groups(db_path, "2025-Q2") == [("uv_bch", 2, 2.0, 1, 0.5)]


def test_a_new_group_counts_under_its_own_name_and_order(db_path, world):
    with dbm.write(db_path) as db:
        leaders.create_group(db, SYSTEM, {"code": "dang_uy_vien_cb", "name": "Đảng ủy viên phụ trách chi bộ",
                                          "level": "xa", "sort_order": -1})
        leaders.create_post(db, SYSTEM, {"leader_id": world["l2"], "unit_id": world["xa"],
                                         "grp": "Đảng ủy viên phụ trách chi bộ", "valid_from": "2025-07-01"})
        assert leaders.group_labels(db)["dang_uy_vien_cb"] == "Đảng ủy viên phụ trách chi bộ"
        assert leaders.group_labels(db)["uv_btv"] == LeaderGroup.UV_BTV.label
    # L2 holds both an open UV BCH post and the new group's from 1/7: the most senior (lowest order) counts.
    assert _groups(db_path, "2025-Q3") == [("dang_uy_vien_cb", 1, 1.0, 0, 0.0), ("uv_btv", 1, 1.0, 1, 1.0)]


def test_the_post_of_a_period_is_one_index_probe(db_path, world):
    params = metrics._params(metrics.parse_period("2025"), metrics.Filters(), TODAY, report_days=7)
    with dbm.read(db_path) as db:
        for sql in (metrics.BY_LEADER_SQL, metrics.PERIOD_POSTS_SQL):
            plan = [row[3] for row in db.execute("explain query plan " + sql, params)]
            posts = [step for step in plan if step.split()[1:2] == ["lp"]]
            # every read of leader_posts is a search (its (leader_id, valid_from) index, or the id), never a scan
            assert any(step.startswith("SEARCH lp USING INDEX idx_leader_posts_leader_id") for step in posts), plan
            assert all(step.startswith("SEARCH lp USING") for step in posts), plan


# ---- posts: the store ---------------------------------------------------------------------------


def test_posts_and_leaders_stay_in_step(db_path, world):
    with dbm.read(db_path) as db:
        row = db["leaders"].get(world["l1"])
        assert (row["position"], row["grp"]) == ("Bí thư", "uv_btv")
        assert leaders.post_on(db, world["l1"], "2025-06-30")["grp"] == "uv_bch"
        assert leaders.post_on(db, world["l1"], date(2025, 7, 1))["title"] == "Bí thư"
        assert leaders.post_on(db, world["l1"], "2025-07-01")["grp_label"] == LeaderGroup.UV_BTV.label
        assert [p["grp"] for p in leaders.list_posts(db, world["l1"])] == ["uv_bch", "uv_btv"]
    with dbm.write(db_path) as db:
        # a new leader starts with one post, open at both ends, at the home node
        new = directory.create_leader(db, SYSTEM, {"code": "L3", "full_name": "Lê Văn Cư", "grp": "khac",
                                                   "position": "Chánh Văn phòng"})
        (post,) = leaders.list_posts(db, new)
        assert (post["title"], post["grp"], post["unit_id"], post["valid_from"], post["valid_to"]) == \
            ("Chánh Văn phòng", "khac", world["tinh"], None, None)
        # editing the leader's group in the directory corrects their latest post
        directory.update(db, SYSTEM, "leaders", new, {"grp": "Trưởng các ban, ngành"})
        assert leaders.latest_post(db, new)["grp"] == "truong_ban_nganh"


def test_post_refusals_name_the_field(db_path, world):
    with dbm.write(db_path) as db:
        l1 = world["l1"]
        with pytest.raises(ValidationError) as exc:  # overlaps the UV BTV post from 1/7/2025
            leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "uv_btv", "valid_from": "2025-12-01"})
        assert _fields(exc) == {("valid_from", "post_overlap")}
        assert "01/07/2025" in exc.value.errors[0].message
        with pytest.raises(ValidationError) as exc:
            leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "uv_bch", "valid_from": "2025-06-01"})
        assert _fields(exc) == {("valid_from", "post_overlap")}
        with pytest.raises(ValidationError) as exc:
            leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "uv_bch", "valid_from": "2026-02-01",
                                             "valid_to": "2026-01-01"})
        assert _fields(exc) == {("valid_to", "to_before_from")}
        with pytest.raises(ValidationError) as exc:
            leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "chu_tich", "unit_id": 999})
        assert _fields(exc) == {("grp", "bad_choice"), ("unit_id", "unknown_id")}
        with pytest.raises(ValidationError) as exc:
            leaders.create_post(db, SYSTEM, {"grp": "khac"})
        assert _fields(exc) == {("leader_id", "required")}
        leaders.create_group(db, SYSTEM, {"code": "uv_btv_tu", "name": "UV BTV Tỉnh ủy", "level": "tinh"})
        with pytest.raises(ValidationError) as exc:  # a province group at a commune
            leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "uv_btv_tu", "unit_id": world["xa"]})
        assert _fields(exc) == {("grp", "group_other_level")}
        # another group may overlap; after the end of a post, the same group may start again
        leaders.create_post(db, SYSTEM, {"leader_id": l1, "grp": "uv_btv_tu", "unit_id": world["tinh"],
                                         "valid_from": "2025-07-01"})
        with pytest.raises(ValidationError) as exc:
            leaders.update_group(db, SYSTEM, "uv_btv_tu", {"code": "x"})
        assert _fields(exc) == {("code", "code_fixed")}
        with pytest.raises(ValidationError) as exc:
            leaders.create_group(db, SYSTEM, {"code": "uv_btv", "name": "x"})
        assert _fields(exc) == {("code", "duplicate_code")}
        with pytest.raises(ValidationError) as exc:  # L1 holds a post in it
            leaders.delete_group(db, SYSTEM, "uv_btv_tu")
        assert _fields(exc) == {("code", "group_in_use")}
        leaders.create_group(db, SYSTEM, {"code": "tam", "name": "Tạm"})
        leaders.delete_group(db, SYSTEM, "tam")
        assert "tam" not in leaders.group_labels(db)
        with pytest.raises(ValidationError) as exc:
            leaders.end_post(db, SYSTEM, leaders.latest_post(db, l1)["id"], None)
        assert _fields(exc) == {("valid_to", "required")}
        with pytest.raises(ValidationError) as exc:  # the UV BCH post began with no date and ended on 30/6/2025
            leaders.end_post(db, SYSTEM, leaders.latest_post(db, l1)["id"], "2025-06-30")
        assert _fields(exc) == {("valid_to", "to_before_from")}


def test_a_post_ends_and_a_new_one_in_the_same_group_may_follow(db_path, world):
    with dbm.write(db_path) as db:
        open_post = leaders.post_on(db, world["l2"], "2025-12-31")
        leaders.end_post(db, SYSTEM, open_post["id"], "2025-12-31")
        leaders.create_post(db, SYSTEM, {"leader_id": world["l2"], "grp": "uv_bch", "title": "Ủy viên",
                                         "valid_from": "2026-01-01"})
        assert db["leaders"].get(world["l2"])["position"] == "Ủy viên"
        audit = [r["table_name"] for r in db.query("select table_name from audit_log order by id desc limit 3")]
        assert audit == ["leaders", "leader_posts", "leader_posts"]


@pytest.mark.parametrize("role", ["clerk", "viewer"])
def test_only_an_admin_writes_posts_and_groups(db_path, world, role):
    make_user(db_path, "nguoi", role, [world["xa"]] if role == "clerk" else [])
    with dbm.write(db_path) as db:
        who = actor_for(db, "nguoi")
        for write in (lambda: leaders.create_post(db, who, {"leader_id": world["l2"], "grp": "uv_btv"}),
                      lambda: leaders.end_post(db, who, world["first"], "2025-06-29"),
                      lambda: leaders.update_post(db, who, world["first"], {"title": "x"}),
                      lambda: leaders.create_group(db, who, {"code": "g", "name": "G"}),
                      lambda: leaders.update_group(db, who, "khac", {"name": "G"}),
                      lambda: leaders.delete_group(db, who, "khac")):
            with pytest.raises(PermissionDenied):
                write()
        assert db.execute("select count(*) from leader_groups").fetchone()[0] == 5
        assert leaders.list_posts(db, world["l1"])[0]["valid_to"] == "2025-06-30"


# ---- the posts import -------------------------------------------------------------------------


def _csv(rows: list[dict]) -> bytes:
    return importer.export_csv("posts", rows)


def test_posts_import_is_all_or_nothing(db_path, world):
    good = {"leader_code": "L2", "unit_code": "XA", "title": "Bí thư Đảng ủy xã", "grp": "Ủy viên Ban Thường vụ",
            "valid_from": "2025-10-01", "valid_to": None}
    rows = [good,
            {**good, "valid_from": "2026-01-01"},  # overlaps the row above (same leader, same group)
            {**good, "leader_code": "L9"}]  # no such leader
    with dbm.read(db_path) as db:
        before = db.execute("select count(*) from leader_posts").fetchone()[0]
    result = importer.run(db_path, "posts", _csv(rows), "posts.csv", SYSTEM, today=TODAY)
    assert not result.written
    assert [(e.row, e.field) for e in result.errors] == [(3, "valid_from"), (4, "leader_code")]
    assert "2" in result.errors[0].message  # names the row it overlaps
    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from leader_posts").fetchone()[0] == before
    result = importer.run(db_path, "posts", _csv([good]), "posts.csv", SYSTEM, today=TODAY)
    assert result.ok and result.written
    with dbm.read(db_path) as db:
        assert db["leaders"].get(world["l2"])["grp"] == "uv_btv"  # brought in step with the latest post
    assert {"leader_code": "L2", "unit_code": "XA", "title": "Bí thư Đảng ủy xã", "grp": "uv_btv",
            "valid_from": "2025-10-01", "valid_to": None} in importer.records(db_path, "posts")
    # the same again overlaps what is stored now
    again = importer.run(db_path, "posts", _csv([good]), "posts.csv", SYSTEM, today=TODAY)
    assert [(e.row, e.field) for e in again.errors] == [(2, "valid_from")]
    assert _groups(db_path, "2025-Q4") == [("uv_btv", 2, 2.0, 0, 0.0)]


def test_posts_import_needs_an_admin(db_path, world):
    make_user(db_path, "thuky", "clerk", [world["xa"]])
    with dbm.read(db_path) as db:
        clerk = actor_for(db, "thuky")
    result = importer.run(db_path, "posts", _csv([{"leader_code": "L2", "grp": "khac"}]), "p.csv", clerk,
                          today=TODAY)
    assert not result.written and len(result.errors) == 1 and result.errors[0].row is None


# ---- an assignment's issuer ---------------------------------------------------------------------


def test_an_assignment_belongs_to_the_node_that_issued_it(db_path, world):
    with dbm.write(db_path) as db:
        org.create_body(db, SYSTEM, {"unit_id": world["tinh"], "effective_from": "2025-07-01",
                                     "committee": "Tỉnh ủy Vĩnh Long"})
        a = assignments.create(db, SYSTEM, {"leader_id": world["l1"], "unit_id": world["xa"],
                                            "decision_no": "12-QĐ/TU", "decision_date": "2025-07-15",
                                            "valid_from": "2025-07-15"}, today=TODAY)
        row = db["assignments"].get(a)
        assert row["issuer_unit_id"] == world["tinh"]  # the home node, none being named
        assert assignments.decision_citation(db, row) == \
            "Quyết định số 12-QĐ/TU ngày 15/07/2025 của Ban Thường vụ Tỉnh ủy Vĩnh Long"
        # issued by the commune, which has no body recorded: its name
        b = assignments.create(db, SYSTEM, {"leader_id": world["l2"], "unit_id": world["xa"],
                                            "decision_no": "3-QĐ/ĐU", "decision_date": "2025-07-15",
                                            "valid_from": "2025-07-15", "issuer_unit_id": world["xa"]},
                               today=TODAY)
        assert assignments.decision_citation(db, {"id": b}) == \
            "Quyết định số 3-QĐ/ĐU ngày 15/07/2025 của Xã Nhị Long"
        # before the body took effect, no body: the unit's name
        old = db.execute("select * from assignments where decision_date = '2025-01-02' limit 1").fetchone()
        assert assignments.decision_citation(db, {"id": old[0]}).endswith("của Tỉnh ủy Vĩnh Long")
        with pytest.raises(ValidationError) as exc:
            assignments.create(db, SYSTEM, {"leader_id": world["l2"], "unit_id": world["xa"],
                                            "valid_from": "2025-07-15", "issuer_unit_id": 999}, today=TODAY)
        assert _fields(exc) == {("issuer_unit_id", "unknown_id")}
        listed = assignments.list_assignments(db, leader_id=world["l2"])
        assert {r["issuer_code"] for r in listed} == {"TINH", "XA"}


def test_the_assignments_import_takes_an_issuer_code(db_path, world):
    row = {"leader_code": "L2", "unit_code": "XA", "decision_no": "7-QĐ/ĐU", "decision_date": "2025-09-01",
           "valid_from": "2025-09-01", "issuer_code": "XA"}
    bad = importer.run(db_path, "assignments", importer.export_csv("assignments", [{**row, "issuer_code": "ZZ"}]),
                       "a.csv", SYSTEM, today=TODAY)
    assert [(e.row, e.field) for e in bad.errors] == [(2, "issuer_code")]
    plain = {k: v for k, v in row.items() if k != "issuer_code"}
    assert importer.run(db_path, "assignments", importer.export_csv("assignments", [row, plain]), "a.csv",
                        SYSTEM, today=TODAY).ok
    issuers = [r["issuer_code"] for r in importer.records(db_path, "assignments") if r["decision_no"] == "7-QĐ/ĐU"]
    assert issuers == ["XA", "TINH"]  # blank: the home node


# ---- a database migrated by m008: every figure as main computed it -------------------------------------

# main's statement and group order, before posts (leaders.grp, the enum's order)
MAIN_BY_LEADER_SQL = metrics.ASSIGNMENT_SQL + """
select l.code as leader_code, l.full_name, l.grp, count(*) as assignments,
       sum(p.expected_thirds) as expected_thirds, sum(p.attended) as attended,
       sum(p.capped_thirds) as capped_thirds, sum(p.reports) as reports,
       sum(p.late_reports) as late_reports, sum(p.missing_reports) as missing_reports
from per_assignment p join leaders l on l.id = p.leader_id
group by p.leader_id
order by l.code
"""


def _main_groups(leader_rows: list[dict]) -> list[dict]:
    order = {g.value: i for i, g in enumerate(LeaderGroup)}
    return metrics._groups_of(leader_rows, {r["grp"]: order.get(r["grp"], len(order)) for r in leader_rows})


def test_a_database_migrated_by_m008_keeps_every_leader_figure(tmp_path):
    path = tmp_path / "old.db"
    original = mig.migrate
    mig.migrate = lambda db: mig.migrations.apply(db, stop_before="m008_leader_posts")
    try:
        demo.load(path, today=date(2026, 11, 20))
    finally:
        mig.migrate = original
    dbm.init(path)  # m008: every leader one open post of their group
    with dbm.read(path) as db:
        assert db.execute("select count(*) from leader_posts where valid_from is null and valid_to is null"
                          ).fetchone()[0] == db["leaders"].count
        for period in ("2024", "2025-Q2", "2025-Q3", "2025-06", "2026"):
            for filters in (metrics.Filters(), metrics.Filters(rollup=True)):
                new = metrics.participation_by_leader(db, period, filters, date(2026, 11, 20))
                main = metrics._participation(db, MAIN_BY_LEADER_SQL, period, filters, date(2026, 11, 20))
                assert json.dumps(new, ensure_ascii=False) == json.dumps(main, ensure_ascii=False), period
                groups = metrics.participation_by_group(db, period, filters, date(2026, 11, 20))
                assert json.dumps(groups) == json.dumps(_main_groups(main)), period
        assert main and len({r["grp"] for r in main}) > 1  # the comparison means something


# ---- the pages (AppTest) ----------------------------------------------------------------------------


@pytest.fixture
def admin_at(db_path, world, monkeypatch):
    from tests.helpers import app_test, fast_hashing, login

    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", "admin")
    return login(app_test(db_path), "quantri", "Matkhau123")


def test_the_directory_page_adds_and_ends_a_post(db_path, world, admin_at):
    at = admin_at.switch_page("pages/directory.py").run()
    assert not at.exception
    # the leaders' tab, its posts and groups sections opened (only the open tab and sections are drawn)
    at.session_state["dir_tabs"] = t("page.directory.tab_leaders")
    at.session_state["dir_box_ps"] = at.session_state["dir_box_gn"] = True
    at.run()
    at.selectbox(key="dir_ps_leader").set_value(world["l2"]).run()
    history = _frame_with(at, t("field.title"))
    assert list(history[t("field.grp")]) == [LeaderGroup.UV_BCH.label]
    # end the open UV BCH post on 30/9/2025, then give L2 a UV BTV post from 1/10/2025
    at.selectbox(key="dir_pe_pick").set_value(leaders_of(db_path, world["l2"])[0]["id"])
    at.date_input(key="dir_pe_day").set_value(date(2025, 9, 30))
    at.button(key="dir_pe_save").click().run()
    assert not at.exception and not at.error
    at.text_input(key="dir_pn_title").input("Chủ nhiệm Ủy ban Kiểm tra")
    at.selectbox(key="dir_pn_grp").set_value("uv_btv")
    at.date_input(key="dir_pn_valid_from").set_value(date(2025, 10, 1))
    at.button(key="dir_pn_save").click().run()
    assert not at.exception and not at.error
    posts = leaders_of(db_path, world["l2"])
    assert [(p["grp"], p["valid_from"], p["valid_to"]) for p in posts] == [("uv_bch", None, "2025-09-30"),
                                                                         ("uv_btv", "2025-10-01", None)]
    # an overlapping post is refused with the field named, nothing written
    at.text_input(key="dir_pn_title").input("Trùng")
    at.selectbox(key="dir_pn_grp").set_value("uv_btv")
    at.date_input(key="dir_pn_valid_from").set_value(date(2025, 12, 1))
    at.button(key="dir_pn_save").click().run()
    assert any(t("field.valid_from") in e.value for e in at.error)
    assert len(leaders_of(db_path, world["l2"])) == 2
    # a new group from the groups section
    at.text_input(key="dir_gn_code").input("dang_uy_vien_cb")
    at.text_input(key="dir_gn_name").input("Đảng ủy viên phụ trách chi bộ")
    at.selectbox(key="dir_gn_level").set_value("xa")
    at.button(key="dir_gn_save").click().run()
    assert not at.exception and not at.error
    groups = _frame_with(at, t("field.sort_order"))
    assert "Đảng ủy viên phụ trách chi bộ" in list(groups[t("field.name")])


def leaders_of(db_path, leader_id) -> list[dict]:
    with dbm.read(db_path) as db:
        return leaders.list_posts(db, leader_id)


def test_the_leaders_dashboard_shows_the_group_and_post_of_the_period(db_path, world, admin_at):
    for period, title, group in (("2025-Q2", "Phó Bí thư", LeaderGroup.UV_BCH.label),
                                 ("2025-Q3", "Bí thư", LeaderGroup.UV_BTV.label)):
        admin_at.query_params["ky"] = period
        at = admin_at.switch_page("pages/leaders.py").run()
        assert not at.exception
        shown = _frame_with(at, t("field.title"))
        row = shown[shown[t("field.full_name")] == "Nguyễn Văn An"].iloc[0]
        assert (row[t("field.title")], row[t("field.grp")]) == (title, group), period


def _frame_with(at, column):
    """The first table on the page with this column (AppTest does not give a table's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# ---- the reports print groups and posts from the data ------------------------------------------


def _docx_text(content: bytes) -> str:
    import io

    from docx import Document

    doc = Document(io.BytesIO(content))
    cells = [c.text for t_ in doc.tables for row in t_.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_the_reports_print_a_new_group_by_name_and_the_post_of_the_meeting_day(db_path, world):
    import io

    from openpyxl import load_workbook

    from lib import reports

    with dbm.write(db_path) as db:
        org.create_body(db, SYSTEM, {"unit_id": world["tinh"], "effective_from": "2016-01-01",
                                     "committee": "Tỉnh ủy Vĩnh Long", "symbol_suffix": "TU"})
        leaders.create_group(db, SYSTEM, {"code": "dang_uy_vien_cb", "name": "Đảng ủy viên phụ trách chi bộ",
                                          "level": "xa", "sort_order": -1})
        leaders.create_post(db, SYSTEM, {"leader_id": world["l2"], "unit_id": world["xa"],
                                         "grp": "dang_uy_vien_cb", "valid_from": "2025-07-01"})
        may, august = (r[0] for r in db.execute("select id from meetings order by held_on"))
    # Q3 counts L2 in the new group (an enum lookup used to raise ValueError on it): its name is printed
    text = _docx_text(reports.compiled_docx(db_path, "2025-Q3", today=TODAY))
    assert "Đảng ủy viên phụ trách chi bộ" in text
    book = load_workbook(io.BytesIO(reports.data_xlsx(db_path, "2025-Q3", today=TODAY)), read_only=True)
    cells = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert "Đảng ủy viên phụ trách chi bộ" in cells and "dang_uy_vien_cb" not in cells
    # L1's own report carries the post of each meeting's day: "Phó Bí thư" in May, "Bí thư" (UV BTV) in August
    def post_lines(meeting_id):
        lines = _docx_text(reports.leader_report_docx(db_path, meeting_id, world["l1"])).splitlines()
        return [line for line in lines if line.startswith((t("field.position"), t("report.l_group")))]
    may_lines, august_lines = post_lines(may), post_lines(august)
    assert any("Phó Bí thư" in line for line in may_lines), may_lines
    assert any(LeaderGroup.UV_BCH.label in line for line in may_lines), may_lines
    assert not any("Phó" in line for line in august_lines) and any("Bí thư" in line for line in august_lines)
    assert any(LeaderGroup.UV_BTV.label in line for line in august_lines), august_lines
