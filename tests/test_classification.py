"""Year-end classification of cells (issue 12, branch classify): proposals worked out by hand for hand-built cells,
the committee's decisions (refusals, audit, a new decision to change a level, bulk acceptance), the distribution per
commune and the compiled report's table read back with python-docx."""

import io
import json
from datetime import date

import pytest
from docx import Document

from lib import audit, classification, directory, meetings, metrics, org, reports
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, Role, ValidationError
from lib.i18n import language
from lib.metrics import Filters
from tests.helpers import make_user

YEAR = 2025
TODAY = date(2026, 1, 20)
ADMIN = Actor("quantri", Role.ADMIN)

# The world: province TINH over communes XA and XB. Cells of XA (all meet on the 10th, 10 members, none exempt):
#   E  excellent: 12 monthly meetings, all 10 present, 10 Tốt + 2 Khá
#        coverage 12/12 = 100%, rate 120/120 = 100%, Tốt/Khá 12/12 = 100%, no Kém → xuat_sac (with no flag known)
#   G  good: 12 meetings, 9 of 10 present, 6 Tốt + 3 Khá + 3 Trung bình
#        coverage 100%, rate 108/120 = 90%, Tốt/Khá 9/12 = 75% < 80% → not xuat_sac; ≥ 50%, no Kém → tot
#   C  complete: meetings in January–October only, 8 of 10 present, all Trung bình
#        coverage 10/12 = 83.3% < 90% → not tot (nor xuat_sac); rate 80/100 = 80% ≥ 70%, ≥ 75% months → hoan_thanh
#   F  failing: 12 meetings, all present, 9 Tốt + 3 Kém → 3 Kém > 2 → khong_hoan_thanh
#   N  founded 01/03/2025, meets from March: not valid the whole year → no level ("chưa đủ căn cứ")
#   Z  valid all year, no meeting recorded → no level (no record)
#   OLD dissolved 31/12/2024: not a cell of 2025 at all
# XB has one cell D1, valid all year, no meeting.
CELLS = {"E": "XA", "G": "XA", "C": "XA", "F": "XA", "N": "XA", "Z": "XA", "OLD": "XA", "D1": "XB"}
VALIDITY = {"N": ("2025-03-01", None), "OLD": ("2020-01-01", "2024-12-31")}
# cell → (months, present of 10, ratings in month order)
MEETINGS = {
    "E": (range(1, 13), 10, ["tot"] * 10 + ["kha"] * 2),
    "G": (range(1, 13), 9, ["tot"] * 6 + ["kha"] * 3 + ["trung_binh"] * 3),
    "C": (range(1, 11), 8, ["trung_binh"] * 10),
    "F": (range(1, 13), 10, ["tot"] * 9 + ["kem"] * 3),
    "N": (range(3, 13), 10, ["tot"] * 10),
}
EXPECTED = {"E": "xuat_sac", "G": "tot", "C": "hoan_thanh", "F": "khong_hoan_thanh", "N": None, "Z": None}


def build(path) -> dict[str, int]:
    """The world above, written through the stores; cell ids by code."""
    dbm.init(path)
    with dbm.write(path) as db:
        u = {"TINH": directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})}
        for code, name in (("XA", "Xã An Phú"), ("XB", "Xã Bình Hòa")):
            u[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": "xa",
                                                         "parent_id": u["TINH"]})
        org.set_home(db, SYSTEM, "TINH")
        c = {}
        for code, unit in CELLS.items():
            valid_from, valid_to = VALIDITY.get(code, ("2020-01-01", None))
            c[code] = directory.create_cell(db, SYSTEM, {"code": code, "unit_id": u[unit], "name": f"Chi bộ {code}",
                                                         "cell_type": "ap_khom", "meeting_day": 10,
                                                         "valid_from": valid_from, "valid_to": valid_to})
        for code, (months, present, ratings) in MEETINGS.items():
            for month, rating in zip(months, ratings, strict=True):
                meetings.create(db, SYSTEM, {"cell_id": c[code], "held_on": f"{YEAR}-{month:02d}-10",
                                             "mtype": "thuong_ky", "members_total": 10, "members_exempt": 0,
                                             "present": present, "absent_excused": 10 - present,
                                             "absent_unexcused": 0, "duration_minutes": 120, "rating": rating},
                                today=TODAY)
    make_user(path, "quantri", "admin")
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("classify") / "world.db"
    cells = build(path)
    return path, cells


