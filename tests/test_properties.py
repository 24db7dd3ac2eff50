"""Property tests (hypothesis): any input to the parsers, the rules, meetings.check and the importer gives a
result or field-named, translated errors, never an exception; and what they accept can be stored.

Examples per test: CHIBO_PROPERTY_EXAMPLES (default 200; scaled down for the slower tests). The count of
inputs tried: `pytest tests/test_properties.py --hypothesis-show-statistics`.
"""

import csv
import io
import os
import re
import shutil
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lib import db as dbm
from lib import i18n, importer, meetings
from lib.domain import (
    ENUMS,
    MEETING_FIELDS,
    SYSTEM,
    FieldError,
    MeetingType,
    ParseError,
    Rating,
    Thresholds,
    coerce,
    parse_bool,
    parse_date,
    parse_enum,
    parse_int,
    rating_for_score,
    validate_meeting,
)
from tests.factories import small_directory

TODAY = date(2025, 6, 15)
EXAMPLES = int(os.environ.get("CHIBO_PROPERTY_EXAMPLES", "200"))
SQLITE_MAX = 2**63 - 1


def examples(share: float = 1.0) -> settings:
    return settings(max_examples=max(10, int(EXAMPLES * share)), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- strategies -----------------------------------------------------------------------------------

LABELS = sorted({text for enum in ENUMS.values() for m in enum
                 for text in (m.value, i18n.t(f"enum.{enum.__name__}.{m.value}", "vi"),
                              i18n.t(f"enum.{enum.__name__}.{m.value}", "en"))})
number_text = st.from_regex(r"[ +-]?[0-9]{1,30}([.,][0-9]{0,3})?[ ]?", fullmatch=True)
date_text = st.from_regex(r"[0-9]{1,5}[-/.][0-9]{1,3}[-/.][0-9]{1,5}( 00:00:00)?", fullmatch=True)
# What a form, a CSV cell or an XLSX cell can hand over.
raw_value = st.one_of(
    st.none(), st.text(max_size=30), number_text, date_text, st.sampled_from(LABELS),
    st.sampled_from(["", " ", "x", "X", "có", "Không", "1", "0", "true", "-1", "1e3", "٣", "²", "31/02/2025",
                     "2025-02-29", "29/02/2024", "0000-01-01", "9" * 5000, str(2**63), str(-(2**63) - 1)]),
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
)


def translated(key: str) -> bool:
    return all(i18n.has(key, lang) for lang in i18n.LANGUAGES)


def assert_field_errors(errors, fields) -> None:
    """Each error names a known field and has a message in both languages."""
    for error in errors:
        assert isinstance(error, FieldError)
        assert error.field and error.field in fields, error
        assert translated(f"field.{error.field}"), error
        assert translated(f"{error.prefix}.{error.key}"), error
        for lang in i18n.LANGUAGES:
            with i18n.language(lang):
                assert str(error).startswith(error.field_label + ": ") and error.message.strip()


def assert_parse_error(exc: ParseError, keys: set[str]) -> None:
    assert exc.key in keys, exc.key
    assert_field_errors([FieldError("present", exc.key, exc.params)], {"present"})


# ---- the parsers --------------------------------------------------------------------------------

@examples(2)
@given(raw_value)
def test_parse_date_gives_a_date_or_a_named_error(value):
    try:
        result = parse_date(value)
    except ParseError as exc:
        assert_parse_error(exc, {"bad_date", "impossible_date"})
    else:
        assert result is None or (isinstance(result, date) and not isinstance(result, datetime))


@examples()
@given(st.dates(min_value=date(1000, 1, 1)))
def test_parse_date_reads_both_written_forms(day):
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(f" {day.day}/{day.month}/{day.year} ") == day
    assert parse_date(datetime(day.year, day.month, day.day, 7, 30)) == day


@examples(2)
@given(raw_value)
def test_parse_int_gives_a_storable_whole_number_or_a_named_error(value):
    try:
        result = parse_int(value)
    except ParseError as exc:
        assert_parse_error(exc, {"not_number", "not_whole", "number.too_large"})
    else:
        assert result is None or (type(result) is int and -SQLITE_MAX - 1 <= result <= SQLITE_MAX)


@examples()
@given(st.integers(min_value=-SQLITE_MAX - 1, max_value=SQLITE_MAX))
def test_parse_int_reads_written_numbers_back(number):
    assert parse_int(str(number)) == number
    assert parse_int(f" {number},00 ") == number
    if abs(number) <= 2**53:  # exactly representable as a float, as a spreadsheet stores it
        assert parse_int(float(number)) == number


@examples()
@given(st.integers(min_value=SQLITE_MAX + 1) | st.integers(max_value=-SQLITE_MAX - 2))
def test_numbers_beyond_the_database_range_are_refused_by_name(number):
    for value in (number, str(number), f"{number}.0"):
        with pytest.raises(ParseError) as exc:
            parse_int(value)
        assert exc.value.key == "number.too_large"


@examples(2)
@given(raw_value)
def test_parse_bool_gives_a_bool_or_a_named_error(value):
    try:
        result = parse_bool(value)
    except ParseError as exc:
        assert_parse_error(exc, {"not_bool"})
    else:
        assert type(result) is bool


@examples(2)
@given(st.sampled_from(sorted(ENUMS)), raw_value)
def test_parse_enum_gives_a_member_or_a_named_error(name, value):
    enum = ENUMS[name]
    try:
        result = parse_enum(enum, value)
    except ParseError as exc:
        assert_parse_error(exc, {"bad_choice"})
    else:
        assert result is None or isinstance(result, enum)


@examples()
@given(st.sampled_from([(enum, m) for enum in ENUMS.values() for m in enum]), st.sampled_from(["vi", "en"]),
       st.sampled_from([str, str.upper, str.lower, str.title]))
def test_parse_enum_reads_every_label_in_any_case(pair, lang, case):
    enum, member = pair
    assert parse_enum(enum, "  " + case(i18n.t(f"enum.{enum.__name__}.{member.value}", lang)) + " ") is member


# ---- coerce and the meeting rules ---------------------------------------------------------------

meeting_raw = st.fixed_dictionaries({}, optional={name: raw_value for name in MEETING_FIELDS})


@examples(2)
@given(meeting_raw)
def test_coerce_types_every_field_or_names_it(raw):
    clean, errors = coerce(raw, MEETING_FIELDS)
    assert_field_errors(errors, set(raw))
    assert set(clean) | {e.field for e in errors} == set(raw)
    assert not set(clean) & {e.field for e in errors}
    kinds = {"int": int, "date": date, "bool": bool, "str": str}
    for name, value in clean.items():
        kind = MEETING_FIELDS[name]
        expected = kinds.get(kind, kind)
        assert (value is None and kind != "bool") or isinstance(value, expected), (name, value)


count = st.one_of(st.none(), st.integers(min_value=-5, max_value=60), st.integers(min_value=-SQLITE_MAX,
                                                                                  max_value=SQLITE_MAX))
typed_meeting = st.fixed_dictionaries({
    "cell_id": st.one_of(st.none(), st.integers(1, 10)),
    "held_on": st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))),
    "mtype": st.one_of(st.none(), st.sampled_from(list(MeetingType))),
    "members_total": count, "members_exempt": count, "present": count, "absent_excused": count,
    "absent_unexcused": count, "duration_minutes": count,
    "score": st.one_of(st.none(), st.integers(-10, 110)),
    "rating": st.one_of(st.none(), st.sampled_from(list(Rating))),
})


