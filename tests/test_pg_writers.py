"""Concurrent writers on PostgreSQL (issue 17), the short version of `python -m bench.writers`: 10 writer processes
for 5 seconds, every acknowledged write found exactly once, no second regular meeting of a month, every refusal one
a rule makes, no error. No timed assertion: the speed is measured by the bench and recorded, not enforced here."""

from datetime import date

import pytest

from bench import writers
from tests.pgcluster import required


@pytest.fixture
def cluster(pg_cluster):
    return required(pg_cluster)


def test_ten_writers_for_five_seconds_lose_duplicate_and_fail_nothing(cluster):
    figures = writers.run("postgresql", 10, 5, today=date(2026, 11, 20), cluster=cluster)
    assert figures["errors"] == 0, figures["error_samples"]
    assert (figures["lost"], figures["duplicated"], figures["inconsistent"]) == (0, 0, 0), figures["why"]
    kinds = figures["kinds"]
    # every kind of write ran and was acknowledged at least once; the refusals seen are the rules' own
    assert {"create", "edit_meeting", "edit_weakness"} <= set(kinds)
    assert all(kinds[k]["ok"] > 0 for k in ("create", "edit_meeting", "edit_weakness"))
    assert figures["acknowledged"] + figures["refused"] == figures["attempted"]


def test_the_ledger_check_finds_a_lost_and_a_duplicated_write(cluster):
    # the check itself: a write acknowledged but absent is lost, and a second regular meeting of one cell-month
    # written behind lib's back is a duplicate
    from lib import db as dbm
    from lib import directory, meetings, users
    from lib.domain import SYSTEM, Role
    from tests.factories import meeting

    where = cluster.fresh()
    try:
        with dbm.write(where) as db:
            users.create_user(db, SYSTEM, "admin", "Quản trị", "Xanh-la-cay-2026", Role.ADMIN)
            directory.create_unit(db, SYSTEM, {"code": "X1", "name": "Xã Một", "kind": "xa"})
        setup = writers.prepare(where, date(2026, 11, 20))
        with dbm.write(where) as db:
            first = meetings.create(db, SYSTEM, meeting(setup.cells[0]["id"], "2026-03-10", notes="bench w0 n1"),
                                    today=date(2026, 11, 20))
            db.execute("insert into meetings (cell_id, held_on, mtype, members_total, members_exempt, present, "
                       "absent_excused, absent_unexcused, created_at, updated_at) "
                       "select cell_id, held_on, mtype, members_total, members_exempt, present, absent_excused, "
                       "absent_unexcused, created_at, updated_at from meetings where id = ?", [first])
        ledger = [writers.Entry("create", "ok", 1.0, token="bench w0 n1", row_id=first),
                  writers.Entry("create", "ok", 1.0, token="bench w0 n2", row_id=first + 99)]
        found = writers.check(setup, ledger)
        assert (found["lost"], found["duplicated"]) == (1, 1), found["why"]
    finally:
        cluster.drop(where)
