import hashlib
from datetime import date

import pytest

from lib import db as dbm
from lib import demo, directory, users
from lib.domain import SYSTEM, Thresholds, rating_for_score, validate_meeting, validate_weakness

TODAY = date(2026, 5, 20)

REAL_NAMES = {
    "Thị trấn Càng Long", "Xã An Trường", "Xã An Trường A", "Xã Bình Phú", "Xã Đại Phúc", "Xã Đại Phước",
    "Xã Đức Mỹ", "Xã Huyền Hội", "Xã Mỹ Cẩm", "Xã Nhị Long", "Xã Nhị Long Phú", "Xã Phương Thạnh", "Xã Tân An",
    "Xã Tân Bình",
}

# Each query counts rows that break a record rule of DESIGN.md; every count must be 0.
RULE_CHECKS = {
    "counts_add_up": """
        select count(*) from meetings
        where present + absent_excused + absent_unexcused != members_total - members_exempt
           or members_exempt > members_total or members_total < 1
           or min(present, absent_excused, absent_unexcused, members_exempt) < 0""",
    "future_meeting": "select count(*) from meetings where held_on > :today or substr(created_at, 1, 10) > :today",
    "duplicate_regular": """
        select count(*) from (
            select cell_id, substr(held_on, 1, 7) from meetings
            where mtype = 'thuong_ky' and deleted_at is null
            group by 1, 2 having count(*) > 1)""",
    "report_before_meeting": """
        select count(*) from meeting_leaders ml join meetings m on m.id = ml.meeting_id
        where ml.report_submitted_on < m.held_on or ml.report_submitted_on > :today""",
    "outside_cell_validity": """
        select count(*) from meetings m join cells c on c.id = m.cell_id
        where m.held_on < coalesce(c.valid_from, '0000') or m.held_on > coalesce(c.valid_to, '9999')""",
    "leader_without_assignment": """
        select count(*) from meeting_leaders ml
        join meetings m on m.id = ml.meeting_id join cells c on c.id = m.cell_id
        where not exists (
            select 1 from assignments a
            where a.leader_id = ml.leader_id and a.unit_id = c.unit_id
              and (a.cell_id is null or a.cell_id = m.cell_id)
              and a.valid_from <= m.held_on and (a.valid_to is null or a.valid_to >= m.held_on))""",
    "weakness_dates": """
        select count(*) from weaknesses
        where noted_on > :today or due_on < noted_on or resolved_on < noted_on or resolved_on > :today""",
    "weakness_cell_unit": """
        select count(*) from weaknesses w join cells c on c.id = w.cell_id where c.unit_id != w.unit_id""",
}

DIGEST_TABLES = {
    "units": "id", "cells": "id", "leaders": "id", "assignments": "id", "meetings": "id",
    "meeting_leaders": "meeting_id, leader_id", "weaknesses": "id", "user_units": "username, unit_id",
}


def rule_violations(path, today=TODAY) -> dict[str, int]:
    with dbm.read(path) as db:
        return {name: db.execute(sql, {"today": today.isoformat()}).fetchone()[0] for name, sql in RULE_CHECKS.items()}


