"""Row locks on PostgreSQL (issue 17): every check-then-write holds what it checks, so a second writer at the same
moment waits for the first and is then refused (or serialised) as under SQLite's whole-file write lock.

Each test holds the first write's transaction open, starts the second on another connection, waits until that one
is either finished or waiting on a lock (pg_stat_activity: never a timed guess), then commits the first."""

import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from lib import assignments, directory, importer, leaders, meetings, members, register, settings, store, users
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, Role, ValidationError
from lib.i18n import t
from tests.factories import add_meeting, meeting, small_directory

TODAY = date(2026, 11, 20)


@pytest.fixture
def url(pg_url):
    return pg_url  # conftest's: a new database on the run's cluster, dropped after


def race(where: str, first: Callable[[Any], Any], second: Callable[[Any], Any]) -> tuple[Any, bool]:
    """Run first(db) in a transaction left open, then second(db) in its own transaction on another connection;
    commit the first once the second has finished or is waiting on a lock. Returns (second's result or the
    exception it raised, whether it waited)."""
    holder = dbm.connect(where)
    holder.execute("BEGIN")
    first(holder)
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def run() -> None:
        try:
            with dbm.write(where) as db:
                outcome["pid"] = db.conn.raw.info.backend_pid
                started.set()
                outcome["result"] = second(db)
        except Exception as exc:  # noqa: BLE001 - the refusal is what the test looks at
            outcome["result"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run)
    thread.start()
    waited = False
    try:
        assert started.wait(20)
        with dbm.read(where) as watch:
            for _ in range(400):  # at most 20 s: the second is either done or blocked long before
                if not thread.is_alive():
                    break
                row = watch.conn.raw.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                             [outcome.get("pid")]).fetchone()
                if row and row[0] == "Lock":
                    waited = True
                    break
                time.sleep(0.05)
    finally:
        holder.execute("COMMIT")
        holder.close()
        thread.join(30)
    assert not thread.is_alive()
    return outcome["result"], waited


def refusal_keys(result: Any) -> set[str]:
    assert isinstance(result, ValidationError), f"expected a refusal, got {result!r}"
    return {e.key for e in result.errors}


def second_refused(where: str, first: Callable[[Any], Any], second: Callable[[Any], Any]) -> set[str]:
    """race(first, second) in which the second must wait for the first and then be refused: the refusal's keys."""
    result, waited = race(where, first, second)
    assert waited, "the second write did not wait for the first: what it checks was not locked"
    return refusal_keys(result)


def created_twice(where: str, create: Callable[..., Any], raw: dict, changes: dict) -> set[str]:
    """create(db, SYSTEM, raw) held open while create(db, SYSTEM, raw with changes) runs: the second must wait and
    then be refused; its refusal's keys."""
    return second_refused(where, lambda db: create(db, SYSTEM, raw), lambda db: create(db, SYSTEM, {**raw, **changes}))


def count(where: str, sql: str, params=()) -> int:
    with dbm.read(where) as db:
        return db.execute(sql, list(params)).fetchone()[0]


REGULAR_IN_MARCH = ("select count(*) from meetings where cell_id = ? and mtype = 'thuong_ky' and deleted_at is null "
                    "and held_on like '2025-03-%'")


# ---- meetings: one regular meeting per cell and month ------------------------------------------------------------

def test_a_meeting_moved_into_a_month_being_saved_is_refused(url):
    ids = small_directory(url)
    with dbm.write(url) as db:
        april = meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-04-30"))
        version = meetings.read(db, SYSTEM, april)["version"]
    keys = second_refused(
        url, lambda db: meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-03-31")),
        lambda db: meetings.update(db, SYSTEM, april, {"held_on": "2025-03-20"}, version=version))
    assert "duplicate_regular" in keys
    assert count(url, REGULAR_IN_MARCH, [ids["c1"]]) == 1


def test_restoring_a_meeting_while_its_month_is_saved_is_refused(url):
    ids = small_directory(url)
    with dbm.write(url) as db:
        old = meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-03-10"))
        meetings.delete(db, SYSTEM, old)
    keys = second_refused(url, lambda db: meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-03-31")),
                          lambda db: meetings.restore(db, SYSTEM, old))
    assert "duplicate_regular" in keys
    assert count(url, REGULAR_IN_MARCH, [ids["c1"]]) == 1


# ---- imports: all or nothing, never a duplicate ------------------------------------------------------------------

M_HEAD = "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused"


def _meetings_file(*rows: str) -> bytes:
    return ("\n".join((M_HEAD, *rows)) + "\n").encode("utf-8")


