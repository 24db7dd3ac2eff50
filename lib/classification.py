"""Year-end classification of cells: the level proposed from the year's record, and the level the committee decided.

The proposal reads the year's figures of each cell (lib.metrics: coverage, attendance rate, the meetings' ratings) and
the number of its members flagged by the rules, and tests them against the criteria version in force at the year's
end (CRITERIA). The committee's decision (level, decision number and date) is recorded beside the proposal, by an
administrator, audited; a decided level changes only under a new decision number.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit, metrics, store
from lib import db as dbm
from lib.domain import Actor, FieldError, ValidationError, coerce, fmt_date
from lib.i18n import get_language, t
from lib.users import require_admin

# The four levels of Quy định 124-QĐ/TW, Điều 12 (and 132-QĐ/TW before it), best first.
LEVELS = ("xuat_sac", "tot", "hoan_thanh", "khong_hoan_thanh")


@dataclass(frozen=True)
class LevelTest:
    """What a cell's year must reach for a level; None leaves a criterion untested at that level."""

    level: str
    min_coverage: float | None = None  # due cell-months with a regular meeting held
    min_rate: float | None = None  # members present / members expected, over the year's meetings
    min_good_share: float | None = None  # meetings rated Tốt or Khá, of those rated
    max_kem: int | None = None  # meetings rated Kém
    max_flagged: int | None = None  # members flagged by the rules (Statute Art. 8, 12-HD) in the year


@dataclass(frozen=True)
class Criteria:
    """A version of the criteria: from which day it applies (to years ending on or after it) and what it follows."""

    version: str
    valid_from: str
    document: str
    tests: tuple[LevelTest, ...]


# Our reading. The guidance classifies a cell on all its tasks; from the meeting record it takes the regular monthly
# meetings held (Điều lệ Đảng, Điều 24: a cell meets monthly), attendance and meeting quality (Hướng dẫn 12-HD/BTCTW:
# a good meeting has more than 85% present) and members' discipline. The numbers below turn that into tests: an
# excellent cell held every month, at least 90% present, 80% of rated meetings Tốt/Khá, none Kém, no member flagged;
# a good one missed at most one month, kept 85% (12-HD's figure), half Tốt/Khá, none Kém; a cell that completed its
# tasks held at least nine months with 70% present and at most two meetings Kém; below that it did not complete them.
# The proposal is an aid: the committee decides, and the basis says which criterion decided.
_TESTS = (
    LevelTest("xuat_sac", min_coverage=1.0, min_rate=0.90, min_good_share=0.80, max_kem=0, max_flagged=0),
    LevelTest("tot", min_coverage=0.9, min_rate=0.85, min_good_share=0.50, max_kem=0),
    LevelTest("hoan_thanh", min_coverage=0.75, min_rate=0.70, max_kem=2),
)
CRITERIA: tuple[Criteria, ...] = (
    Criteria("2018-132", "2018-03-08",
             "Quy định 132-QĐ/TW ngày 08/3/2018 của Bộ Chính trị; Hướng dẫn 16-HD/BTCTW ngày 24/9/2018 "
             "của Ban Tổ chức Trung ương", _TESTS),
    Criteria("2023-124", "2023-10-04",
             "Quy định 124-QĐ/TW ngày 04/10/2023 của Bộ Chính trị, Điều 12 (bốn mức xếp loại)", _TESTS),
)
CRITERIA_TESTS = ("min_coverage", "min_rate", "min_good_share", "max_kem", "max_flagged")
FIGURE_OF = {"min_coverage": "coverage", "min_rate": "rate", "min_good_share": "good_share", "max_kem": "kem",
             "max_flagged": "flagged"}
DECISION_FIELDS = {"decided_level": "str", "decision_no": "str", "decision_date": "date"}
DECISION_NO_MAX = 60


def criteria_for(year: int) -> Criteria | None:
    """The criteria version in force on the year's last day (None before the first version)."""
    end = f"{year}-12-31"
    found = [c for c in CRITERIA if c.valid_from <= end]
    return found[-1] if found else None


CELLS_SQL = """
select c.id as cell_id, c.code as cell_code, c.name as cell_name, c.valid_from, c.valid_to,
       u.code as unit_code, u.name as unit_name
from cells c join units u on u.id = c.unit_id
where (:node_id is null or c.unit_id in (select descendant_id from unit_tree where ancestor_id = :node_id))
  and (c.valid_from is null or c.valid_from <= :end) and (c.valid_to is null or c.valid_to >= :start)
order by u.code, c.code
"""