@st.composite
def consistent_meeting(draw):
    """A record that keeps the count rules, with one value perhaps pushed out of line."""
    m = draw(typed_meeting)
    total = draw(st.integers(1, 60))
    exempt = draw(st.integers(0, total))
    present = draw(st.integers(0, total - exempt))
    excused = draw(st.integers(0, total - exempt - present))
    m.update(members_total=total, members_exempt=exempt, present=present, absent_excused=excused,
             absent_unexcused=total - exempt - present - excused, mtype=draw(st.sampled_from(list(MeetingType))),
             held_on=draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 7, 1))))
    if m["score"] is not None and draw(st.booleans()):
        m["rating"] = rating_for_score(m["score"]) if 0 <= m["score"] <= 100 else m["rating"]
    if draw(st.booleans()):
        name = draw(st.sampled_from(["members_total", "members_exempt", "present", "absent_excused",
                                     "absent_unexcused", "duration_minutes", "score"]))
        m[name] = draw(st.one_of(st.none(), st.integers(-2, 70)))
    return m


@examples(3)
@given(st.one_of(typed_meeting, consistent_meeting()), st.one_of(st.none(), st.fixed_dictionaries({
    "name": st.text(max_size=10), "valid_from": st.one_of(st.none(), st.dates().map(date.isoformat)),
    "valid_to": st.one_of(st.none(), st.dates().map(date.isoformat))})))