def digest(path) -> str:
    h = hashlib.sha256()
    with dbm.read(path) as db:
        for table, order in DIGEST_TABLES.items():
            for row in db.execute(f"select * from {table} order by {order}"):
                h.update(repr(tuple(row)).encode())
        for row in db.execute("select username, full_name, role from users order by username"):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def scalar(path, sql, params=()):
    with dbm.read(path) as db:
        return db.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def natural(tmp_path_factory):
    """The natural three-year demo, loaded once for the read-only checks."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    counts = demo.load(path, today=TODAY)
    return path, counts


def test_demo_load_counts_match_tables(natural):
    path, counts = natural
    with dbm.read(path) as db:
        for table, n in counts.items():
            assert db.execute(f"select count(*) from {table}").fetchone()[0] == n
        actions = [r[0] for r in db.execute("select action from audit_log where table_name = 'meetings' "
                                            "or action = 'demo'")]
    assert actions == ["demo"]  # one summary row, not one per generated meeting
    # the province, the district, its 14 communes, the 5 merged communes and one party sub-committee
    assert counts["units"] == 22 and counts["leaders"] == 30 and counts["users"] == 3
    assert 5000 <= counts["meetings"] <= 7000


def test_demo_has_the_fourteen_real_units(natural):
    path, _ = natural
    with dbm.read(path) as db:
        before = {u["name"]: u for u in directory.list_units(db, on="2025-06-30") if u["kind"] not in ("tinh", "huyen")}
    assert set(before) == REAL_NAMES
    assert before["Thị trấn Càng Long"]["kind"] == "thi_tran"
    assert {u["kind"] for name, u in before.items() if name != "Thị trấn Càng Long"} == {"xa"}


def test_demo_has_111_hamlets_with_the_real_sample_names(natural):
    path, _ = natural
    with dbm.read(path) as db:
        hamlets = db.execute("""
            select u.name, c.name from cells c join units u on u.id = c.unit_id
            where c.cell_type = 'ap_khom' and u.valid_from is null""").fetchall()
        others = db.execute("""
            select distinct c.cell_type from cells c join units u on u.id = c.unit_id
            where c.cell_type != 'ap_khom' and u.valid_from is null""").fetchall()
    assert len(hamlets) == 111
    assert {"Ấp Cầu Đúc", "Ấp Rạch Rô 2", "Ấp Đon"} <= {c for u, c in hamlets if u == "Xã Nhị Long"}
    assert {"Ấp Trà Gút", "Ấp Trại Luận"} <= {c for u, c in hamlets if u == "Xã Đại Phước"}
    assert {"Ấp Tất Vinh", "Ấp Kinh Ngay"} <= {c for u, c in hamlets if u == "Xã Đại Phúc"}
    assert {"Ấp Giồng Bèn", "Ấp Trà On"} <= {c for u, c in hamlets if u == "Xã Huyền Hội"}
    assert ("Xã Tân Bình", "Ấp Ngã Hậu") in hamlets
    assert {r[0] for r in others} == {"co_quan", "truong_hoc", "cong_an", "quan_su", "y_te"}


@pytest.mark.parametrize("new_code, new_name, old_names", [
    ("ANTRUONG25", "Xã An Trường", {"Xã An Trường", "Xã An Trường A", "Xã Tân Bình"}),
    ("TANAN25", "Xã Tân An", {"Xã Tân An", "Xã Huyền Hội"}),
    ("CANGLONG25", "Xã Càng Long", {"Thị trấn Càng Long", "Xã Mỹ Cẩm", "Xã Nhị Long Phú"}),
    ("NHILONG25", "Xã Nhị Long", {"Xã Nhị Long", "Xã Đức Mỹ", "Xã Đại Phước"}),
    ("BINHPHU25", "Xã Bình Phú", {"Xã Bình Phú", "Xã Phương Thạnh", "Xã Đại Phúc"}),
])
def test_demo_models_the_2025_merger(natural, new_code, new_name, old_names):
    path, _ = natural
    with dbm.read(path) as db:
        new = db.execute("select id, name, valid_from, valid_to from units where code = ?", [new_code]).fetchone()
        olds = db.execute("select id, name, valid_to from units where successor_id = ?", [new[0]]).fetchall()
        # a new cell hangs under the new commune or under its party sub-committee: its subtree
        old_cells = db.execute("""
            select c.valid_to, t.ancestor_id, s.valid_from from cells c left join cells s on s.id = c.successor_id
            left join unit_tree t on t.descendant_id = s.unit_id and t.ancestor_id = ?
            where c.unit_id in (select id from units where successor_id = ?)""", [new[0], new[0]]).fetchall()
        new_cells = db.execute("select count(*) from cells c join unit_tree t on t.descendant_id = c.unit_id "
                               "where t.ancestor_id = ?", [new[0]]).fetchone()[0]
    assert new[1:] == (new_name, "2025-07-01", None)
    assert {o[1] for o in olds} == old_names
    assert {o[2] for o in olds} == {"2025-06-30"}
    assert {row for row in old_cells} == {("2025-06-30", new[0], "2025-07-01")}
    # A few hamlets and the police/military/agency cells merge, so the new unit has fewer cells.
    assert 0 < new_cells < len(old_cells)


def test_demo_every_old_unit_and_cell_closes_at_the_merger(natural):
    # Since the full reorganisation (issue 11) no old commune runs on after 30/6/2025.
    path, _ = natural
    assert scalar(path, """
        select count(*) from cells c join units u on u.id = c.unit_id
        where u.code in ('NHILONG', 'DAIPHUOC', 'BINHPHU', 'DAIPHUC', 'DUCMY', 'PHUONGTHANH')
          and not (c.valid_to = '2025-06-30' and c.successor_id is not null and u.valid_to = '2025-06-30')""") == 0
    assert scalar(path, "select count(*) from units where kind in ('xa', 'thi_tran') and valid_from is null "
                        "and (valid_to is not '2025-06-30' or successor_id is null)") == 0


def test_demo_merged_hamlets_share_one_successor(natural):
    path, _ = natural
    with dbm.read(path) as db:
        rows = db.execute("""
            select c.name, s.name from cells c join cells s on s.id = c.successor_id
            join units u on u.id = c.unit_id where u.code = 'HUYENHOI' and c.name like 'Ấp Kinh _'""").fetchall()
    assert sorted(rows) == [("Ấp Kinh A", "Ấp Kinh"), ("Ấp Kinh B", "Ấp Kinh")]


def test_demo_leaders_cover_the_five_groups(natural):
    path, _ = natural
    with dbm.read(path) as db:
        # the district-era posts (leaders.grp now holds the latest post's group)
        groups = dict(db.execute("select p.grp, count(*) from leader_posts p join units u on u.id = p.unit_id "
                                 "where u.code = 'HUYEN' group by p.grp").fetchall())
        inactive = db.execute("select count(*) from leaders where active = 0").fetchone()[0]
    assert set(groups) == {"uv_btv", "uv_bch", "truong_ban_nganh", "mttq_doan_the", "khac"}
    assert sum(groups.values()) == 30
    assert inactive == 1


def test_demo_assignments_follow_decision_395(natural):
    path, _ = natural
    with dbm.read(path) as db:
        per_unit = db.execute("""
            select u.code, count(*), min(a.required_per_quarter), max(a.required_per_quarter)
            from assignments a join units u on u.id = a.unit_id
            where a.decision_no = '395-QĐ/HU' and a.decision_date = '2022-02-21' and a.valid_from = '2022-02-21'
            group by u.code""").fetchall()
        mid_end = db.execute("select count(*) from assignments where valid_to not in ('2025-06-30')").fetchone()[0]
        mid_start = db.execute("select count(*) from assignments where valid_from not in ('2022-02-21', "
                               "'2025-07-01')").fetchone()[0]
        cell_level = db.execute("select count(*) from assignments where cell_id is not null").fetchone()[0]
        leaders_per_unit = db.execute(
            "select max(n) from (select count(distinct leader_id) as n from assignments "
            "where issuer_unit_id = (select id from units where code = 'HUYEN') group by unit_id)"
        ).fetchone()[0]
        merged = db.execute("""
            select count(*) from assignments a join units u on u.id = a.unit_id
            where u.valid_to = '2025-06-30' and (a.valid_to is null or a.valid_to > '2025-06-30')""").fetchone()[0]
    assert len(per_unit) == 14
    assert all(1 <= n <= 3 and lo >= 1 and hi <= 2 for _, n, lo, hi in per_unit)
    assert mid_end >= 2 and mid_start >= 2 and cell_level >= 1
    assert leaders_per_unit == 3
    assert merged == 0  # no one stays in charge of a commune that no longer exists


def test_demo_users_and_roles(natural):
    path, _ = natural
    with dbm.read(path) as db:
        admin, clerk, viewer = (users.get_user(db, name) for name in ("admin", "thuky", "xem"))
        clerk_units = {r[0] for r in db.execute("""
            select u.code from user_units uu join units u on u.id = uu.unit_id where uu.username = 'thuky'""")}
    assert (admin["role"], clerk["role"], viewer["role"]) == ("admin", "clerk", "viewer")
    assert clerk_units == {"NHILONG", "DAIPHUOC", "NHILONG25"}
    assert admin["unit_ids"] == [] and viewer["unit_ids"] == []
    assert users.check_password("demo-nhaplieu-2025", clerk["password_hash"])
    assert users.check_password("demo-quantri-2025", admin["password_hash"])
    assert not users.check_password("demo-quantri-2025", viewer["password_hash"])


def test_demo_records_meet_every_rule(natural):
    path, _ = natural
    assert rule_violations(path) == dict.fromkeys(RULE_CHECKS, 0)


def test_demo_meetings_pass_the_domain_validation(natural):
    path, _ = natural
    th = Thresholds()
    with dbm.read(path) as db:
        cells = {c["id"]: c for c in directory.list_cells(db)}
        bad = []
        for m in db.query("select * from meetings"):
            rec = dict(m, held_on=date.fromisoformat(m["held_on"]))
            errors = validate_meeting(rec, today=TODAY, cell=cells[m["cell_id"]], thresholds=th)
            if errors or (m["score"] is not None and m["rating"] != rating_for_score(m["score"], th)):
                bad.append((m["id"], [str(e) for e in errors]))
        for w in db.query("select * from weaknesses"):
            rec = {k: date.fromisoformat(w[k]) if k in ("noted_on", "due_on", "resolved_on") and w[k] else w[k]
                   for k in w}
            if validate_weakness(rec, TODAY):
                bad.append(("weakness", w["id"]))
    assert bad == []


def test_demo_spans_three_years_ending_today(natural):
    path, _ = natural
    first = date.fromisoformat(scalar(path, "select min(held_on) from meetings"))
    last = date.fromisoformat(scalar(path, "select max(held_on) from meetings"))
    assert (first.year, first.month) == (2023, 6)  # 36 months: June 2023 … May 2026
    assert last <= TODAY and (TODAY - last).days < 7


def test_demo_has_realistic_gaps(natural):
    path, _ = natural
    q = {
        "missed_cell_months": """
            select count(*) from cells c, (select distinct substr(held_on, 1, 7) as ym from meetings) months
            where months.ym < '2026-05' and c.valid_from <= months.ym || '-01'
              and (c.valid_to is null or c.valid_to >= months.ym || '-01')
              and not exists (select 1 from meetings m where m.cell_id = c.id and m.mtype = 'thuong_ky'
                              and substr(m.held_on, 1, 7) = months.ym)""",
        "off_day": """
            select count(*) from meetings m join cells c on c.id = m.cell_id
            where m.mtype = 'thuong_ky' and cast(substr(m.held_on, 9, 2) as int) != min(c.meeting_day,
                cast(strftime('%d', date(m.held_on, 'start of month', '+1 month', '-1 day')) as int))""",
        "low_attendance": "select count(*) from meetings where present < 0.75 * (members_total - members_exempt)",
        "short": "select count(*) from meetings where duration_minutes < 90",
        "missing_reports": "select count(*) from meeting_leaders where report_submitted_on is null",
        "late_reports": """
            select count(*) from meeting_leaders ml join meetings m on m.id = ml.meeting_id
            where julianday(ml.report_submitted_on) - julianday(m.held_on) > 7""",
        "overdue": "select count(*) from weaknesses where status != 'resolved' and due_on < :today",
        "deleted": "select count(*) from meetings where deleted_at is not null",
    }
    with dbm.read(path) as db:
        found = {name: db.execute(sql, {"today": TODAY.isoformat()}).fetchone()[0] for name, sql in q.items()}
        categories = {r[0] for r in db.execute("select distinct category from weaknesses")}
        statuses = {r[0] for r in db.execute("select distinct status from weaknesses")}
        types = dict(db.execute("select mtype, count(*) from meetings group by mtype").fetchall())
        ratings = {r[0] for r in db.execute("select distinct rating from meetings where rating is not null")}
        props = db.execute("select sum(leadership), sum(education), sum(combativeness), count(*) "
                           "from meetings").fetchone()
    assert all(n > 0 for n in found.values()), found
    assert categories == {"pho_bien_van_ban", "xay_dung_dang", "danh_gia_tu_tuong", "khac_phuc_kiem_diem",
                          "y_kien_trong_tam", "attendance_low", "not_held", "off_schedule", "report_missing"}
    assert statuses == {"open", "in_progress", "resolved"}
    assert ratings == {"tot", "kha", "trung_binh", "kem"}
    # Thematic about once a quarter per cell: ~120 cells x 12 quarters.
    assert 0.7 * 120 * 12 < types["chuyen_de"] < 1.1 * 126 * 12
    assert types["dot_xuat"] > 0 and types["kiem_diem"] > 0
    assert 0 < props[2] < props[1] < props[0] < props[3]  # combativeness is the weakest property


def test_demo_is_deterministic(tmp_path):
    a, b, c = (tmp_path / f"{n}.db" for n in "abc")
    demo.load(a, meetings=800, seed=7, today=TODAY)
    demo.load(b, meetings=800, seed=7, today=TODAY)
    demo.load(c, meetings=800, seed=8, today=TODAY)
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


@pytest.mark.parametrize("n", [5000, 0])
def test_demo_scales_to_the_meetings_asked_for(tmp_path, n):
    path = tmp_path / "scaled.db"
    counts = demo.load(path, meetings=n, today=TODAY)
    assert counts["meetings"] == n == scalar(path, "select count(*) from meetings")
    assert rule_violations(path) == dict.fromkeys(RULE_CHECKS, 0)


def test_demo_scaled_load_adds_synthetic_communes(tmp_path):
    path = tmp_path / "big.db"
    counts = demo.load(path, meetings=15000, today=TODAY)
    assert counts["meetings"] == 15000
    assert scalar(path, "select count(*) from units where code like 'VL%'") >= 2
    assert scalar(path, "select count(*) from cells") > 200
    assert scalar(path, """select count(*) from meeting_leaders ml join meetings m on m.id = ml.meeting_id
                           join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
                           where u.code like 'VL%'""") > 0
    assert rule_violations(path) == dict.fromkeys(RULE_CHECKS, 0)


def test_demo_before_the_merger_has_no_successors(tmp_path):
    path = tmp_path / "early.db"
    demo.load(path, meetings=600, today=date(2025, 3, 10))
    assert scalar(path, "select count(*) from units") == 15  # the district (the root, in Trà Vinh) and its 14
    assert scalar(path, "select count(*) from units where successor_id is not null or valid_to is not null") == 0
    assert scalar(path, "select max(held_on) from meetings") <= "2025-03-10"
    assert rule_violations(path, date(2025, 3, 10)) == dict.fromkeys(RULE_CHECKS, 0)


def test_demo_refuses_a_database_with_data(db_path):
    with dbm.write(db_path) as db:
        directory.create_unit(db, SYSTEM, {"code": "X1", "name": "Xã Thử", "kind": "xa"})
    with pytest.raises(demo.NotEmptyError, match="units"):
        demo.load(db_path, meetings=100, today=TODAY)
    assert scalar(db_path, "select count(*) from units") == 1
    assert scalar(db_path, "select count(*) from users") == 0


def test_demo_refuses_a_second_load(tmp_path):
    path = tmp_path / "twice.db"
    demo.load(path, meetings=200, today=TODAY)
    before = digest(path)
    with pytest.raises(demo.NotEmptyError):
        demo.load(path, meetings=200, today=TODAY)
    assert digest(path) == before


def test_demo_keeps_an_existing_admin(db_path):
    with dbm.write(db_path) as db:
        users.create_user(db, SYSTEM, "admin", "Chủ tài khoản", "Matkhau-rieng-1", "admin")
    demo.load(db_path, meetings=200, today=TODAY)
    with dbm.read(db_path) as db:
        admin = users.get_user(db, "admin")
    assert users.check_password("Matkhau-rieng-1", admin["password_hash"])
    assert scalar(db_path, "select count(*) from users") == 3


def test_demo_refuses_a_negative_count(tmp_path):
    path = tmp_path / "neg.db"
    with pytest.raises(ValueError, match="-5"):
        demo.load(path, meetings=-5, today=TODAY)
    assert not path.exists()