@pytest.fixture
def fresh(tmp_path):
    """A world of its own for the tests that write decisions."""
    path = tmp_path / "fresh.db"
    return path, build(path)


def proposals(path, unit="XA", **kw) -> dict[str, dict]:
    with dbm.read(path) as db:
        return {p["cell_code"]: p for p in classification.propose(db, YEAR, unit, today=TODAY, **kw)}


# ---- proposals ------------------------------------------------------------------------------------------------


def test_the_proposed_levels_of_hand_built_cells(world):
    got = proposals(world[0])
    assert {code: p["proposed_level"] for code, p in got.items()} == EXPECTED  # OLD is not a cell of 2025


def test_the_basis_names_the_figures_and_the_criterion_that_decided(world):
    got = proposals(world[0])
    e, g, c, f = (got[k]["basis"] for k in "EGCF")
    assert e["figures"] | {} == {**e["figures"], "cell_months": 12, "held": 12, "coverage": 1.0, "rate": 1.0,
                                 "rated": 12, "good": 12, "good_share": 1.0, "kem": 0, "flagged": None}
    assert e["criteria"] == "2023-124" and "124-QĐ/TW" in e["document"]
    assert e["missed"] == [] and e["flags_known"] is False
    # G reached tot; xuat_sac was missed on the Tốt/Khá share alone (9 of 12)
    assert g["level"] == "tot" and g["figures"]["rate"] == 0.9
    assert g["missed"] == [{"level": "xuat_sac", "failures": [{"criterion": "min_good_share", "value": 0.75,
                                                                 "need": 0.8}]}]
    # C: coverage 10/12 and rate 80% miss both levels above; its Tốt/Khá share is 0
    assert c["figures"]["coverage"] == round(10 / 12, 4) and c["figures"]["rate"] == 0.8
    assert [m["level"] for m in c["missed"]] == ["xuat_sac", "tot"]
    assert [x["criterion"] for x in c["missed"][1]["failures"]] == ["min_coverage", "min_rate", "min_good_share"]
    # F: three Kém break every level's limit; nothing else is missing at hoan_thanh
    assert f["missed"][-1] == {"level": "hoan_thanh", "failures": [{"criterion": "max_kem", "value": 3, "need": 2}]}


def test_the_reasons_read_as_sentences(world):
    got = proposals(world[0])
    with language("vi"):
        g = classification.reasons(got["G"]["basis"])
        n = classification.reasons(got["N"]["basis"])
        z = classification.reasons(got["Z"]["basis"])
    assert g[0] == "Đạt các tiêu chí mức Hoàn thành tốt nhiệm vụ (tiêu chí 2023-124)."
    assert g[1] == ("Chưa đạt mức Hoàn thành xuất sắc nhiệm vụ vì: tỷ lệ buổi xếp loại Tốt, Khá 75,0% "
                    "(cần từ 80,0%).")
    assert g[2].startswith("Chưa xét số đảng viên vi phạm")
    assert n[0].startswith("Chưa đủ căn cứ: chi bộ không hoạt động đủ cả năm 2025")
    assert z[0] == "Chưa đủ căn cứ: năm 2025 chưa có buổi sinh hoạt nào được ghi."
    with language("vi"):
        f = classification.reasons(got["F"]["basis"])
        deciding = {k: classification.deciding_reason(got[k]["basis"]) for k in "EFG"}
    # the lowest level is reached by missing the ones above, each named with what it missed
    assert f[0] == "Đề xuất mức Không hoàn thành nhiệm vụ (tiêu chí 2023-124), vì chưa đạt các mức trên."
    assert f[3] == "Chưa đạt mức Hoàn thành nhiệm vụ vì: 3 buổi xếp loại Kém (tối đa 2)."
    assert deciding == {"E": "Đạt các tiêu chí mức Hoàn thành xuất sắc nhiệm vụ (tiêu chí 2023-124).",
                        "F": f[3], "G": g[1]}


