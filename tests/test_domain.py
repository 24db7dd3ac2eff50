from datetime import date

import pytest

from lib import domain
from lib.domain import FieldError, MeetingType, Rating, Thresholds
from lib.i18n import language

TODAY = date(2025, 6, 15)
CELL = {"name": "Ấp Cầu Đúc", "valid_from": "2020-01-01", "valid_to": "2025-12-31"}
GOOD = {
    "cell_id": 1, "held_on": date(2025, 5, 10), "mtype": MeetingType.THUONG_KY, "members_total": 30,
    "members_exempt": 2, "present": 25, "absent_excused": 2, "absent_unexcused": 1, "duration_minutes": 120,
    "score": 85, "rating": Rating.KHA,
}


def test_good_meeting_passes():
    assert domain.validate_meeting(GOOD, today=TODAY, cell=CELL) == []


@pytest.mark.parametrize(
    "change, field, key",
    [
        ({"present": 26}, "present", "counts_mismatch"),
        ({"present": -1, "absent_excused": 29}, "present", "negative"),
        ({"members_exempt": 31}, "members_exempt", "exempt_over_total"),
        ({"members_total": 0, "members_exempt": 0, "present": 0, "absent_excused": 0, "absent_unexcused": 0},
         "members_total", "total_min"),
        ({"held_on": date(2025, 6, 16)}, "held_on", "future"),
        ({"held_on": date(2019, 12, 31)}, "held_on", "outside_cell_validity"),
        ({"score": 140}, "score", "score_range"),
        ({"score": 95}, "rating", "rating_mismatch"),
        ({"duration_minutes": -5}, "duration_minutes", "negative"),
        ({"held_on": None}, "held_on", "required"),
        ({"mtype": None}, "mtype", "required"),
    ],
)
def test_each_meeting_rule_refuses_with_field(change, field, key):
    errors = domain.validate_meeting({**GOOD, **change}, today=TODAY, cell=CELL)
    assert (field, key) in {(e.field, e.key) for e in errors}


def test_counts_mismatch_message_names_field_and_numbers():
    errors = domain.validate_meeting({**GOOD, "present": 26}, today=TODAY, cell=CELL)
    with language("vi"):
        assert str(errors[0]) .startswith("Số có mặt:")
        assert "28" in str(errors[0]) and "29" in str(errors[0])
    with language("en"):
        assert str(errors[0]).startswith("Present:")


@pytest.mark.parametrize("score, rating", [(90, "tot"), (89, "kha"), (70, "kha"), (69, "trung_binh"),
                                           (50, "trung_binh"), (49, "kem"), (0, "kem"), (100, "tot")])
def test_rating_for_score_thresholds(score, rating):
    assert domain.rating_for_score(score) == rating


def test_rating_thresholds_come_from_settings():
    th = Thresholds.from_settings({"threshold_tot": "95", "threshold_kha": "80", "threshold_trung_binh": "60"})
    assert domain.rating_for_score(92, th) == Rating.KHA
    assert domain.rating_for_score(59, th) == Rating.KEM


@pytest.mark.parametrize("text, expected", [
    ("2025-03-05", date(2025, 3, 5)), ("05/03/2025", date(2025, 3, 5)), ("5/3/2025", date(2025, 3, 5)),
    (" 31/12/2024 ", date(2024, 12, 31)), ("2025-03-05 00:00:00", date(2025, 3, 5)), ("", None), (None, None),
])
def test_parse_date_both_forms(text, expected):
    assert domain.parse_date(text) == expected


@pytest.mark.parametrize("text, key", [("31/02/2025", "impossible_date"), ("2025-13-01", "impossible_date"),
                                       ("hôm qua", "bad_date"), ("03/2025", "bad_date")])
def test_parse_date_refuses(text, key):
    with pytest.raises(domain.ParseError) as exc:
        domain.parse_date(text)
    assert exc.value.key == key


@pytest.mark.parametrize("value, expected", [("12", 12), (" 7 ", 7), (3.0, 3), ("4.0", 4), ("", None), (-2, -2)])
def test_parse_int(value, expected):
    assert domain.parse_int(value) == expected