MARCH_APRIL = _meetings_file("NL-CD,2025-03-31,thuong_ky,30,2,25,3,0", "NL-CD,2025-04-30,thuong_ky,30,2,25,3,0")
APRIL_MAY = _meetings_file("NL-CD,2025-04-29,thuong_ky,30,2,25,3,0", "NL-CD,2025-05-31,thuong_ky,30,2,25,3,0")


def test_two_imports_of_overlapping_meetings_at_once_one_writes_all_the_other_nothing(url):
    ids = small_directory(url)
    first: dict[str, Any] = {}

    def import_first(db):
        first["result"] = importer.run(db, "meetings", MARCH_APRIL, "a.csv", SYSTEM, today=TODAY)

    result, waited = race(url, import_first,
                          lambda db: importer.run(db, "meetings", APRIL_MAY, "b.csv", SYSTEM, today=TODAY))
    assert first["result"].written and len(first["result"].ids) == 2
    assert waited
    # the second is refused as changed meanwhile, naming April's row, not failed on a database error
    assert not result.written and result.ids == []
    text = " ".join(e.message for e in result.errors)
    assert "04/2025" in text
    with dbm.read(url) as db:
        months = [r[0] for r in db.execute("select substr(held_on, 1, 7) from meetings where cell_id = ? "
                                           "order by held_on", [ids["c1"]])]
    assert months == ["2025-03", "2025-04"]


def test_an_import_while_a_clerk_saves_a_regular_meeting_of_the_same_month_writes_nothing(url):
    ids = small_directory(url)
    result, waited = race(url, lambda db: meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-03-20")),
                          lambda db: importer.run(db, "meetings", MARCH_APRIL, "a.csv", SYSTEM, today=TODAY))
    assert waited
    assert not result.written
    assert "03/2025" in " ".join(e.message for e in result.errors)
    assert count(url, REGULAR_IN_MARCH, [ids["c1"]]) == 1
    assert count(url, "select count(*) from meetings") == 1


def test_an_import_beside_a_save_in_another_cell_takes_other_ids_and_does_not_wait(url):
    ids = small_directory(url)
    result, waited = race(url, lambda db: meetings.create(db, SYSTEM, meeting(ids["c2"], "2025-03-10")),
                          lambda db: importer.run(db, "meetings", MARCH_APRIL, "a.csv", SYSTEM, today=TODAY))
    assert not waited
    assert result.written, result.errors
    assert count(url, "select count(*) from meetings") == 3
    assert count(url, "select count(distinct id) from meetings") == 3
    # the audit has one creation per meeting: the import's two and the clerk's one
    assert count(url, "select count(*) from audit_log where table_name = 'meetings' and action = 'create'") == 3
    with dbm.write(url) as db:  # and the ids handed out next are free
        meetings.create(db, SYSTEM, meeting(ids["c2"], "2025-04-10"))


# ---- the directory: codes, and the tree -----------------------------------------------------------------------------

def test_two_cells_of_one_code_at_once_the_second_is_refused_by_name(url):
    ids = small_directory(url)
    raw = {"code": "NL-X", "unit_id": ids["u1"], "name": "Chi bộ X", "cell_type": "ap_khom", "meeting_day": 5}
    assert created_twice(url, directory.create_cell, raw, {"name": "Chi bộ Y"}) == {"duplicate_code"}


def test_two_moves_that_together_make_a_cycle_the_second_is_refused(url):
    ids = small_directory(url)
    with dbm.read(url) as db:
        v2 = store.version(db, "units", ids["u2"])
    keys = second_refused(url, lambda db: directory.update(db, SYSTEM, "units", ids["u1"], {"parent_id": ids["u2"]}),
                          lambda db: directory.update(db, SYSTEM, "units", ids["u2"], {"parent_id": ids["u1"]},
                                                      version=v2))
    assert keys == {"parent_cycle"}
    with dbm.read(url) as db:
        parents = dict(db.execute("select id, parent_id from units where id in (?, ?)", [ids["u1"], ids["u2"]]))
    assert parents == {ids["u1"]: ids["u2"], ids["u2"]: None}


def test_an_assignment_edited_twice_from_one_form_the_second_is_refused_as_stale(url):
    ids = small_directory(url)
    with dbm.read(url) as db:
        version = assignments.version_of(db, store.get(db, "assignments", ids["a1"]))
    keys = second_refused(
        url, lambda db: assignments.update(db, SYSTEM, ids["a1"], {"decision_no": "1-QĐ"}, version=version),
        lambda db: assignments.update(db, SYSTEM, ids["a1"], {"decision_no": "2-QĐ"}, version=version))
    assert keys == {"changed_since"}
    assert count(url, "select count(*) from assignments where decision_no = '1-QĐ'") == 1


