"""The demo of the real 2025 reorganisation (issue 11): the tree, successors, issuing bodies by date, the home node
(`demo --home`), leaders' posts changing at the merger, and every cell-month after 1/7/2025 in a new commune."""

import contextlib
import io
from datetime import date

import pytest

from lib import cli, demo, metrics, org
from lib import db as dbm
from lib.metrics import Filters

TODAY = date(2026, 5, 20)
NEW = ("ANTRUONG25", "BINHPHU25", "CANGLONG25", "NHILONG25", "TANAN25")
# The former district's five communes (Nghị quyết 1687/NQ-UBTVQH15), old code → new code.
SUCCESSOR = {
    "TTCL": "CANGLONG25", "MYCAM": "CANGLONG25", "NHILONGPHU": "CANGLONG25",
    "ANTRUONG": "ANTRUONG25", "ANTRUONGA": "ANTRUONG25", "TANBINH": "ANTRUONG25",
    "TANAN": "TANAN25", "HUYENHOI": "TANAN25",
    "NHILONG": "NHILONG25", "DUCMY": "NHILONG25", "DAIPHUOC": "NHILONG25",
    "BINHPHU": "BINHPHU25", "PHUONGTHANH": "BINHPHU25", "DAIPHUC": "BINHPHU25",
}


@pytest.fixture(scope="module")
def natural(tmp_path_factory):
    path = tmp_path_factory.mktemp("reorg") / "demo.db"
    demo.load(path, today=TODAY)
    return path


def units(path) -> dict[str, dict]:
    with dbm.read(path) as db:
        rows = [dict(r) for r in db.query(
            "select u.*, p.code as parent_code, p.kind as parent_kind, s.code as successor_code from units u "
            "left join units p on p.id = u.parent_id left join units s on s.id = u.successor_id")]
    return {r["code"]: r for r in rows}


def test_the_tree_has_one_root_the_district_under_it_until_the_merger_and_the_new_communes_after(natural):
    u = units(natural)
    roots = [c for c, r in u.items() if r["parent_code"] is None]
    assert roots == ["VINHLONG"] and u["VINHLONG"]["kind"] == "tinh"
    assert (u["HUYEN"]["kind"], u["HUYEN"]["parent_code"], u["HUYEN"]["valid_to"]) == ("huyen", "VINHLONG",
                                                                                     "2025-06-30")
    old = {c for c, r in u.items() if r["parent_code"] == "HUYEN"}
    assert old == set(SUCCESSOR)
    assert {u[c]["valid_to"] for c in old} == {"2025-06-30"} and {u[c]["valid_from"] for c in old} == {None}
    assert u["TTCL"]["kind"] == "thi_tran"
    new = {c for c, r in u.items() if r["parent_code"] == "VINHLONG" and c != "HUYEN"}
    assert new == set(NEW)
    assert {(u[c]["kind"], u[c]["valid_from"], u[c]["valid_to"]) for c in new} == {("xa", "2025-07-01", None)}
    # a third level: a party sub-committee under xã Càng Long, with cells of its own
    sub = u["CANGLONG25-BP"]
    assert (sub["kind"], sub["parent_code"], sub["valid_from"]) == ("dang_bo_bo_phan", "CANGLONG25", "2025-07-01")
    with dbm.read(natural) as db:
        sub_cells = {r[0] for r in db.execute("select cell_type from cells where unit_id = ?", [sub["id"]])}
        assert org.home_node(db)["code"] == "VINHLONG"
        depth = db.execute("select max(depth) from unit_tree").fetchone()[0]
    assert {"cong_an", "quan_su", "co_quan"} <= sub_cells and "ap_khom" not in sub_cells
    assert depth == 2  # province → district → commune; province → commune → sub-committee


def test_every_old_commune_and_cell_points_to_its_successor(natural):
    u = units(natural)
    assert {c: u[c]["successor_code"] for c in SUCCESSOR} == SUCCESSOR
    with dbm.read(natural) as db:
        rows = db.execute("""
            select o.code, c.name, s.name, su.code, su.parent_id
            from cells c join units o on o.id = c.unit_id
            left join cells s on s.id = c.successor_id left join units su on su.id = s.unit_id
            where o.parent_id = (select id from units where code = 'HUYEN')""").fetchall()
    assert rows and all(r[2] is not None for r in rows)  # every old cell has a successor
    by_id = {r["id"]: c for c, r in u.items()}
    for old, _, _, new_unit, new_parent in rows:
        # the successor cell lies in the subtree of the old commune's successor
        assert SUCCESSOR[old] in (new_unit, by_id.get(new_parent))
    merged = sorted((r[1], r[2]) for r in rows if r[0] == "DUCMY" and r[1].startswith("Ấp Nguyệt Lãng"))
    assert merged == [("Ấp Nguyệt Lãng A", "Ấp Nguyệt Lãng"), ("Ấp Nguyệt Lãng B", "Ấp Nguyệt Lãng")]


