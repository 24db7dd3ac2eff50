import pytest
from sqlite_utils import Database

from db.migrations import migrate, migrations
from lib import db as dbm

EXPECTED = {
    "units": {"id": int, "code": str, "name": str, "kind": str, "valid_from": str, "valid_to": str,
              "successor_id": int, "parent_id": int},
    "unit_tree": {"ancestor_id": int, "descendant_id": int, "depth": int},
    "issuing_bodies": {"id": int, "unit_id": int, "effective_from": str, "upper_line": str, "committee": str,
                       "board": str, "symbol_suffix": str, "place": str, "signer_capacity": str, "signer_title": str,
                       "recipients": str},
    "cells": {"id": int, "code": str, "unit_id": int, "name": str, "cell_type": str, "meeting_day": int,
              "valid_from": str, "valid_to": str, "successor_id": int},
    "leaders": {"id": int, "code": str, "full_name": str, "position": str, "grp": str, "active": int},
    "assignments": {"id": int, "leader_id": int, "unit_id": int, "cell_id": int, "decision_no": str,
                    "decision_date": str, "valid_from": str, "valid_to": str, "required_per_quarter": int,
                    "issuer_unit_id": int},
    "meetings": {"id": int, "cell_id": int, "held_on": str, "mtype": str, "members_total": int,
                 "members_exempt": int, "present": int, "absent_excused": int, "absent_unexcused": int,
                 "duration_minutes": int, "score": int, "rating": str, "leadership": int, "education": int,
                 "combativeness": int, "topics": str, "notes": str, "created_by": str, "created_at": str,
                 "updated_at": str, "deleted_at": str},
    "meeting_leaders": {"meeting_id": int, "leader_id": int, "report_submitted_on": str, "remarks": str},
    "weaknesses": {"id": int, "unit_id": int, "cell_id": int, "meeting_id": int, "category": str,
                   "description": str, "noted_on": str, "noted_by": int, "severity": str, "status": str,
                   "due_on": str, "resolved_on": str, "resolution": str, "created_by": str, "deleted_at": str},
    "users": {"username": str, "full_name": str, "email": str, "password_hash": str, "role": str, "active": int,
              "failed_logins": int, "locked_until": str, "created_at": str, "password_changed_at": str,
              "logged_out_at": str},
    "user_units": {"username": str, "unit_id": int},
    "audit_log": {"id": int, "at": str, "username": str, "action": str, "table_name": str, "row_id": str,
                  "before_json": str, "after_json": str, "client": str},
    "login_guard": {"username": str, "client": str, "since": str, "failures": int, "locked_until": str,
                    "noted": int, "expires_at": str},
    "settings": {"key": str, "value": str},
    "user_prefs": {"username": str, "lang": str, "period": str, "updated_at": str},
    "leader_groups": {"code": str, "name": str, "level": str, "sort_order": int},
    "leader_posts": {"id": int, "leader_id": int, "unit_id": int, "title": str, "grp": str, "valid_from": str,
                     "valid_to": str},
    "members": {"id": int, "code": str, "full_name": str, "admitted_on": str, "official_on": str, "notes": str,
                "created_at": str},
    "member_cells": {"id": int, "member_id": int, "cell_id": int, "valid_from": str, "valid_to": str, "note": str},
    "member_exemptions": {"id": int, "member_id": int, "valid_from": str, "valid_to": str, "reason": str,
                          "decision_no": str},
    "attendance_marks": {"meeting_id": int, "member_id": int, "status": str, "reason": str},
    "rule_thresholds": {"id": int, "rule": str, "value": int, "valid_from": str, "document": str},
    "meeting_checklists": {"meeting_id": int, "committee_prepared": int, "content_prepared": int, "speakers": int,
                           "criticism_held": int, "resolution_issued": int, "minutes_complete": int,
                           "followed_up": int, "documents": str, "criteria_version": str, "proposed_rating": str},
    "cell_classifications": {"id": int, "cell_id": int, "year": int, "proposed_level": str, "basis_json": str,
                             "decided_level": str, "decision_no": str, "decision_date": str, "decided_by": str,
                             "decided_at": str},
    # m012_report_register (issue 15, branch register)
    "report_drafts": {"id": int, "period": str, "unit_code": str, "body_id": int, "version": int, "status": str,
                      "strengths": str, "limitations": str, "causes_objective": str, "causes_subjective": str,
                      "tasks": str, "proposals": str, "created_by": str, "created_at": str, "updated_by": str,
                      "updated_at": str},
    "report_register": {"id": int, "body_id": int, "year": int, "number": int, "symbol": str, "issued_on": str,
                        "draft_id": int, "issued_by": str, "issued_at": str},
    "report_files": {"register_id": int, "docx": bytes, "pdf": bytes, "xlsx": bytes, "figures_json": str,
                     "docx_sha256": str, "pdf_sha256": str, "xlsx_sha256": str, "figures_sha256": str,
                     "pdf_note": str},
    "data_version": {"id": int, "version": int},
}


@pytest.fixture
def fresh_db():
    return Database(memory=True)


def test_migrate_creates_expected_columns(fresh_db):
    migrate(fresh_db)
    for table, columns in EXPECTED.items():
        assert fresh_db[table].columns_dict == columns, table


def test_migrate_twice_is_safe(fresh_db):
    migrate(fresh_db)
    fresh_db["units"].insert({"code": "X", "name": "Xã X", "kind": "xa"})
    migrate(fresh_db)
    assert fresh_db["units"].count == 1
    applied = [m.name for m in migrations.applied(fresh_db)]
    assert applied == [m.name for m in migrations._migrations]


def test_init_on_file_twice(tmp_path):
    path = tmp_path / "a.db"
    dbm.init(path)
    dbm.init(path)
    with dbm.read(path) as db:
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert db.execute("pragma foreign_keys").fetchone()[0] == 1


def test_figure_indexes_exist(fresh_db):
    migrate(fresh_db)
    names = {i.name for i in fresh_db["meetings"].indexes}
    assert "idx_meetings_live_held_cell" in names
    assert "idx_meetings_regular_month" in names
    assert any(i.columns == ["leader_id", "meeting_id"] for i in fresh_db["meeting_leaders"].indexes)


@pytest.mark.parametrize("sql", ["update audit_log set action = 'x'", "delete from audit_log"])
def test_audit_log_is_append_only(fresh_db, sql):
    import sqlite3

    migrate(fresh_db)
    fresh_db["audit_log"].insert({"at": "2025-01-01T00:00:00", "action": "create"})
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db.execute(sql)
    assert fresh_db["audit_log"].count == 1
