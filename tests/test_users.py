"""Scope checks on every write function in lib/: viewers refused, clerks only inside their units,
admins allowed; refusals write nothing and allowed writes leave their audit entry."""

import json
import sqlite3
from datetime import date

import pytest

from lib import assignments, audit, directory, meetings, settings, users, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, ValidationError
from tests.factories import add_meeting, meeting, small_directory
from tests.helpers import fast_hashing, make_user

TODAY = date(2025, 6, 15)
TABLES = ("units", "cells", "leaders", "assignments", "meetings", "meeting_leaders", "weaknesses", "users",
          "user_units", "settings", "audit_log")


@pytest.fixture
def world(db_path, monkeypatch):
    """Units u1 (Nhị Long) and u2 (Đại Phước), one meeting and one weakness in each, four users."""
    fast_hashing(monkeypatch)
    ids = small_directory(db_path)
    make_user(db_path, "quantri", "admin")
    make_user(db_path, "thuky", "clerk", [ids["u1"]])
    make_user(db_path, "xem", "viewer")
    make_user(db_path, "khac", "viewer")
    ids["m1"] = add_meeting(db_path, ids["c1"], "2025-04-30", leaders=[{"leader_id": ids["l1"]}])
    ids["m2"] = add_meeting(db_path, ids["c2"], "2025-04-10", leaders=[{"leader_id": ids["l2"]}])
    ids["gone"] = add_meeting(db_path, ids["c2"], "2025-03-10")
    with dbm.write(db_path) as db:
        meetings.delete(db, SYSTEM, ids["gone"])
        for n in ("1", "2"):
            ids[f"w{n}"] = weaknesses.create(db, SYSTEM, {"unit_id": ids[f"u{n}"], "category": "xay_dung_dang",
                                                          "description": "Chưa đi sâu", "noted_on": "2025-05-01"},
                                             today=TODAY)
    return ids


def actor(path, username: str) -> Actor:
    with dbm.read(path) as db:
        return users.actor_for(db, username)


def snapshot(path) -> dict:
    with dbm.read(path) as db:
        return {t: [tuple(r) for r in db.execute(f"select * from {t} order by rowid")] for t in TABLES}


def last_entry(path) -> dict:
    with dbm.read(path) as db:
        return audit.entries(db, limit=1)[0]


# Writes a clerk may make inside their units; n is "1" (thuky's unit) or "2" (outside it).
UNIT_OPS = {
    "meetings.create": (
        lambda db, a, w, n: meetings.create(db, a, meeting(w[f"c{n}"], "2025-05-31" if n == "1" else "2025-05-10"),
                                            today=TODAY),
        ("create", "meetings")),
    "meetings.update": (
        lambda db, a, w, n: meetings.update(db, a, w[f"m{n}"], {"notes": "Bổ sung"}, today=TODAY),
        ("update", "meetings")),
    "meetings.delete": (
        lambda db, a, w, n: meetings.delete(db, a, w[f"m{n}"]),
        ("delete", "meetings")),
    "meetings.set_report": (
        lambda db, a, w, n: meetings.set_report(db, a, w[f"m{n}"], w[f"l{n}"], "05/05/2025", today=TODAY),
        ("update", "meeting_leaders")),
    "weaknesses.create": (
        lambda db, a, w, n: weaknesses.create(db, a, {"unit_id": w[f"u{n}"], "category": "y_kien_trong_tam",
                                                      "description": "Ít ý kiến", "noted_on": "2025-06-01"},
                                              today=TODAY),
        ("create", "weaknesses")),
    "weaknesses.update": (
        lambda db, a, w, n: weaknesses.update(db, a, w[f"w{n}"], {"description": "Sửa mô tả"}, today=TODAY),
        ("update", "weaknesses")),
    "weaknesses.set_status": (
        lambda db, a, w, n: weaknesses.set_status(db, a, w[f"w{n}"], "in_progress", today=TODAY),
        ("update", "weaknesses")),
    "weaknesses.delete": (
        lambda db, a, w, n: weaknesses.delete(db, a, w[f"w{n}"]),
        ("delete", "weaknesses")),
}