def test_validate_meeting_accepts_only_records_that_keep_every_rule(m, cell):
    errors = validate_meeting(m, today=TODAY, cell=cell)
    assert_field_errors(errors, set(MEETING_FIELDS))
    event("refused" if errors else "accepted")
    if errors:
        return
    required = m["members_total"] - (m["members_exempt"] or 0)
    assert m["members_total"] >= 1 and 0 <= (m["members_exempt"] or 0) <= m["members_total"]
    assert min(m["present"], m["absent_excused"], m["absent_unexcused"]) >= 0
    assert m["present"] + m["absent_excused"] + m["absent_unexcused"] == required
    assert m["held_on"] <= TODAY
    if cell is not None:
        assert (cell["valid_from"] or "") <= m["held_on"].isoformat() <= (cell["valid_to"] or "9999")
    if m["score"] is not None:
        assert 0 <= m["score"] <= 100
        assert m["rating"] in (None, rating_for_score(m["score"], Thresholds()))


# ---- meetings.check and the importer on a real database ------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small directory (two units, two cells with fixed days 31 and 10, two leaders), never written to."""
    path = tmp_path_factory.mktemp("properties") / "app.db"
    dbm.init(path)
    return path, small_directory(path)


def counts(path) -> dict[str, int]:
    with dbm.read(path) as db:
        return {name: db.execute(f"select count(*) from [{name}]").fetchone()[0] for name in db.table_names()}


class _Rollback(Exception):
    pass


leader_entry = st.fixed_dictionaries(
    {"leader_id": st.one_of(st.sampled_from([1, 2]), st.none(), st.integers(-3, 6))},  # leaders 1 and 2 exist
    optional={"report_submitted_on": st.one_of(st.dates(min_value=date(2019, 1, 1), max_value=date(2025, 7, 1)),
                                               raw_value),
              "remarks": st.one_of(st.none(), st.text(max_size=20))})


@examples(1.5)
@given(data=st.data())
def test_meetings_check_gives_a_record_or_field_errors_and_what_it_accepts_saves(world, data):
    path, ids = world
    if data.draw(st.booleans()):
        raw = data.draw(meeting_raw)
    else:
        # A plausible record, as a form sends it, with up to two raw values over the top: so that
        # many examples get past the parsers to the rules, the duplicate check and the save.
        total = data.draw(st.integers(0, 40))
        present = data.draw(st.integers(0, total))
        raw = {"cell_id": data.draw(st.sampled_from([ids["c1"], ids["c2"], str(ids["c2"]), 999])),
               "held_on": data.draw(st.dates(min_value=date(2019, 1, 1), max_value=date(2025, 7, 1))),
               "mtype": data.draw(st.sampled_from(list(MeetingType))), "members_total": total,
               "members_exempt": 0, "present": present, "absent_excused": total - present, "absent_unexcused": 0,
               "duration_minutes": data.draw(st.integers(30, 200)), "score": data.draw(st.integers(0, 100)),
               "topics": data.draw(st.text(max_size=20))}
        raw.update(data.draw(st.dictionaries(st.sampled_from(list(MEETING_FIELDS)), raw_value, max_size=2)))
    leaders = data.draw(st.lists(leader_entry, max_size=3))
    before = counts(path)
    with dbm.read(path) as db:
        clean, clean_leaders, errors = meetings.check(db, raw, leaders, today=TODAY)
    assert_field_errors(errors, set(MEETING_FIELDS) | {"leaders_present", "report_submitted_on"})
    event("refused" if errors else "accepted and saved")
    if not errors:
        # Accepted means storable: the same record saves, then the transaction is undone.
        with pytest.raises(_Rollback):
            with dbm.write(path) as db:
                new_id = meetings.create(db, SYSTEM, raw, leaders, today=TODAY)
                assert meetings.get(db, new_id)["present"] == clean["present"]
                raise _Rollback
    assert counts(path) == before