@pytest.mark.parametrize("value", ["abc", "1,5", 2.5, "12a"])
def test_parse_int_refuses_text(value):
    with pytest.raises(domain.ParseError):
        domain.parse_int(value)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("có", True), ("Không", False),
                                             ("x", True), ("", False), (None, False), ("true", True)])
def test_parse_bool(value, expected):
    assert domain.parse_bool(value) is expected


@pytest.mark.parametrize("value", ["Tốt", "tot", "TỐT", "Good", "tốt "])
def test_parse_enum_accepts_code_and_labels(value):
    assert domain.parse_enum(Rating, value) == Rating.TOT


def test_parse_enum_refuses_unknown():
    with pytest.raises(domain.ParseError) as exc:
        domain.parse_enum(Rating, "xuất sắc")
    assert exc.value.key == "bad_choice"


def test_coerce_collects_field_errors():
    clean, errors = domain.coerce({"present": "abc", "held_on": "31/02/2025", "members_total": "30"},
                                  domain.MEETING_FIELDS)
    assert clean == {"members_total": 30}
    assert {(e.field, e.key) for e in errors} == {("present", "not_number"), ("held_on", "impossible_date")}


@pytest.mark.parametrize("day, year, month, expected", [(31, 2025, 4, 30), (31, 2025, 2, 28), (31, 2024, 2, 29),
                                                        (15, 2025, 2, 15), (30, 2025, 2, 28)])
def test_scheduled_day_clamps_to_month_end(day, year, month, expected):
    assert domain.scheduled_day(day, year, month) == expected


def test_warnings_do_not_block_but_are_named():
    m = {**GOOD, "held_on": date(2025, 5, 12), "duration_minutes": 60, "present": 20, "absent_excused": 7}
    warnings = domain.meeting_warnings(m, meeting_day=10, thresholds=Thresholds())
    assert {w.field for w in warnings} == {"held_on", "duration_minutes", "present"}
    assert domain.validate_meeting(m, today=TODAY, cell=CELL) == []


def test_report_date_rules():
    assert domain.validate_leader_report(date(2025, 5, 10), date(2025, 5, 10), TODAY) == []
    errors = domain.validate_leader_report(date(2025, 5, 10), date(2025, 5, 9), TODAY)
    assert errors == [FieldError("report_submitted_on", "report_before_meeting")]


@pytest.mark.parametrize("rec, field, key", [
    ({"code": "C", "name": "n", "unit_id": 1, "cell_type": "ap_khom", "meeting_day": 32}, "meeting_day", "day_range"),
    ({"code": "C", "name": "n", "unit_id": 1, "cell_type": "ap_khom", "valid_from": date(2025, 2, 1),
      "valid_to": date(2025, 1, 1)}, "valid_to", "to_before_from"),
    ({"code": "C", "unit_id": 1, "cell_type": "ap_khom"}, "name", "required"),
])
def test_cell_rules(rec, field, key):
    assert (field, key) in {(e.field, e.key) for e in domain.validate_cell(rec)}


def test_weakness_rules():
    w = {"unit_id": 1, "category": "other", "description": "x", "noted_on": date(2025, 5, 1),
         "due_on": date(2025, 4, 1), "status": "resolved", "resolved_on": date(2025, 4, 2)}
    keys = {(e.field, e.key) for e in domain.validate_weakness(w, TODAY)}
    assert keys == {("due_on", "due_before_noted"), ("resolved_on", "resolved_before_noted"),
                    ("resolution", "resolution_required")}


def test_every_error_key_is_translated_in_both_languages():
    import re
    from pathlib import Path

    from lib.i18n import catalogue

    src = "\n".join(p.read_text() for p in Path("lib").glob("*.py"))
    keys = set(re.findall(r'FieldError\(\s*"[a-z_]+",\s*"([a-z_]+)"', src))
    assert keys
    for lang in ("vi", "en"):
        missing = {k for k in keys if f"err.{k}" not in catalogue(lang)}
        assert not missing, (lang, missing)