# Writes only an administrator may make.
ADMIN_OPS = {
    "directory.create_unit": (
        lambda db, a, w: directory.create_unit(db, a, {"code": "TB", "name": "Xã Tân Bình", "kind": "xa"}),
        ("create", "units")),
    "directory.create_cell": (
        lambda db, a, w: directory.create_cell(db, a, {"code": "NL-X", "unit_id": w["u1"], "name": "Chi bộ ấp X",
                                                       "cell_type": "ap_khom", "meeting_day": 5}),
        ("create", "cells")),
    "directory.create_leader": (
        lambda db, a, w: directory.create_leader(db, a, {"code": "L9", "full_name": "Lê Văn Chín", "grp": "uv_bch"}),
        ("create", "leader_posts")),  # the leader, then their first post (tests/test_leader_posts.py)
    "directory.update": (
        lambda db, a, w: directory.update(db, a, "units", w["u2"], {"name": "Xã Đại Phước (mới)"}),
        ("update", "units")),
    "directory.merge_unit": (
        lambda db, a, w: directory.merge_unit(db, a, w["u2"], w["u1"], "30/06/2025"),
        ("update", "units")),
    "directory.end_validity": (
        lambda db, a, w: directory.end_validity(db, a, "cells", w["c2"], date(2025, 6, 30)),
        ("update", "cells")),
    "assignments.create": (
        lambda db, a, w: assignments.create(db, a, {"leader_id": w["l2"], "unit_id": w["u2"],
                                                    "valid_from": "2025-01-01"}, today=TODAY),
        ("create", "assignments")),
    "assignments.update": (
        lambda db, a, w: assignments.update(db, a, w["a1"], {"decision_no": "400-QĐ/HU"}, today=TODAY),
        ("update", "assignments")),
    "assignments.end": (
        lambda db, a, w: assignments.end(db, a, w["a1"], "30/06/2025"),
        ("update", "assignments")),
    "meetings.restore": (
        lambda db, a, w: meetings.restore(db, a, w["gone"]),
        ("restore", "meetings")),
    "users.create_user": (
        lambda db, a, w: users.create_user(db, a, "moi", "Người Mới", "Matkhau456", "viewer"),
        ("create", "users")),
    "users.update_user": (
        lambda db, a, w: users.update_user(db, a, "khac", role="clerk", unit_ids=[w["u2"]]),
        ("update", "users")),
    "users.set_password": (
        lambda db, a, w: users.set_password(db, a, "khac", "Matkhau456"),
        ("password", "users")),
    "settings.save_settings": (
        lambda db, a, w: settings.save_settings(db, a, {"org_name": "Huyện ủy mới"}),
        ("update", "settings")),
}


def run_unit_op(path, name, who, world, n):
    with dbm.write(path) as db:
        UNIT_OPS[name][0](db, who, world, n)


def run_admin_op(path, name, who, world):
    with dbm.write(path) as db:
        ADMIN_OPS[name][0](db, who, world)


def refused(path, call) -> PermissionDenied:
    before = snapshot(path)
    with pytest.raises(PermissionDenied) as exc:
        call()
    assert snapshot(path) == before  # nothing written, not even an audit entry
    return exc.value


@pytest.mark.parametrize("name", UNIT_OPS)
@pytest.mark.parametrize("n", ["1", "2"])
def test_viewer_refused_unit_writes(db_path, world, name, n):
    exc = refused(db_path, lambda: run_unit_op(db_path, name, actor(db_path, "xem"), world, n))
    assert exc.key == "read_only"


@pytest.mark.parametrize("name", ADMIN_OPS)
@pytest.mark.parametrize("username", ["xem", "thuky"])
def test_viewer_and_clerk_refused_admin_writes(db_path, world, name, username):
    exc = refused(db_path, lambda: run_admin_op(db_path, name, actor(db_path, username), world))
    assert exc.key == "admin_only"


@pytest.mark.parametrize("name", UNIT_OPS)
def test_clerk_refused_outside_scope(db_path, world, name):
    exc = refused(db_path, lambda: run_unit_op(db_path, name, actor(db_path, "thuky"), world, "2"))
    assert exc.key == "out_of_scope"
    assert "Xã Đại Phước" in exc.message


@pytest.mark.parametrize("name", UNIT_OPS)
def test_clerk_allowed_inside_scope_and_audited(db_path, world, name):
    run_unit_op(db_path, name, actor(db_path, "thuky"), world, "1")
    entry = last_entry(db_path)
    assert (entry["username"], entry["action"], entry["table_name"]) == ("thuky", *UNIT_OPS[name][1])


@pytest.mark.parametrize("name", UNIT_OPS)
@pytest.mark.parametrize("n", ["1", "2"])
def test_admin_allowed_unit_writes_and_audited(db_path, world, name, n):
    run_unit_op(db_path, name, actor(db_path, "quantri"), world, n)
    entry = last_entry(db_path)
    action, table = UNIT_OPS[name][1]
    assert (entry["username"], entry["action"], entry["table_name"]) == ("quantri", action, table)
    assert (entry["before_json"] is None) == (action == "create")
    assert entry["after_json"] is not None


@pytest.mark.parametrize("name", ADMIN_OPS)
def test_admin_allowed_admin_writes_and_audited(db_path, world, name):
    run_admin_op(db_path, name, actor(db_path, "quantri"), world)
    entry = last_entry(db_path)
    action, table = ADMIN_OPS[name][1]
    assert (entry["username"], entry["action"], entry["table_name"]) == ("quantri", action, table)
    if action == "create":
        assert entry["before_json"] is None and entry["after_json"] is not None
    elif action in ("update", "restore"):
        assert entry["before_json"] != entry["after_json"]