def test_two_posts_of_one_group_for_one_leader_at_once_the_second_is_refused(url):
    ids = small_directory(url)
    post = {"leader_id": ids["l2"], "unit_id": ids["u1"], "title": "Bí thư", "grp": "uv_bch",
            "valid_from": "2024-01-01"}
    with dbm.write(url) as db:
        db.execute("delete from leader_posts where leader_id = ?", [ids["l2"]])
    assert created_twice(url, leaders.create_post, post, {"valid_from": "2025-01-01"}) == {"post_overlap"}


# ---- members ---------------------------------------------------------------------------------------------------

def test_two_exemptions_of_one_member_at_once_the_second_is_refused_as_overlapping(url):
    ids = small_directory(url)
    with dbm.write(url) as db:
        member = members.create(db, SYSTEM, {"code": "M1", "full_name": "Lê Văn Ba", "admitted_on": "2010-01-01"},
                                ids["c1"])
    keys = second_refused(
        url, lambda db: members.exempt(db, SYSTEM, member, {"valid_from": "2025-01-01", "reason": "Ốm"}),
        lambda db: members.exempt(db, SYSTEM, member, {"valid_from": "2025-06-01", "reason": "Già yếu"}))
    assert keys == {"exemption_overlap"}
    assert count(url, "select count(*) from member_exemptions") == 1


def test_two_members_of_one_card_number_at_once_the_second_is_refused_by_name(url):
    ids = small_directory(url)
    raw = {"code": "M9", "full_name": "Lê Văn Ba", "admitted_on": "2010-01-01"}
    keys = second_refused(url, lambda db: members.create(db, SYSTEM, raw, ids["c1"]),
                          lambda db: members.create(db, SYSTEM, {**raw, "full_name": "Lê Văn Bốn"}, ids["c2"]))
    assert keys == {"duplicate_code"}


# ---- users and logins -------------------------------------------------------------------------------------------

def test_two_accounts_of_one_name_at_once_the_second_is_refused_by_name(url):
    keys = second_refused(
        url, lambda db: users.create_user(db, SYSTEM, "hoa", "Trần Hoa", "Xanh-la-cay-2026", Role.VIEWER),
        lambda db: users.create_user(db, SYSTEM, "hoa", "Lê Hoa", "Xanh-la-cay-2027", Role.VIEWER))
    assert keys == {"username_taken"}


def test_failed_logins_at_once_from_one_address_all_count_and_the_fifth_locks(url):
    with dbm.write(url) as db:
        users.create_user(db, SYSTEM, "hoa", "Trần Hoa", "Xanh-la-cay-2026", Role.VIEWER)
    now = datetime(2026, 11, 20, 9, 0, 0)

    def four(db):
        for _ in range(4):
            assert users.authenticate(db, "hoa", "sai-mat-khau-1", now=now, client="10.0.0.7") == "bad"

    result, waited = race(url, four,
                          lambda db: users.authenticate(db, "hoa", "sai-mat-khau-2", now=now, client="10.0.0.7"))
    assert waited
    assert result == "locked"
    with dbm.read(url) as db:
        assert users.locked_until(db, "hoa", now=now, client="10.0.0.7") is not None
        # every failure counted: the account at the address, the address, and everyone's
        assert dict(((r[0], r[1]), r[2]) for r in db.execute("select username, client, failures from login_guard")) \
            == {("hoa", "10.0.0.7"): 5, ("", "10.0.0.7"): 5, ("", "*"): 5}


# ---- the author's role and scope: a write holds its author's row (shared) until it commits -------------------------

def _accounts(url, ids) -> tuple[Actor, Actor]:
    """An administrator and a clerk of both units (a write reads their role and scope afresh, not from these)."""
    with dbm.write(url) as db:
        users.create_user(db, SYSTEM, "quan", "Lê Quân", "Xanh-la-cay-2026", Role.ADMIN)
        users.create_user(db, SYSTEM, "hoa", "Trần Hoa", "Xanh-la-cay-2026", Role.CLERK, [ids["u1"], ids["u2"]])
    return Actor("quan", Role.ADMIN), Actor("hoa", Role.CLERK)


def test_a_save_begun_while_an_administrator_narrows_the_clerks_scope_waits_and_is_refused(url):
    ids = small_directory(url)
    admin, clerk = _accounts(url, ids)
    result, waited = race(url, lambda db: users.update_user(db, admin, "hoa", unit_ids=[ids["u2"]]),
                          lambda db: meetings.create(db, clerk, meeting(ids["c1"], "2025-03-31")))
    assert waited, "the save did not wait for the change of its author's scope"
    assert isinstance(result, PermissionDenied) and result.key == "out_of_scope", result
    assert count(url, "select count(*) from meetings") == 0