def test_every_cell_month_and_meeting_after_the_merger_belongs_to_a_new_commune(natural):
    with dbm.read(natural) as db:
        outside = db.execute("""
            with recursive months(first) as (
                select '2025-07-01' union all
                select date(first, '+1 month') from months where first < '2026-05-01'
            ),
            new_subtree(id) as (
                select t.descendant_id from unit_tree t join units u on u.id = t.ancestor_id
                where u.code in (select value from json_each(:new))
            )
            select count(*), sum(c.unit_id not in (select id from new_subtree))
            from cells c join months
              on coalesce(c.valid_from, '0000') <= months.first and coalesce(c.valid_to, '9999') >= months.first
            """, {"new": __import__("json").dumps(NEW)}).fetchone()
        meetings = db.execute("""
            select count(*) from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
            where m.held_on >= '2025-07-01' and u.valid_to is not null""").fetchone()[0]
    assert outside[0] > 100 * 10 and outside[1] == 0
    assert meetings == 0


def test_province_figures_roll_up_every_period(natural):
    """No rollup: the district's row holds the history until 30/6/2025, the new communes' rows after it. With
    rollup the old communes' history moves into the commune it merged into. Either way the province's totals are
    the same."""
    with dbm.read(natural) as db:
        q2 = metrics.attendance_by_unit(db, "2025-Q2", Filters(), TODAY)
        q3 = metrics.attendance_by_unit(db, "2025-Q3", Filters(), TODAY)
        year = metrics.attendance_by_unit(db, "2025", Filters(), TODAY)
        rolled = metrics.attendance_by_unit(db, "2025", Filters(rollup=True), TODAY)
        cells_q2 = db.execute("select count(*) * 3 from cells where valid_to = '2025-06-30' "
                              "and valid_from <= '2025-04-01'").fetchone()[0]
    assert [r["unit_code"] for r in q2] == ["HUYEN"]
    assert [r["unit_code"] for r in q3] == sorted(NEW)
    assert sorted(r["unit_code"] for r in year) == sorted(("HUYEN", *NEW))
    assert sorted(r["unit_code"] for r in rolled) == sorted(NEW)
    assert q2[0]["cell_months"] == cells_q2  # every old cell, three months
    for key in ("meetings", "required", "present", "cell_months", "held"):
        assert sum(r[key] for r in year) == sum(r[key] for r in rolled), key
        assert sum(r[key] for r in year) == sum(r[key] for r in q2) + sum(r[key] for r in q3) + sum(
            r[key] for r in _h1_q1_q4(natural)), key


def _h1_q1_q4(path) -> list[dict]:
    with dbm.read(path) as db:
        return metrics.attendance_by_unit(db, "2025-Q1", Filters(), TODAY) + \
            metrics.attendance_by_unit(db, "2025-Q4", Filters(), TODAY)


def test_bodies_by_date_the_district_until_30_6_2025_then_the_province_and_each_commune(natural):
    u = units(natural)
    with dbm.read(natural) as db:
        district = org.body_for(db, u["HUYEN"]["id"], "2025-06-30")
        province_before = org.body_for(db, u["VINHLONG"]["id"], "2025-06-30")
        province = org.body_for(db, u["VINHLONG"]["id"], "2025-07-01")
        commune_before = org.body_for(db, u["NHILONG25"]["id"], "2025-06-30")
        commune = org.body_for(db, u["NHILONG25"]["id"], date(2025, 7, 1))
        bodies = org.list_bodies(db)
    assert (district["upper_line"], district["committee"], district["board"], district["symbol_suffix"],
            district["place"]) == ("ĐẢNG BỘ TỈNH TRÀ VINH", "HUYỆN ỦY CÀNG LONG", "Ban Tổ chức Huyện ủy", "HU",
                                   "Càng Long")
    assert (district["signer_capacity"], district["signer_title"]) == ("T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ")
    assert province_before is None and commune_before is None
    assert (province["committee"], province["board"], province["symbol_suffix"], province["place"]) == (
        "TỈNH ỦY VĨNH LONG", "Ban Tổ chức Tỉnh ủy", "TU", "Vĩnh Long")
    assert (commune["upper_line"], commune["committee"], commune["board"], commune["symbol_suffix"],
            commune["place"], commune["signer_capacity"], commune["signer_title"]) == (
        "ĐẢNG BỘ TỈNH VĨNH LONG", "ĐẢNG ỦY XÃ NHỊ LONG", "Ban Xây dựng Đảng Đảng ủy xã", "ĐU", "Nhị Long",
        "T/M BAN THƯỜNG VỤ", "BÍ THƯ")
    assert commune["recipients"][-1] == "- Lưu Văn phòng Đảng ủy."
    assert sorted(b["unit_code"] for b in bodies) == sorted(("HUYEN", "VINHLONG", *NEW))