def cells_of_year(db: Database, year: int, unit_code: str | None) -> list[dict]:
    """The cells under a unit (None: every cell) valid on some day of the year; ValueError for an unknown unit."""
    node_id = None
    if unit_code:
        row = db.execute("select id from units where code = ?", [unit_code]).fetchone()
        if row is None:
            raise ValueError(t("metrics.unknown_unit", code=unit_code))
        node_id = row[0]
    return [dict(r) for r in db.query(CELLS_SQL, {"node_id": node_id, "start": f"{year}-01-01",
                                                  "end": f"{year}-12-31"})]


def _figures(att: Mapping[str, Any] | None, qual: Mapping[str, Any] | None, flagged: int | None) -> dict[str, Any]:
    att, qual = att or {}, qual or {}
    rated = sum(qual.get(k, 0) for k in ("tot", "kha", "trung_binh", "kem"))
    good = qual.get("tot", 0) + qual.get("kha", 0)
    return {"cell_months": att.get("cell_months", 0), "held": att.get("held", 0), "coverage": att.get("coverage"),
            "meetings": att.get("meetings", 0), "required": att.get("required", 0), "present": att.get("present", 0),
            "rate": att.get("rate"), "rated": rated, "good": good,
            "good_share": round(good / rated, 4) if rated else None, "kem": qual.get("kem", 0), "flagged": flagged}


def _failures(test: LevelTest, figures: Mapping[str, Any]) -> list[dict]:
    """The criteria of a level the figures miss (an unknown figure misses a minimum; unknown flags are skipped)."""
    out = []
    for name in CRITERIA_TESTS:
        need = getattr(test, name)
        value = figures[FIGURE_OF[name]]
        if need is None or (name == "max_flagged" and value is None):
            continue
        missed = value is None or (value < need if name.startswith("min_") else value > need)
        if missed:
            out.append({"criterion": name, "value": value, "need": need})
    return out


def proposal_of(cell: Mapping[str, Any], year: int, att: Mapping[str, Any] | None, qual: Mapping[str, Any] | None,
                flagged: int | None, criteria: Criteria | None) -> tuple[str | None, dict]:
    """The proposed level of one cell (None: too little record) and its basis."""
    figures = _figures(att, qual, flagged)
    basis: dict[str, Any] = {"year": year, "figures": figures, "flags_known": flagged is not None}
    if criteria is None:
        return None, {**basis, "insufficient": "no_criteria"}
    basis.update(criteria=criteria.version, document=criteria.document)
    whole_year = ((cell.get("valid_from") or "") <= f"{year}-01-01"
                  and (cell.get("valid_to") is None or cell["valid_to"] >= f"{year}-12-31"))
    if not whole_year:
        return None, {**basis, "insufficient": "not_whole_year"}
    if figures["cell_months"] < 12:
        return None, {**basis, "insufficient": "year_open"}
    if not figures["meetings"]:
        return None, {**basis, "insufficient": "no_record"}
    missed: list[dict] = []
    for test in criteria.tests:
        failures = _failures(test, figures)
        if not failures:
            return test.level, {**basis, "level": test.level, "missed": missed}
        missed.append({"level": test.level, "failures": failures})
    return LEVELS[-1], {**basis, "level": LEVELS[-1], "missed": missed}


def propose(db: Database, year: int, unit_code: str | None = None, *, today: date | None = None,
            flags_by_cell: Mapping[int, int] | None = None) -> list[dict]:
    """Per cell under a unit valid in the year: its proposed level (None: too little record) and basis (a dict).

    flags_by_cell: members flagged by the rules in the year per cell id (a cell missing from it has none flagged);
    None reads them from the year's attendance marks (metrics.flags_by_cell), and then a cell whose meetings of the
    year carry no marks (counts only) cannot be judged by the rules: its flag criterion is not tested, and the basis
    says so.
    """
    today = today or date.today()
    marked: frozenset[int] | None = None
    if flags_by_cell is None:
        flags_by_cell, marked = metrics.flags_by_cell(db, year)
    cells = cells_of_year(db, year, unit_code)
    filters = metrics.Filters(unit_codes=(unit_code,) if unit_code else ())
    att = {r["cell_code"]: r for r in metrics.attendance_by_cell(db, str(year), filters, today)}
    qual = {r["cell_code"]: r for r in metrics.quality_by_cell(db, str(year), filters, today)}
    criteria = criteria_for(year)
    out = []
    for cell in cells:
        known = marked is None or cell["cell_id"] in marked
        flagged = int(flags_by_cell.get(cell["cell_id"], 0)) if known else None
        level, basis = proposal_of(cell, year, att.get(cell["cell_code"]), qual.get(cell["cell_code"]), flagged,
                                   criteria)
        out.append({**cell, "proposed_level": level, "basis": basis})
    return out


def level_label(level: str | None) -> str:
    """A level as printed ("Hoàn thành tốt nhiệm vụ"); the no-proposal text for None."""
    return t(f"class.level.{level}") if level else t("class.level.none")