def assert_row_errors(result_or_exc, kind: str, rows: int | None = None) -> None:
    """Import errors name a row of the file (or none) and a column of the kind (or none), in words."""
    for error in result_or_exc.errors:
        assert isinstance(error, importer.RowError)
        assert error.row is None or (isinstance(error.row, int) and 1 <= error.row <= (rows or 10**9))
        assert error.field is None or error.field in importer.COLUMNS.get(kind, ()), error
        assert error.message.strip() and not re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", error.message), error
        for lang in i18n.LANGUAGES:
            with i18n.language(lang):
                assert error.line().strip()


file_bytes = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=300).map(lambda b: b"\xef\xbb\xbf" + b),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    st.text(max_size=100).map(lambda s: s.encode("utf-16")),
    st.text(max_size=100).map(lambda s: s.encode("cp1258", errors="ignore")),
)


@examples(2)
@given(st.sampled_from(importer.KINDS + ("votes",)), file_bytes,
       st.sampled_from(["a.csv", "a.CSV", "a.xlsx", "a.xls", "a.txt", "a", "a.pdf", "a.xlsm"]))
def test_read_rows_on_any_bytes_gives_rows_or_a_file_error(kind, data, filename):
    try:
        rows = importer.read_rows(kind, data, filename)
    except importer.ImportFileError as exc:
        assert exc.errors
        assert_row_errors(exc, kind)
    else:
        assert rows and all(isinstance(r["_row"], int) for r in rows)
        assert all(set(r) <= set(importer.COLUMNS[kind]) | {"_row", "_extra"} for r in rows)


def column_value(column: str):
    """Values a person might type in a column: mostly plausible, sometimes wrong, sometimes junk."""
    if column in importer.DATE_COLUMNS or column == "reports_submitted_on":
        good = st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 1, 1)).flatmap(
            lambda d: st.sampled_from([d.isoformat(), d.strftime("%d/%m/%Y")]))
        return st.one_of(good, good, date_text, st.just(""))
    if column in importer.INT_COLUMNS:
        return st.one_of(st.integers(-2, 40).map(str), number_text, st.just(""), st.just(str(2**64)))
    if column in importer.BOOL_COLUMNS:
        return st.sampled_from(["", "x", "1", "0", "có", "không", "có lẽ"])
    if column in ENUMS:
        return st.one_of(st.sampled_from(LABELS), st.text(max_size=8))
    if column in ("cell_code", "successor_code"):
        return st.sampled_from(["NL-CD", "DP-LH", "", "KHONG-CO", "NL"])
    if column in ("unit_code",):
        return st.sampled_from(["NL", "DP", "", "XX"])
    if column in ("leader_code", "noted_by", "leaders_present"):
        return st.sampled_from(["L1", "L2", "L1;L2", "", "L9", "L1;L1"])
    if column == "code":
        return st.one_of(st.sampled_from(["NL", "NEW1", "NEW2", "L1", "NL-CD", ""]), st.text(max_size=6))
    return st.text(max_size=20)


VALID_ROW = {
    "units": lambda i: {"code": f"MOI{i}", "name": f"Xã Mới {i}", "kind": "xa", "valid_from": "01/01/2024"},
    "cells": lambda i: {"code": f"NL-M{i}", "unit_code": "NL", "name": f"Ấp Mới {i}", "cell_type": "ap_khom",
                        "meeting_day": str(5 + i)},
    "leaders": lambda i: {"code": f"LM{i}", "full_name": f"Cán bộ {i}", "grp": "uv_bch", "position": "Ủy viên"},
    "posts": lambda i: {"leader_code": "L1", "unit_code": "NL", "title": f"Chức vụ {i}", "grp": "khac",
                        "valid_from": f"01/01/202{i}", "valid_to": f"31/12/202{i}"},
    "assignments": lambda i: {"leader_code": "L2", "unit_code": "DP", "valid_from": f"2025-0{i + 1}-01",
                              "required_per_quarter": "1", "decision_no": "395-QĐ/HU"},
    "meetings": lambda i: {"cell_code": "DP-LH", "held_on": f"10/{i + 1:02d}/2025", "mtype": "thuong_ky",
                           "members_total": "20", "members_exempt": "1", "present": "17", "absent_excused": "1",
                           "absent_unexcused": "1", "leaders_present": "L1;L2",
                           "reports_submitted_on": f"12/{i + 1:02d}/2025;"},
    "weaknesses": lambda i: {"unit_code": "NL", "category": "xay_dung_dang", "description": f"Hạn chế {i}",
                             "noted_on": "2025-03-01", "status": "open"},
    "members": lambda i: {"code": f"DV{i}", "full_name": f"Đảng viên {i}", "cell_code": "NL-CD",
                          "admitted_on": "19/05/2010", "joined_cell_on": f"0{i + 1}/07/2025"},
}