def test_leaders_posts_change_at_the_merger(natural):
    with dbm.read(natural) as db:
        posts = db.execute("""
            select p.title, u.code, p.grp, p.valid_from, p.valid_to from leader_posts p
            join leaders l on l.id = p.leader_id join units u on u.id = p.unit_id
            where l.code = 'HU01' order by p.valid_from""").fetchall()
        leader = db.execute("select position, grp from leaders where code = 'HU01'").fetchone()
        groups = {r[0]: (r[1], r[2]) for r in db.execute("select code, name, level from leader_groups")}
        open_posts = db.execute("""
            select l.code, l.active, count(p.id) from leaders l
            left join leader_posts p on p.leader_id = l.id and p.valid_to is null group by l.id""").fetchall()
        overlaps = db.execute("""
            select count(*) from leader_posts a join leader_posts b
              on a.leader_id = b.leader_id and a.id < b.id
             and coalesce(a.valid_from, '0000') <= coalesce(b.valid_to, '9999')
             and coalesce(b.valid_from, '0000') <= coalesce(a.valid_to, '9999')""").fetchone()[0]
        latest = db.execute("""
            select count(*) from leaders l join leader_posts p on p.leader_id = l.id and p.valid_to is null
            where l.position != p.title""").fetchone()[0]
    assert [tuple(p) for p in posts] == [
        ("Bí thư Huyện ủy", "HUYEN", "uv_btv", "2020-10-01", "2025-06-30"),
        ("Bí thư Đảng ủy xã Càng Long", "CANGLONG25", "dang_uy_vien", "2025-07-01", None)]
    assert tuple(leader) == ("Bí thư Đảng ủy xã Càng Long", "dang_uy_vien")  # the latest post, as lib.leaders keeps it
    assert groups["uv_btv_tu"] == ("Ủy viên Ban Thường vụ Tỉnh ủy", "tinh")
    assert groups["tinh_uy_vien"] == ("Tỉnh ủy viên", "tinh")
    assert groups["lanh_dao_so_nganh"] == ("Lãnh đạo sở, ban, ngành tỉnh", "tinh")
    assert groups["dang_uy_vien"] == ("Đảng ủy viên phụ trách chi bộ", "xa")
    assert {"uv_btv", "uv_bch", "truong_ban_nganh", "mttq_doan_the", "khac"} <= set(groups)
    # every active leader holds exactly one open post; the retired one none; no two posts of one leader overlap
    assert {(active, n) for _, active, n in open_posts} == {(1, 1), (0, 0)}
    assert overlaps == 0 and latest == 0


def test_assignments_belong_to_the_node_that_issued_them(natural):
    with dbm.read(natural) as db:
        rows = db.execute("""
            select a.decision_no, i.code, u.code, u.parent_id, pu.code, a.cell_id, lu.code
            from assignments a join units i on i.id = a.issuer_unit_id join units u on u.id = a.unit_id
            left join units pu on pu.id = u.parent_id
            join leader_posts lp on lp.leader_id = a.leader_id
             and coalesce(lp.valid_from, '0000') <= a.valid_from and coalesce(lp.valid_to, '9999') >= a.valid_from
            join units lu on lu.id = lp.unit_id""").fetchall()
        unissued = db.execute("select count(*) from assignments where issuer_unit_id is null").fetchone()[0]
    assert unissued == 0 and rows
    for decision, issuer, unit, _, parent, cell_id, post_unit in rows:
        if decision.endswith("/HU"):
            assert issuer == "HUYEN" and parent == "HUYEN"
        elif decision.endswith("/TU"):
            assert issuer == "VINHLONG" and unit in NEW and post_unit == "VINHLONG"
        else:  # a commune's Đảng ủy puts its own Đảng ủy viên in charge of one of its cells
            assert decision.endswith("-QĐ/ĐU") and cell_id is not None
            assert issuer in (unit, parent) and issuer in NEW and post_unit == issuer
    assert {r[1] for r in rows} == {"HUYEN", "VINHLONG", *NEW}