def _shown(name: str, value: Any) -> str:
    if value is None:
        return t("class.unknown")
    if name in ("min_coverage", "min_rate", "min_good_share"):
        text = f"{value * 100:.1f}%"
        return text.replace(".", ",") if get_language() == "vi" else text
    return str(value)


def reasons(basis: Mapping[str, Any]) -> list[str]:
    """The basis as sentences: why no level, or the level reached and what kept the cell from each level above."""
    if basis.get("insufficient"):
        out = [t(f"class.why.{basis['insufficient']}", year=basis.get("year", ""))]
    else:
        # the lowest level has no criteria of its own: a cell falls to it by missing the ones above
        key = "class.why.below" if basis["level"] == LEVELS[-1] else "class.why.reached"
        out = [t(key, level=level_label(basis["level"]), criteria=basis.get("criteria", ""))]
        out += [_missed(miss) for miss in basis.get("missed", [])]
    if not basis.get("flags_known", False):
        out.append(t("class.why.flags_unknown"))
    return out


def _missed(miss: Mapping[str, Any]) -> str:
    parts = [t(f"class.crit.{f['criterion']}", value=_shown(f["criterion"], f["value"]),
               need=_shown(f["criterion"], f["need"])) for f in miss["failures"]]
    return t("class.why.missed", level=level_label(miss["level"]), parts="; ".join(parts))


def deciding_reason(basis: Mapping[str, Any]) -> str:
    """The one sentence that decided: why no level, what kept the cell from the level just above, or, at the top
    level, that it met every criterion."""
    if basis.get("insufficient"):
        return t(f"class.why.{basis['insufficient']}", year=basis.get("year", ""))
    if basis.get("missed"):
        return _missed(basis["missed"][-1])
    return t("class.why.reached", level=level_label(basis["level"]), criteria=basis.get("criteria", ""))


STORED_SQL = """
select cc.* from cell_classifications cc
where cc.year = :year and cc.cell_id in (select value from json_each(:cells))
"""


def classifications(db: Database, year: int, unit_code: str | None = None, *, today: date | None = None,
                    flags_by_cell: Mapping[int, int] | None = None) -> list[dict]:
    """The page's rows: per cell, the stored proposal and decision, or the current proposal where none is decided."""
    proposals = propose(db, year, unit_code, today=today, flags_by_cell=flags_by_cell)
    stored = {r["cell_id"]: dict(r) for r in db.query(STORED_SQL, {
        "year": year, "cells": json.dumps([p["cell_id"] for p in proposals])})}
    rows = []
    for p in proposals:
        s = stored.get(p["cell_id"])
        decided = s is not None and s["decided_level"] is not None
        # a decided cell keeps the proposal it was decided beside; an undecided one shows today's
        basis = json.loads(s["basis_json"]) if decided and s["basis_json"] else p["basis"]
        level = s["proposed_level"] if decided else p["proposed_level"]
        rows.append({**{k: p[k] for k in ("cell_id", "cell_code", "cell_name", "unit_code", "unit_name")},
                     "proposed_level": level, "basis": basis, "reason": deciding_reason(basis),
                     "decided_level": s["decided_level"] if s else None,
                     "decision_no": s["decision_no"] if s else None,
                     "decision_date": s["decision_date"] if s else None,
                     "id": s["id"] if s else None})
    return rows


def _store_proposal(db: Database, actor: Actor, year: int, proposal: Mapping[str, Any],
                    existing: Mapping[str, Any] | None) -> int:
    values = {"proposed_level": proposal["proposed_level"],
              "basis_json": json.dumps(proposal["basis"], ensure_ascii=False, sort_keys=True)}
    if existing is None:
        return store.insert(db, actor, "cell_classifications", {"cell_id": proposal["cell_id"], "year": year,
                                                                **values})
    if existing["decided_level"] is None and any(existing[k] != v for k, v in values.items()):
        store.update(db, actor, "cell_classifications", existing["id"], values)
    return existing["id"]


def _existing(db: Database, cell_id: int, year: int) -> dict | None:
    row = db.execute("select id from cell_classifications where cell_id = ? and year = ?", [cell_id, year]).fetchone()
    return store.get(db, "cell_classifications", row[0]) if row else None


def _lock_year(db: Database, year: int) -> None:
    # PostgreSQL: a cell's row for a year is looked up, then inserted or decided; the year's classification is
    # written by one administrator's action at a time (a refresh covers every cell), as under SQLite's write lock.
    dbm.lock_name(db, "cell_classifications", year)


