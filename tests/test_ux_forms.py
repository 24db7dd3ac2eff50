"""Issue 16, the forms a new user meets: leaders at a meeting, every error at once, templates with real codes."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from lib import auth, importer, meetings, users
from lib import db as dbm
from lib.domain import SYSTEM, ValidationError
from lib.i18n import t
from tests.factories import meeting, small_directory
from tests.helpers import app_test

TODAY = date(2025, 12, 31)
M_HEAD = ",".join(importer.COLUMNS["meetings"])


@pytest.fixture
def ids(db_path) -> dict:
    return small_directory(db_path)


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# ---- item 6: every error of a row at once -------------------------------------------------

def test_import_row_lists_every_error_at_once(db_path, ids):
    # A day not on the calendar, a negative exempt count, a word for a count, and a score of 180:
    # the score used to be held back until the three others were fixed.
    row = "NL-CD,31/02/2025,thuong_ky,30,-1,25,abc,1,120,180,,,,,,,,"
    result = importer.preview(db_path, "meetings", csv_file(M_HEAD, row), "m.csv", SYSTEM, today=TODAY)
    assert [(e.row, e.field) for e in result.errors] == [
        (2, "held_on"), (2, "members_exempt"), (2, "absent_excused"), (2, "score")]
    assert result.errors[-1].message == t("err.score_range", "vi")


def test_meeting_check_lists_rules_beside_parse_errors(db, ids):
    raw = meeting(ids["c1"], "tháng ba", present=20, score=180, duration_minutes=2000)
    _, _, errors = meetings.check(db, raw, today=TODAY)
    # The bad date once (no "required" beside it), then the rules of the fields that parsed;
    # the count sum (20 + 8 + 0 = 28) is right, so no mismatch.
    assert [(e.field, e.key) for e in errors] == [
        ("held_on", "bad_date"), ("score", "score_range"), ("duration_minutes", "duration_too_long")]


def test_meeting_duplicate_shown_beside_other_errors(db_path, ids):
    from tests.factories import add_meeting

    add_meeting(db_path, ids["c1"], "2025-03-05")
    with dbm.read(db_path) as db:
        _, _, errors = meetings.check(db, meeting(ids["c1"], "2025-03-20", score=180), today=TODAY)
    assert [(e.field, e.key) for e in errors] == [("score", "score_range"), ("held_on", "duplicate_regular")]


@pytest.mark.parametrize(("kind", "column", "allowed"), [
    ("meetings", "score", "số nguyên từ 0 đến 100"),
    ("meetings", "duration_minutes", "số nguyên từ 0 đến 1440"),
    ("meetings", "members_total", "số nguyên từ 1 trở lên"),
    ("meetings", "present", "số nguyên từ 0 trở lên"),
    ("cells", "meeting_day", "số nguyên từ 1 đến 31"),
    ("assignments", "required_per_quarter", "số nguyên từ 1 trở lên"),
])
def test_template_states_the_real_ranges(kind, column, allowed):
    info = load_workbook(io.BytesIO(importer.template_xlsx(kind)))["Cột"]
    assert {r[0]: r[4] for r in info.iter_rows(min_row=2, values_only=True)}[column] == allowed


@pytest.mark.parametrize(("full_name", "username", "password", "confirm", "expected"), [
    # The mismatch used to hide the bad username.
    ("Trần Văn Hai", "trần hai", "Bimat2025", "Bimat2026", [("username", "bad_username"),
                                                            ("password_confirm", "password_mismatch")]),
    ("", "x", "ngan", "ngan2", [("full_name", "required"), ("username", "bad_username"),
                                ("password", "weak_password"), ("password_confirm", "password_mismatch")]),
])
def test_setup_lists_every_error_at_once(db_path, full_name, username, password, confirm, expected):
    with pytest.raises(ValidationError) as exc:
        auth.first_run_setup(db_path, "Huyện ủy", full_name, username, password, confirm)
    assert [(e.field, e.key) for e in exc.value.errors] == expected
    with dbm.read(db_path) as db:
        assert users.count_users(db) == 0


def test_setup_page_shows_every_error_at_once(db_path):
    at = app_test(db_path).run()
    at.text_input(key="setup_full_name").input("Trần Văn Hai")
    at.text_input(key="setup_username").input("trần hai")
    at.text_input(key="setup_password").input("Matkhau123")
    at.text_input(key="setup_confirm").input("Matkhau124")
    at = at.button(key="setup_submit").click().run()
    shown = [e.value for e in at.error]
    assert len(shown) == 2
    assert shown[0].endswith(t("err.bad_username")) and shown[1].endswith(t("auth.err.password_mismatch"))