def _cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def _home(path) -> str | None:
    with dbm.read(path) as db:
        node = org.home_node(db)
    return node["code"] if node else None


def test_demo_home_province_and_commune(tmp_path):
    default, province, commune = (tmp_path / f"{n}.db" for n in ("default", "province", "commune"))
    assert _cli("--db", str(default), "demo", "--meetings", "300")[0] == 0
    assert _cli("--db", str(province), "demo", "--meetings", "300", "--home", "province")[0] == 0
    code, out, _ = _cli("--db", str(commune), "demo", "--meetings", "300", "--home", "commune", "NHILONG25")
    assert code == 0 and "NHILONG25" in out
    assert (_home(default), _home(province), _home(commune)) == ("VINHLONG", "VINHLONG", "NHILONG25")
    # the same data either way: only the home node differs
    with dbm.read(province) as a, dbm.read(commune) as b:
        for table in ("units", "cells", "meetings", "issuing_bodies", "leader_posts"):
            assert a[table].count == b[table].count, table
    with dbm.read(commune) as db:
        rows = metrics.compute(db, str(date.today().year), today=date.today())["attendance_by_unit"]
    assert [r["unit_code"] for r in rows] == ["NHILONG25"]  # a commune with only cells: one row, itself


@pytest.mark.parametrize("home, says", [
    (["commune", "XYZ"], "XYZ"),
    (["commune", "NHILONG"], "NHILONG"),  # an old commune, gone since 1/7/2025
    (["commune", "CANGLONG25-BP"], "CANGLONG25-BP"),  # a sub-committee is not a commune
    (["commune", "HUYEN"], "HUYEN"),
    (["commune"], "--home commune"),
    (["city"], "--home province"),
])
def test_demo_home_refuses_what_is_not_a_commune_of_today(tmp_path, home, says):
    path = tmp_path / "refused.db"
    code, _, err = _cli("--db", str(path), "demo", "--meetings", "300", "--home", *home)
    assert code == 2 and "--home" in err and says in err and "NHILONG25" in err
    with dbm.read(path) as db:
        assert db["units"].count == 0 and db["meetings"].count == 0


def test_load_takes_the_home_and_refuses_before_writing(tmp_path):
    path = tmp_path / "api.db"
    with pytest.raises(ValueError, match="--home"):
        demo.load(path, meetings=200, today=TODAY, home=("commune", "TANAN"))
    assert not path.exists()
    demo.load(path, meetings=200, today=TODAY, home=("commune", "TANAN25"))
    assert _home(path) == "TANAN25"


def test_before_the_merger_the_district_is_the_root_and_issues_as_trà_vinh(tmp_path):
    path = tmp_path / "early.db"
    demo.load(path, meetings=400, today=date(2025, 3, 10))
    u = units(path)
    assert _home(path) == "HUYEN" and u["HUYEN"]["parent_code"] is None and u["HUYEN"]["valid_to"] is None
    with dbm.read(path) as db:
        assert org.body_for(db, u["HUYEN"]["id"], "2025-03-10")["upper_line"] == "ĐẢNG BỘ TỈNH TRÀ VINH"
        assert db.execute("select count(*) from leader_posts where valid_to is null").fetchone()[0] == 29
    with pytest.raises(ValueError, match="--home"):
        demo.load(tmp_path / "x.db", meetings=100, today=date(2025, 3, 10), home=("commune", "NHILONG25"))


def test_the_forest_of_the_shipped_versions_on_request(tmp_path):
    path = tmp_path / "flat.db"
    demo.load(path, meetings=300, today=TODAY, tree=False)
    with dbm.read(path) as db:
        assert db.execute("select count(*), count(parent_id) from units").fetchone() == (19, 0)
        assert db["issuing_bodies"].count == 0
        # each leader only the first post lib.leaders gives a new leader: open at both ends
        assert db.execute("select count(*), count(distinct leader_id), count(valid_from), count(valid_to) "
                          "from leader_posts").fetchone() == (db["leaders"].count, db["leaders"].count, 0, 0)
        assert org.home_node(db) is None
        assert db.execute("select count(*) from assignments where issuer_unit_id is not null").fetchone()[0] == 0


def test_the_clerk_of_nhi_long_starts_on_the_new_commune(natural):
    from lib import forms, users

    with dbm.read(natural) as db:
        scope = forms.units_in_scope(db, users.actor_for(db, "thuky"))
    # the new commune first; the two old ones it kept records for stay, for late entries
    assert scope[0]["code"] == "NHILONG25" and {u["code"] for u in scope[1:]} == {"DAIPHUOC", "NHILONG"}