def test_flags_through_the_seam(world):
    path, cells = world
    # one member of E flagged: 1 > 0 → E drops to tot; the others, absent from the mapping, have none
    got = proposals(path, flags_by_cell={cells["E"]: 1})
    assert got["E"]["proposed_level"] == "tot"
    assert got["E"]["basis"]["missed"] == [{"level": "xuat_sac", "failures": [
        {"criterion": "max_flagged", "value": 1, "need": 0}]}]
    assert got["G"]["basis"]["figures"]["flagged"] == 0 and got["G"]["basis"]["flags_known"] is True
    assert {k: p["proposed_level"] for k, p in got.items()} == {**EXPECTED, "E": "tot"}


def test_no_level_while_the_year_runs(world):
    with dbm.read(world[0]) as db:
        got = classification.propose(db, YEAR, "XA", today=date(2025, 7, 15))
    assert {p["proposed_level"] for p in got} == {None}
    assert {p["basis"]["insufficient"] for p in got if p["cell_code"] != "N"} == {"year_open"}


def test_the_criteria_in_force_at_the_years_end():
    assert classification.criteria_for(2023).version == "2023-124"
    assert classification.criteria_for(2022).version == "2018-132"
    assert classification.criteria_for(2017) is None


# ---- decisions ------------------------------------------------------------------------------------------------


def decide(path, actor, cell_id, **raw):
    with dbm.write(path) as db:
        return classification.decide(db, actor, cell_id, YEAR, raw, today=TODAY)


def rows(path, unit="XA") -> dict[str, dict]:
    with dbm.read(path) as db:
        return {r["cell_code"]: r for r in classification.classifications(db, YEAR, unit, today=TODAY)}


def test_a_decided_level_is_kept_beside_the_proposal_and_audited(fresh):
    path, cells = fresh
    decide(path, ADMIN, cells["G"], decided_level="hoan_thanh", decision_no="25-QĐ/ĐU", decision_date="15/01/2026")
    g = rows(path)["G"]
    assert (g["proposed_level"], g["decided_level"], g["decision_no"], g["decision_date"]) == (
        "tot", "hoan_thanh", "25-QĐ/ĐU", "2026-01-15")
    with dbm.read(path) as db:
        stored = db["cell_classifications"].get(g["id"])
        log = audit.entries(db, table_name="cell_classifications")
    assert stored["decided_by"] == "quantri" and json.loads(stored["basis_json"])["level"] == "tot"
    # the proposal stored (create), then the decision written on it (update), both by the admin
    assert [(e["action"], e["username"]) for e in reversed(log)] == [("create", "quantri"), ("update", "quantri")]
    assert json.loads(log[0]["after_json"])["decided_level"] == "hoan_thanh"