def test_clerk_cannot_move_own_records_out_of_scope(db_path, world):
    thuky = actor(db_path, "thuky")
    move = {"cell_id": world["c2"], "held_on": "2025-05-10"}
    refused(db_path, lambda: _write(db_path, meetings.update, thuky, world["m1"], move, today=TODAY))
    refused(db_path, lambda: _write(db_path, weaknesses.update, thuky, world["w1"], {"unit_id": world["u2"]},
                                    today=TODAY))


def _write(path, fn, *args, **kwargs):
    with dbm.write(path) as db:
        return fn(db, *args, **kwargs)


def test_role_and_scope_are_read_from_the_database_not_the_caller(db_path, world):
    # An Actor claiming more than the database grants gets nothing extra.
    forged_clerk = Actor("thuky", "admin", frozenset({world["u1"], world["u2"]}))
    assert refused(db_path, lambda: run_unit_op(db_path, "meetings.update", forged_clerk, world, "2")).key \
        == "out_of_scope"
    assert refused(db_path, lambda: run_admin_op(db_path, "users.set_password", forged_clerk, world)).key \
        == "admin_only"
    forged_viewer = Actor("xem", "admin")
    assert refused(db_path, lambda: run_unit_op(db_path, "weaknesses.create", forged_viewer, world, "1")).key \
        == "read_only"
    nobody = Actor("khongco", "admin")
    assert refused(db_path, lambda: run_admin_op(db_path, "settings.save_settings", nobody, world)).key \
        == "inactive"


def test_scope_change_applies_to_an_actor_already_held(db_path, world):
    held = actor(db_path, "thuky")  # unit_ids {u1} at this moment
    _write(db_path, users.update_user, actor(db_path, "quantri"), "thuky", unit_ids=[world["u2"]])
    assert refused(db_path, lambda: run_unit_op(db_path, "meetings.update", held, world, "1")).key == "out_of_scope"
    run_unit_op(db_path, "meetings.update", held, world, "2")
    assert last_entry(db_path)["row_id"] == str(world["m2"])


def test_deactivated_user_refused(db_path, world):
    _write(db_path, users.update_user, actor(db_path, "quantri"), "thuky", active=0)
    assert actor(db_path, "thuky") is None
    stale = Actor("thuky", "clerk", frozenset({world["u1"]}))
    assert refused(db_path, lambda: run_unit_op(db_path, "meetings.update", stale, world, "1")).key == "inactive"


def test_admin_cannot_deactivate_self(db_path, world):
    with pytest.raises(ValidationError) as exc:
        _write(db_path, users.update_user, actor(db_path, "quantri"), "quantri", active=0)
    assert exc.value.errors[0].key == "cannot_deactivate_self"


def test_users_may_reset_only_their_own_password(db_path, world):
    thuky = actor(db_path, "thuky")
    _write(db_path, users.set_password, thuky, "thuky", "Matkhau789")
    assert (last_entry(db_path)["username"], last_entry(db_path)["action"]) == ("thuky", "password")
    assert refused(db_path, lambda: _write(db_path, users.set_password, thuky, "xem", "Matkhau789")).key \
        == "admin_only"


def test_clerk_units_kept_only_for_clerks(db_path, world):
    quantri = actor(db_path, "quantri")
    _write(db_path, users.update_user, quantri, "xem", role="clerk", unit_ids=[world["u2"]])
    assert actor(db_path, "xem") == Actor("xem", "clerk", frozenset({world["u2"]}))
    _write(db_path, users.update_user, quantri, "xem", role="viewer")
    assert actor(db_path, "xem") == Actor("xem", "viewer", frozenset())


def test_user_audit_entries_never_hold_the_password(db_path, world):
    _write(db_path, users.create_user, actor(db_path, "quantri"), "moi", "Người Mới", "Matkhau456", "clerk",
           [world["u1"]])
    _write(db_path, users.set_password, actor(db_path, "quantri"), "moi", "Matkhau999")
    with dbm.read(db_path) as db:
        log = audit.entries(db, table_name="users", username="quantri")
    assert [e["action"] for e in log] == ["password", "create"]
    created = json.loads(log[1]["after_json"])
    assert created["role"] == "clerk" and created["unit_ids"] == [world["u1"]]
    text = json.dumps(log)
    assert "password_hash" not in text and "Matkhau456" not in text and "Matkhau999" not in text


def test_audit_log_cannot_be_edited_or_deleted(db_path, world):
    with dbm.read(db_path) as db:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("update audit_log set username = 'x'")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("delete from audit_log")