@st.composite
def csv_file(draw, kind: str):
    """A CSV of valid rows of the kind under canonical, vi or en headers in any order, then maybe damaged:
    values replaced by plausible or junk ones, a column dropped, a stray header or cell added."""
    rows = [VALID_ROW[kind](i) for i in range(draw(st.integers(0, 5)))]
    columns = list(VALID_ROW[kind](0))
    columns += [c for c in draw(st.lists(st.sampled_from(importer.COLUMNS[kind]), unique=True, max_size=3))
                if c not in columns]
    damaged = draw(st.booleans())
    if damaged and draw(st.integers(0, 4)) == 0:
        columns.remove(draw(st.sampled_from(columns)))
    columns = draw(st.permutations(columns))
    headers = [draw(st.sampled_from([c, i18n.t(f"field.{c}", "vi"), i18n.t(f"field.{c}", "en").upper()]))
               for c in columns]
    if damaged and draw(st.integers(0, 9)) == 0:
        headers.insert(draw(st.integers(0, len(headers))), draw(st.text(max_size=8)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([",", ";"])))
    writer.writerow(headers)
    for row in rows:
        cells = [draw(column_value(c)) if damaged and draw(st.integers(0, 5)) == 0 else row.get(c, "")
                 for c in columns]
        if damaged and draw(st.integers(0, 9)) == 0:
            cells = cells[:-1] if draw(st.booleans()) else cells + [draw(st.text(max_size=5))]
        writer.writerow(cells)
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + out.getvalue()).encode("utf-8"), len(rows) + 1


@examples(1.5)
@given(data=st.data())
def test_preview_of_any_csv_names_rows_and_columns_and_a_clean_preview_imports_whole(world, data):
    path, _ = world
    kind = data.draw(st.sampled_from(importer.KINDS))
    payload, lines = data.draw(csv_file(kind))
    before = counts(path)
    result = importer.preview(path, kind, payload, f"{kind}.csv", SYSTEM, today=TODAY)
    assert isinstance(result, importer.ImportResult) and not result.written
    assert_row_errors(result, kind, lines)
    assert counts(path) == before
    event(f"{kind}: {'refused' if result.errors else 'accepted and imported'}")
    if result.errors:
        assert result.summary().strip()
        return
    table = importer.TABLE_OF[kind]  # posts go into leader_posts
    with pytest.raises(_Rollback):
        with dbm.write(path) as db:
            done = importer.run(db, kind, payload, f"{kind}.csv", SYSTEM, today=TODAY)
            assert done.errors == [] and done.written
            assert db.execute(f"select count(*) from [{table}]").fetchone()[0] == before[table] + len(result.rows)
            raise _Rollback
    assert counts(path) == before


xlsx_value = st.one_of(
    st.none(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.dates(min_value=date(1900, 3, 1)), st.datetimes(min_value=datetime(1900, 3, 1)),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=15), st.sampled_from(LABELS),
)


@examples(0.5)
@given(st.lists(st.lists(xlsx_value, min_size=0, max_size=20), min_size=0, max_size=4))
def test_preview_of_any_xlsx_cells_never_raises(world, rows):
    from openpyxl import Workbook

    path, _ = world
    wb = Workbook()
    wb.active.append([i18n.t(f"field.{c}", "vi") for c in importer.COLUMNS["meetings"]])
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    before = counts(path)
    result = importer.preview(path, "meetings", out.getvalue(), "m.xlsx", SYSTEM, today=TODAY)
    assert_row_errors(result, "meetings", len(rows) + 1)
    assert counts(path) == before


def test_counts_see_a_write(world, tmp_path):
    # Guards the guard: the counts() that the tests above compare do change on a write.
    path, ids = world
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    before = counts(copy)
    with dbm.write(copy) as db:
        meetings.create(db, SYSTEM, {"cell_id": ids["c2"], "held_on": "2025-05-10", "mtype": "thuong_ky",
                                     "members_total": 3, "present": 3, "absent_excused": 0,
                                     "absent_unexcused": 0}, today=TODAY)
    assert counts(copy)["meetings"] == before["meetings"] + 1