def test_a_decided_level_changes_only_under_a_new_decision(fresh):
    path, cells = fresh
    decide(path, ADMIN, cells["E"], decided_level="xuat_sac", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    with pytest.raises(ValidationError) as exc:
        decide(path, ADMIN, cells["E"], decided_level="tot", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    assert exc.value.fields() == {"decision_no"} and exc.value.errors[0].key == "class_new_decision"
    assert rows(path)["E"]["decided_level"] == "xuat_sac"
    # the same decision again records nothing
    with dbm.read(path) as db:
        before = len(audit.entries(db, table_name="cell_classifications"))
    decide(path, ADMIN, cells["E"], decided_level="xuat_sac", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    decide(path, ADMIN, cells["E"], decided_level="tot", decision_no="31-QĐ/ĐU", decision_date="2026-01-18")
    e = rows(path)["E"]
    assert (e["proposed_level"], e["decided_level"], e["decision_no"]) == ("xuat_sac", "tot", "31-QĐ/ĐU")
    with dbm.read(path) as db:
        log = audit.entries(db, table_name="cell_classifications")
    assert len(log) == before + 1
    change = log[0]
    assert (json.loads(change["before_json"])["decision_no"], json.loads(change["after_json"])["decision_no"]) == (
        "25-QĐ/ĐU", "31-QĐ/ĐU")


@pytest.mark.parametrize(("raw", "field", "key"), [
    ({"decision_no": "25-QĐ/ĐU", "decision_date": "2026-01-15"}, "decided_level", "required"),
    ({"decided_level": "gioi", "decision_no": "25-QĐ/ĐU", "decision_date": "2026-01-15"}, "decided_level",
     "bad_choice"),
    ({"decided_level": "tot", "decision_date": "2026-01-15"}, "decision_no", "required"),
    ({"decided_level": "tot", "decision_no": "x" * 61, "decision_date": "2026-01-15"}, "decision_no",
     "class_decision_long"),
    ({"decided_level": "tot", "decision_no": "25-QĐ/ĐU"}, "decision_date", "required"),
    ({"decided_level": "tot", "decision_no": "25-QĐ/ĐU", "decision_date": "2026-02-01"}, "decision_date", "future"),
    ({"decided_level": "tot", "decision_no": "25-QĐ/ĐU", "decision_date": "2024-12-31"}, "decision_date",
     "class_decision_before_year"),
])
def test_a_decision_is_refused_by_field(fresh, raw, field, key):
    path, cells = fresh
    with pytest.raises(ValidationError) as exc:
        decide(path, ADMIN, cells["G"], **raw)
    assert [(e.field, e.key) for e in exc.value.errors] == [(field, key)]
    with dbm.read(path) as db:
        assert db["cell_classifications"].count == 0


def test_a_cell_outside_the_year_or_unknown_is_refused(fresh):
    path, cells = fresh
    ok = {"decided_level": "tot", "decision_no": "25-QĐ/ĐU", "decision_date": "2026-01-15"}
    with pytest.raises(ValidationError) as exc:
        decide(path, ADMIN, cells["OLD"], **ok)
    assert [(e.field, e.key) for e in exc.value.errors] == [("cell_id", "class_cell_not_in_year")]
    with pytest.raises(ValidationError) as exc:
        decide(path, ADMIN, 9999, **ok)
    assert [(e.field, e.key) for e in exc.value.errors] == [("cell_id", "unknown_id")]
    # a cell with too little record may still be decided by the committee, one by one
    decide(path, ADMIN, cells["N"], **ok)
    assert rows(path)["N"]["decided_level"] == "tot" and rows(path)["N"]["proposed_level"] is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK])
def test_only_an_administrator_decides(fresh, role):
    path, cells = fresh
    make_user(path, "nguoi", role, [])
    who = Actor("nguoi", role)
    ok = {"decided_level": "tot", "decision_no": "25-QĐ/ĐU", "decision_date": "2026-01-15"}
    with pytest.raises(PermissionDenied) as exc:
        decide(path, who, cells["G"], **ok)
    assert exc.value.key == "admin_only"
    with dbm.write(path) as db, pytest.raises(PermissionDenied):
        classification.accept_proposals(db, who, YEAR, "XA", ok, today=TODAY)
    with dbm.write(path) as db, pytest.raises(PermissionDenied):
        classification.refresh(db, who, YEAR, "XA", today=TODAY)
    with dbm.read(path) as db:
        assert db["cell_classifications"].count == 0


def test_accepting_the_proposals_of_a_commune_under_one_decision(fresh):
    path, cells = fresh
    decide(path, ADMIN, cells["G"], decided_level="hoan_thanh", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    with dbm.write(path) as db:
        n = classification.accept_proposals(db, ADMIN, YEAR, "XA", {"decision_no": "26-QĐ/ĐU",
                                                                    "decision_date": "2026-01-16"}, today=TODAY)
    # E, C and F take their proposals; G was decided already; N and Z have no proposal
    assert n == 3
    got = rows(path)
    assert {k: (r["decided_level"], r["decision_no"]) for k, r in got.items()} == {
        "E": ("xuat_sac", "26-QĐ/ĐU"), "G": ("hoan_thanh", "25-QĐ/ĐU"), "C": ("hoan_thanh", "26-QĐ/ĐU"),
        "F": ("khong_hoan_thanh", "26-QĐ/ĐU"), "N": (None, None), "Z": (None, None)}
    with dbm.write(path) as db, pytest.raises(ValidationError) as exc:
        classification.accept_proposals(db, ADMIN, YEAR, "XA", {"decision_no": "27-QĐ/ĐU",
                                                                "decision_date": "2026-01-16"}, today=TODAY)
    assert exc.value.errors[0].key == "class_nothing_to_accept"


def test_refreshing_proposals_leaves_decided_cells_alone(fresh):
    path, cells = fresh
    decide(path, ADMIN, cells["E"], decided_level="xuat_sac", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    with dbm.write(path) as db:
        # stored: G, C, F, N, Z (E's is stored with its decision)
        assert classification.refresh(db, ADMIN, YEAR, "XA", today=TODAY) == 5
        # with a flag on E and G: E is decided and keeps its proposal; G's changes (tot → tot, basis differs)
        assert classification.refresh(db, ADMIN, YEAR, "XA", today=TODAY,
                                      flags_by_cell={cells["E"]: 2, cells["G"]: 1}) == 5  # every basis now knows flags
        stored = {r["cell_id"]: r for r in db.query("select * from cell_classifications")}
    assert stored[cells["E"]]["proposed_level"] == "xuat_sac"
    assert json.loads(stored[cells["E"]]["basis_json"])["flags_known"] is False
    assert json.loads(stored[cells["G"]]["basis_json"])["figures"]["flagged"] == 1


# ---- the distribution per commune ---------------------------------------------------------------------------


def distribution(path, period="2025", **filters):
    with dbm.read(path) as db:
        return metrics.classification_distribution(db, period, Filters(**filters), TODAY)


def test_the_distribution_per_commune(fresh):
    path, cells = fresh
    # nothing stored yet: every cell of the year unclassified (XA: E G C F N Z, OLD not of 2025; XB: D1)
    assert [(r["unit_code"], r["cells"], r["unclassified"]) for r in distribution(path)] == [("XA", 6, 6),
                                                                                            ("XB", 1, 1)]
    decide(path, ADMIN, cells["E"], decided_level="xuat_sac", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    decide(path, ADMIN, cells["G"], decided_level="hoan_thanh", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    with dbm.write(path) as db:
        classification.refresh(db, ADMIN, YEAR, None, today=TODAY)
    xa, xb = distribution(path)
    # decided: E xuat_sac, G hoan_thanh; proposed apart: C hoan_thanh, F khong_hoan_thanh; N, Z no proposal
    assert {k: v for k, v in xa.items() if isinstance(v, int) and v} == {
        "cells": 6, "decided_xuat_sac": 1, "decided_hoan_thanh": 1, "proposed_hoan_thanh": 1,
        "proposed_khong_hoan_thanh": 1, "unclassified": 2, "decided": 2, "proposed": 2}
    assert (xb["cells"], xb["decided"], xb["proposed"], xb["unclassified"]) == (1, 0, 0, 1)
    # a quarter of the year reads the year's classification; another year has none
    assert distribution(path, "2025-Q4") == [xa, xb]
    assert sum(r["decided"] + r["proposed"] for r in distribution(path, "2024")) == 0
    # drilled into XA: its cells hang directly under it, so one row, the same numbers
    assert distribution(path, node="XA") == [xa]
    assert metrics.classification_totals([xa, xb])["cells"] == 7


# ---- the compiled report ------------------------------------------------------------------------------------


def _tables(content: bytes) -> list[list[list[str]]]:
    doc = Document(io.BytesIO(content))
    return [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]


def test_the_compiled_report_of_the_year_has_the_classification_table(fresh):
    path, cells = fresh
    with dbm.write(path) as db:
        org.create_body(db, SYSTEM, {"unit_id": db.execute("select id from units where code = 'TINH'").fetchone()[0],
                                     "effective_from": "2020-01-01", "committee": "Tỉnh ủy Vĩnh Long"})
    with language("vi"):
        before = reports.compiled_docx(path, "2025", today=TODAY)
    # nothing classified: no table of zeros
    assert not [t_ for t_ in _tables(before) if t_[0][-1] == "Chưa xếp loại"]
    decide(path, ADMIN, cells["E"], decided_level="xuat_sac", decision_no="25-QĐ/ĐU", decision_date="2026-01-15")
    with dbm.write(path) as db:
        classification.refresh(db, ADMIN, YEAR, None, today=TODAY)
    with language("vi"):
        content = reports.compiled_docx(path, "2025", today=TODAY)
        quarter = reports.compiled_docx(path, "2025-Q4", today=TODAY)
    table = next(t_ for t_ in _tables(content) if t_[0][-1] == "Chưa xếp loại")
    assert table == [
        ["STT", "Đảng bộ", "Số chi bộ", "HTXS", "HTT", "HT", "KHT", "Đề xuất chưa QĐ", "Chưa xếp loại"],
        # XA: E decided xuat_sac; G tot, C hoan_thanh, F khong_hoan_thanh proposed; N, Z without a proposal
        ["1", "Xã An Phú", "6", "1", "0", "0", "0", "3", "2"],
        ["2", "Xã Bình Hòa", "1", "0", "0", "0", "0", "0", "1"],
        ["", "Tổng cộng", "7", "1", "0", "0", "0", "3", "3"],
    ]
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "Kết quả xếp loại chất lượng chi bộ năm 2025: 1 chi bộ đã có quyết định" in text
    assert not [t_ for t_ in _tables(quarter) if t_[0][-1] == "Chưa xếp loại"]  # a quarter's report: no table


def test_members_flagged_by_the_rules_count_against_the_proposal(fresh):
    """Cell E (xuất sắc on its record) gets 10 members and a mark for each at its 12 meetings; member M1 is absent
    without reason in March, June and September: 3 months of 2025 → flagged by Statute Art. 8. E's meetings in those
    months then have 9 present of 10 (rate 117/120 = 97.5%, still ≥ 90%), but one member is flagged and xuất sắc
    allows none → tot. G typed counts only: the rules cannot judge it, its flag criterion is untested (still tot)."""
    path, cells = fresh
    with dbm.write(path) as db:
        for i in range(1, 11):
            mid = db.execute("insert into members(code, full_name, admitted_on, official_on) "
                             "values (?, ?, '2010-01-01', '2011-01-01')", [f"M{i}", f"Đảng viên {i}"]).lastrowid
            db.execute("insert into member_cells(member_id, cell_id, valid_from) values (?, ?, '2020-01-01')",
                       [mid, cells["E"]])
        ids = {r[1]: r[0] for r in db.execute("select id, code from members")}
        for meeting_id, held_on in db.execute("select id, held_on from meetings where cell_id = ?", [cells["E"]]):
            absent = held_on[5:7] in ("03", "06", "09")
            for code, member_id in ids.items():
                status = "unexcused" if absent and code == "M1" else "present"
                db.execute("insert into attendance_marks(meeting_id, member_id, status) values (?, ?, ?)",
                           [meeting_id, member_id, status])
            db.execute("update meetings set present = ?, absent_excused = 0, absent_unexcused = ? where id = ?",
                       [9 if absent else 10, 1 if absent else 0, meeting_id])
    with dbm.read(path) as db:
        counted, marked = metrics.flags_by_cell(db, YEAR)
    assert counted == {cells["E"]: 1} and marked == {cells["E"]}
    got = proposals(path)
    e, g = got["E"]["basis"], got["G"]["basis"]
    assert e["flags_known"] is True and e["figures"]["flagged"] == 1 and e["figures"]["rate"] == 0.975
    assert got["E"]["proposed_level"] == "tot"
    assert e["missed"] == [{"level": "xuat_sac", "failures": [{"criterion": "max_flagged", "value": 1, "need": 0}]}]
    assert g["flags_known"] is False and got["G"]["proposed_level"] == "tot"