def refresh(db: Database, actor: Actor, year: int, unit_code: str | None = None, *, today: date | None = None,
            flags_by_cell: Mapping[int, int] | None = None) -> int:
    """Store the current proposals of the cells not yet decided (administrator; audited); return how many changed."""
    require_admin(db, actor)
    changed = 0
    with store.transaction(db):
        _lock_year(db, year)
        for p in propose(db, year, unit_code, today=today, flags_by_cell=flags_by_cell):
            existing = _existing(db, p["cell_id"], year)
            if existing is not None and existing["decided_level"] is not None:
                continue  # decided: the proposal stays as it was beside the decision
            before = None if existing is None else (existing["proposed_level"], existing["basis_json"])
            _store_proposal(db, actor, year, p, existing)
            after = _existing(db, p["cell_id"], year)
            changed += before != (after["proposed_level"], after["basis_json"])
    return changed


def _check_decision(raw: Mapping[str, Any], year: int, today: date) -> dict:
    clean, errors = coerce(raw, DECISION_FIELDS)
    level = (clean.get("decided_level") or "").strip()
    number = (clean.get("decision_no") or "").strip()
    day = clean.get("decision_date")
    if not level:
        errors.append(FieldError("decided_level", "required"))
    elif level not in LEVELS:
        errors.append(FieldError("decided_level", "bad_choice", value=level,
                                 choices=", ".join(level_label(x) for x in LEVELS)))
    if not number:
        errors.append(FieldError("decision_no", "required"))
    elif len(number) > DECISION_NO_MAX:
        errors.append(FieldError("decision_no", "class_decision_long", max=DECISION_NO_MAX))
    if day is None and "decision_date" not in {e.field for e in errors}:
        errors.append(FieldError("decision_date", "required"))
    elif day is not None and day > today:
        errors.append(FieldError("decision_date", "future", today=fmt_date(today)))
    elif day is not None and day.year < year:
        errors.append(FieldError("decision_date", "class_decision_before_year", year=year))
    if errors:
        raise ValidationError(errors)
    return {"decided_level": level, "decision_no": number, "decision_date": day.isoformat()}


def _decide_one(db: Database, actor: Actor, year: int, proposal: Mapping[str, Any], decision: Mapping[str, Any],
                existing: Mapping[str, Any] | None) -> int:
    if existing is not None and existing["decided_level"] is not None:
        if all(existing[k] == v for k, v in decision.items()):
            return existing["id"]  # the same decision again: nothing to record
        if existing["decision_no"] == decision["decision_no"]:
            # a decided level is changed by a new decision, never by editing the old one
            raise ValidationError([FieldError("decision_no", "class_new_decision", no=existing["decision_no"])])
    else:
        row_id = _store_proposal(db, actor, year, proposal, existing)
        existing = store.get(db, "cell_classifications", row_id)
    store.update(db, actor, "cell_classifications", existing["id"],
                 {**decision, "decided_by": actor.username, "decided_at": audit.now_iso()})
    return existing["id"]


def decide(db: Database, actor: Actor, cell_id: int, year: int, raw: Mapping[str, Any], *,
           today: date | None = None, flags_by_cell: Mapping[int, int] | None = None) -> int:
    """Record the committee's decided level of a cell for a year, with its decision (administrator; audited)."""
    actor = require_admin(db, actor)
    today = today or date.today()
    decision = _check_decision(raw, year, today)
    with store.transaction(db):
        _lock_year(db, year)
        cell = db.execute("select u.code from cells c join units u on u.id = c.unit_id where c.id = ?",
                          [cell_id]).fetchone() if cell_id else None
        if cell is None:
            raise ValidationError([FieldError("cell_id", "unknown_id")])
        proposal = next((p for p in propose(db, year, cell[0], today=today, flags_by_cell=flags_by_cell)
                         if p["cell_id"] == cell_id), None)
        if proposal is None:
            raise ValidationError([FieldError("cell_id", "class_cell_not_in_year", year=year)])
        return _decide_one(db, actor, year, proposal, decision, _existing(db, cell_id, year))


def accept_proposals(db: Database, actor: Actor, year: int, unit_code: str | None, raw: Mapping[str, Any], *,
                     today: date | None = None, flags_by_cell: Mapping[int, int] | None = None) -> int:
    """Decide every undecided cell under a unit at its proposed level under one decision; return how many.

    Cells with no proposal (too little record) are left for the committee to decide one by one."""
    actor = require_admin(db, actor)
    today = today or date.today()
    decision = _check_decision({"decided_level": LEVELS[0], **raw}, year, today)
    count = 0
    with store.transaction(db):
        _lock_year(db, year)
        for p in propose(db, year, unit_code, today=today, flags_by_cell=flags_by_cell):
            existing = _existing(db, p["cell_id"], year)
            if p["proposed_level"] is None or (existing is not None and existing["decided_level"] is not None):
                continue
            _decide_one(db, actor, year, p, {**decision, "decided_level": p["proposed_level"]}, existing)
            count += 1
    if not count:
        raise ValidationError([FieldError("decision_no", "class_nothing_to_accept")])
    return count