def test_narrowing_a_clerks_scope_while_their_save_runs_waits_for_the_save(url):
    ids = small_directory(url)
    admin, clerk = _accounts(url, ids)
    result, waited = race(url, lambda db: meetings.create(db, clerk, meeting(ids["c1"], "2025-03-31")),
                          lambda db: users.update_user(db, admin, "hoa", unit_ids=[ids["u2"]]))
    assert waited, "the change of scope did not wait for the save its author began before"
    assert result == [], result
    assert count(url, "select count(*) from meetings") == 1
    with dbm.read(url) as db:
        assert users.get_user(db, "hoa")["unit_ids"] == [ids["u2"]]


def test_two_saves_by_one_clerk_at_once_do_not_wait_on_each_other(url):
    ids = small_directory(url)
    _, clerk = _accounts(url, ids)
    result, waited = race(url, lambda db: meetings.create(db, clerk, meeting(ids["c1"], "2025-03-31")),
                          lambda db: meetings.create(db, clerk, meeting(ids["c2"], "2025-03-10")))
    assert not waited, "the second save waited on the first: the author's row is held exclusively"
    assert isinstance(result, int), result
    assert count(url, "select count(*) from meetings where created_by = 'hoa'") == 2


def test_two_administrators_editing_each_others_accounts_queue(url):
    ids = small_directory(url)
    admin, _ = _accounts(url, ids)
    with dbm.write(url) as db:
        users.create_user(db, SYSTEM, "binh", "Trần Bình", "Xanh-la-cay-2026", Role.ADMIN)
    other = Actor("binh", Role.ADMIN)
    result, waited = race(url, lambda db: users.update_user(db, admin, "binh", full_name="Trần Văn Bình"),
                          lambda db: users.update_user(db, other, "quan", full_name="Lê Văn Quân"))
    assert waited and result == [], result
    with dbm.read(url) as db:
        assert [users.get_user(db, n)["full_name"] for n in ("binh", "quan")] == ["Trần Văn Bình", "Lê Văn Quân"]


# An administrator's change an import's check relied on, made before the check but committed after it, its audit
# entry taking an id before a write committed earlier: the check's last entry is past it (the late-id race).
LATE_CHANGES = {
    "cells": lambda db, ids: directory.update(db, SYSTEM, "cells", ids["c1"], {"valid_to": "2025-01-31"}),
    "settings": lambda db, ids: settings.save_settings(db, SYSTEM, {"threshold_tot": "95"}),
    "users": lambda db, ids: users.update_user(db, SYSTEM, "hoa", unit_ids=[ids["u2"]]),
}


@pytest.mark.parametrize("table", LATE_CHANGES)
def test_an_import_checked_before_a_change_committed_late_with_a_smaller_audit_id_writes_nothing(url, table):
    ids = small_directory(url)
    _, clerk = _accounts(url, ids)
    holder = dbm.connect(url)
    holder.execute("BEGIN")
    LATE_CHANGES[table](holder, ids)  # its audit entry has its id, not yet committed
    later = add_meeting(url, ids["c2"], "2025-03-10")  # a larger id, committed first

    def commit_the_change(done: int, total: int) -> None:
        if done == total:  # after the check's snapshot was taken, before the write
            holder.execute("COMMIT")

    try:
        result = importer.run(url, "meetings", MARCH_APRIL, "a.csv", clerk, today=TODAY, progress=commit_the_change)
    finally:
        holder.close()
    with dbm.read(url) as db:
        change = db.execute("select max(id) from audit_log where table_name = ?", [table]).fetchone()[0]
        saved = db.execute("select id from audit_log where table_name = 'meetings' and row_id = ?",
                           [str(later)]).fetchone()[0]
    assert change < saved  # the change's entry is before the check's last one: found only by looking directly
    assert not result.written and result.ids == []
    assert t(f"page.audit.tables.{table}") in result.errors[0].message, result.errors
    assert count(url, "select count(*) from meetings") == 1


# ---- the register ----------------------------------------------------------------------------------------------

def test_two_board_members_opening_a_period_at_once_share_one_draft(url):
    from lib import org

    with dbm.write(url) as db:
        org.setup_home(db, SYSTEM, {"home_kind": "xa", "home_code": "NL", "home_name": "Xã Nhị Long",
                                    "effective_from": "2020-01-01", "committee": "Đảng ủy xã Nhị Long"})
    opened: dict[str, int] = {}

    def first(db):
        opened["first"] = register.open_draft(db, SYSTEM, "2025")

    result, waited = race(url, first, lambda db: register.open_draft(db, SYSTEM, "2025"))
    assert waited
    assert result == opened["first"]
    assert count(url, "select count(*) from report_drafts") == 1
