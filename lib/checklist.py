"""The 12-HD / 42-HD checklist of a meeting and the rating proposed from it.

A meeting may carry a checklist (table meeting_checklists): the cell committee met to prepare, the content was
prepared in advance, how many members spoke, criticism and self-criticism were held, a resolution or conclusion
was issued, the minutes are complete, the previous resolution was followed up, and which higher-level documents
were disseminated. From it and the meeting's own record a rating is proposed by the criteria version in force on
the meeting's day (VERSIONS, data: the document, its first day, and its content per cell type). The proposal and
the version are stored beside the clerk's final rating (meetings.rating stays the clerk's; they may differ).

The criteria (each one failed is a reason, named in the proposal):
  1. attendance: present / (members − exempt) above the threshold in force on the day (rule_thresholds,
     hd12_good_attendance_pct: 85, "trên 85%" — Hướng dẫn 12-HD/BTCTW, tiêu chí khung, tỷ lệ đảng viên dự);
  2. no member absent without reason (12-HD, same criterion);
  3. at least `min_minutes` long (90: the meeting form's short-meeting advice and the settings' default);
  4. the cell committee (chi ủy; the secretary where there is none) met to prepare (12-HD, công tác chuẩn bị);
  5. the content was prepared in advance, per the higher level's guidance (12-HD, công tác chuẩn bị; 42-HD sets
     the content per cell type, shown on the form);
  6. speakers: at least `speakers_share` of those present spoke (the guidelines ask for many to speak without
     a number; 30 % is this app's choice, as data);
  7. criticism and self-criticism held (12-HD, thực hiện nguyên tắc tổ chức, sinh hoạt đảng);
  8. a resolution or conclusion issued, 9. the minutes complete (12-HD, tổ chức sinh hoạt);
  10. the previous resolution followed up (12-HD, kết quả lãnh đạo thực hiện nghị quyết, kết luận);
  11. the three properties held: leadership, education, combativeness (tính lãnh đạo, tính giáo dục, tính
      chiến đấu; kept by 42-HD/BTCTW);
  12. under 42-HD only: which higher-level documents were disseminated is written down (42-HD asks that the
      meeting follow the higher level's directives, rules and guidance).

The rating: Tốt when no criterion failed; Khá when 1 or 2 failed; Trung bình when 3 or 4 failed; Kém when more
failed, or when fewer than half of the members required attended (a meeting most members missed decides little).

Where the meeting has attendance marks (saved before its checklist), a 13th criterion of 12-HD is judged too: no
member absent with reason more than `hd12_excused_streak` (3, rule_thresholds) meetings in a row within the year,
counting this one (meetings where the member was exempt are skipped). The live proposal on the form of a new meeting
cannot see marks not yet saved; the stored proposal is computed when the meeting is saved.
12-HD states what a meeting needs to reach quality but no scale below it: the steps Khá / Trung bình / Kém are
this app's, kept as data in each version (kha_max_failed, tb_max_failed, kem_below_pct) so a province may change
them.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit, store
from lib.domain import Actor, CellType, FieldError, Rating, ValidationError, coerce, is_blank, with_rules
from lib.i18n import t

# The checklist's items answered yes/no, in the order of the form.
ITEMS = ("committee_prepared", "content_prepared", "criticism_held", "resolution_issued", "minutes_complete",
         "followed_up")
FIELDS: dict[str, Any] = {**{name: "bool" for name in ITEMS}, "speakers": "int", "documents": "str"}
# The meetings import's optional checklist columns (canonical names; the vi/en labels are field.<name>).
COLUMNS = ("committee_prepared", "content_prepared", "speakers", "criticism_held", "resolution_issued",
           "minutes_complete", "followed_up", "documents")
MAX_DOCUMENTS = 2000  # characters: a list of document numbers, not the documents themselves


@dataclass(frozen=True)
class CriteriaVersion:
    """One guidance document's criteria for rating a meeting, in force from valid_from."""

    code: str  # "12-HD/BTCTW"
    valid_from: str  # ISO day the document took effect
    document: str  # the document, as cited
    min_minutes: int = 90
    speakers_share: float = 0.3
    properties_required: bool = True
    documents_required: bool = False
    kha_max_failed: int = 2
    tb_max_failed: int = 4
    kem_below_pct: int = 50
    # Content guidance per cell type (CellType value → locale key); empty: one guidance for every cell.
    content: Mapping[str, str] = field(default_factory=dict)


VERSIONS: tuple[CriteriaVersion, ...] = (
    CriteriaVersion(
        code="12-HD/BTCTW", valid_from="2018-05-18",
        document="Hướng dẫn số 12-HD/BTCTW ngày 18/5/2018 của Ban Tổ chức Trung ương về một số vấn đề về nâng cao "
                 "chất lượng sinh hoạt chi bộ",
    ),
    # 42-HD/BTCTW, 28/10/2025 (after Chỉ thị 50-CT/TW of 23/7/2025 on renewing cell meetings), as reported by
    # Người Lao Động, 1/12/2025 (nld.com.vn "Tiếp tục nâng cao chất lượng sinh hoạt chi bộ"). It keeps the three
    # properties and asks for content that fits the cell: the content per cell type below.
    CriteriaVersion(
        code="42-HD/BTCTW", valid_from="2025-10-28",
        document="Hướng dẫn số 42-HD/BTCTW ngày 28/10/2025 của Ban Tổ chức Trung ương về một số vấn đề về tiếp tục "
                 "đổi mới và nâng cao chất lượng sinh hoạt chi bộ",
        documents_required=True,
        content={ct.value: f"checklist.content.{ct.value}" for ct in CellType},
    ),
)


def version_on(day: date | str | None) -> CriteriaVersion | None:
    """The criteria version in force on a day (the latest valid_from on or before it), None before the first."""
    if day is None:
        return None
    iso = day.isoformat() if isinstance(day, date) else str(day)[:10]
    found = [v for v in VERSIONS if v.valid_from <= iso]
    return max(found, key=lambda v: v.valid_from) if found else None


def version_by_code(code: str | None) -> CriteriaVersion | None:
    """A criteria version by its code ("42-HD/BTCTW"), None if unknown."""
    return next((v for v in VERSIONS if v.code == code), None)


def content_for(version: CriteriaVersion | None, cell_type: str | None) -> str | None:
    """The version's content guidance for a cell type, translated; None when the version sets none."""
    if version is None or not version.content:
        return None
    key = version.content.get(cell_type or "") or version.content.get(CellType.KHAC.value)
    return t(key) if key else None


THRESHOLD_SQL = """
select value, document from rule_thresholds where rule = ? and valid_from <= ? order by valid_from desc limit 1
"""


def threshold_on(db: Database, rule: str, day: date | str) -> int | None:
    """The value of a rule threshold in force on a day (rule_thresholds), None if none was in force."""
    iso = day.isoformat() if isinstance(day, date) else str(day)[:10]
    row = db.execute(THRESHOLD_SQL, [rule, iso]).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class Reason:
    """One criterion the meeting failed: a locale key under checklist.reason and its values."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return t(f"checklist.reason.{self.key}", **self.params)


@dataclass(frozen=True)
class Proposal:
    """The proposed rating (None when no version or threshold applies), the version used and the failed criteria."""

    rating: Rating | None
    version: str | None
    reasons: tuple[Reason, ...] = ()


def _flag(value: Any) -> bool:
    return bool(value) and value not in ("0", "false")


def propose_rating(meeting: Mapping[str, Any], checklist: Mapping[str, Any], version: CriteriaVersion | None, *,
                   good_pct: int | None, streaks: int = 0, streak_max: int | None = None) -> Proposal:
    """The rating a meeting earns under a criteria version, with each failed criterion as a reason (pure).

    streaks: how many members are absent with reason more than streak_max meetings in a row up to this one.
    """
    if version is None or good_pct is None:
        return Proposal(None, version.code if version else None, (Reason("no_version"),))
    required = (meeting.get("members_total") or 0) - (meeting.get("members_exempt") or 0)
    present = meeting.get("present") or 0
    rate = present / required * 100 if required > 0 else 0.0
    reasons: list[Reason] = []
    if not rate > good_pct:
        reasons.append(Reason("attendance", {"rate": f"{rate:.0f}%", "pct": f"{good_pct}%"}))
    if meeting.get("absent_unexcused"):
        reasons.append(Reason("unexcused", {"count": meeting["absent_unexcused"]}))
    if streaks:
        reasons.append(Reason("excused_streak", {"count": streaks, "times": streak_max}))
    minutes = meeting.get("duration_minutes")
    if minutes is None or minutes < version.min_minutes:
        reasons.append(Reason("duration", {"minutes": version.min_minutes}))
    for name in ITEMS[:2]:
        if not _flag(checklist.get(name)):
            reasons.append(Reason(name))
    wanted = math.ceil(version.speakers_share * present)
    if (checklist.get("speakers") or 0) < max(1, wanted):
        reasons.append(Reason("speakers", {"wanted": max(1, wanted), "share": f"{version.speakers_share:.0%}"}))
    for name in ITEMS[2:]:
        if not _flag(checklist.get(name)):
            reasons.append(Reason(name))
    if version.properties_required and not all(
            _flag(meeting.get(p)) for p in ("leadership", "education", "combativeness")):
        reasons.append(Reason("properties"))
    if version.documents_required and is_blank(checklist.get("documents")):
        reasons.append(Reason("documents"))
    failed = len(reasons)
    if rate < version.kem_below_pct or failed > version.tb_max_failed:
        rating = Rating.KEM
    elif failed > version.kha_max_failed:
        rating = Rating.TRUNG_BINH
    elif failed:
        rating = Rating.KHA
    else:
        rating = Rating.TOT
    return Proposal(rating, version.code, tuple(reasons))


def propose(db: Database, meeting: Mapping[str, Any], checklist: Mapping[str, Any]) -> Proposal:
    """The proposal for a meeting (typed or stored) by the version and the threshold in force on its day."""
    day = meeting.get("held_on")
    if day is None:
        return Proposal(None, None, (Reason("no_version"),))
    good = threshold_on(db, "hd12_good_attendance_pct", day)
    streak_max = threshold_on(db, "hd12_excused_streak", day)
    streaks = excused_streaks(db, meeting["id"], streak_max) if meeting.get("id") and streak_max else 0
    return propose_rating(meeting, checklist, version_on(day), good_pct=good, streaks=streaks, streak_max=streak_max)


# For each member marked excused at the meeting, their marks at meetings of the same year up to it, newest first
# (exempt ones skipped); the streak is how many excused marks come before the first other mark.
# The same run as the 12-HD flag of lib.metrics (HD12_SQL, docs/RULES.md): the member's marks at this cell's
# meetings up to this one, the latest first; an exempt mark is skipped, a present or unexcused one ends the run; a
# transfer starts it again in the new cell (12-HD judges a cell's meetings), and a new year does not.
STREAK_SQL = """
with this as (select held_on, cell_id from meetings where id = :id),
marked as (
    select am.member_id, am.status,
           row_number() over (partition by am.member_id order by m.held_on desc, m.id desc) as rn
    from attendance_marks am join meetings m on m.id = am.meeting_id cross join this
    where am.member_id in (select member_id from attendance_marks where meeting_id = :id and status = 'excused')
      and m.deleted_at is null and am.status != 'exempt'
      and m.cell_id = this.cell_id and (m.held_on < this.held_on or (m.held_on = this.held_on and m.id <= :id))
)
select count(*) from (
    select member_id, coalesce(min(case when status != 'excused' then rn end) - 1, count(*)) as streak
    from marked group by member_id
) where streak > :max
"""


def excused_streaks(db: Database, meeting_id: int, streak_max: int) -> int:
    """How many members marked excused at a meeting have been excused more than streak_max of the cell's meetings
    in a row, this one included (from the attendance marks)."""
    return db.execute(STREAK_SQL, {"id": meeting_id, "max": streak_max}).fetchone()[0]


def check(raw: Mapping[str, Any], meeting: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """Parse and validate a checklist against its meeting; return the typed checklist and the errors by field."""
    clean, errors = coerce(raw, FIELDS)
    for name in ITEMS:
        clean[name] = bool(clean.get(name))
    rules = []
    speakers, present = clean.get("speakers"), meeting.get("present")
    if speakers is not None and speakers < 0:
        rules.append(FieldError("speakers", "negative"))
    elif speakers is not None and present is not None and speakers > present:
        rules.append(FieldError("speakers", "speakers_over_present", present=present))
    if clean.get("documents") and len(clean["documents"]) > MAX_DOCUMENTS:
        rules.append(FieldError("documents", "documents_too_long", max=MAX_DOCUMENTS))
    return clean, with_rules(errors, rules)


MEETING_SQL = """
select m.id, m.held_on, m.members_total, m.members_exempt, m.present, m.absent_excused, m.absent_unexcused,
       m.duration_minutes, m.leadership, m.education, m.combativeness, m.rating, c.cell_type, c.unit_id
from meetings m join cells c on c.id = m.cell_id where m.id = ?
"""


def _meeting(db: Database, meeting_id: int) -> dict:
    cur = db.execute(MEETING_SQL, [meeting_id])
    row = cur.fetchone()
    if row is None:
        raise ValidationError([FieldError("id", "not_found")])
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def get(db: Database, meeting_id: int) -> dict | None:
    """A meeting's stored checklist with its proposal and version, None when it has none (no scope check)."""
    rows = list(db.query("select * from meeting_checklists where meeting_id = ?", [meeting_id]))
    return dict(rows[0]) if rows else None


def read(db: Database, actor: Actor, meeting_id: int) -> dict | None:
    """A meeting's checklist for a user who may read the meeting (a clerk: their units only)."""
    store.require_read(db, actor, _meeting(db, meeting_id)["unit_id"])
    return get(db, meeting_id)


def row_for(clean: Mapping[str, Any], proposal: Proposal) -> dict:
    """The meeting_checklists row (without meeting_id) of a typed checklist and its proposal."""
    return {**{name: int(bool(clean.get(name))) for name in ITEMS}, "speakers": clean.get("speakers"),
            "documents": clean.get("documents"), "criteria_version": proposal.version,
            "proposed_rating": proposal.rating.value if proposal.rating else None}


def save(db: Database, actor: Actor, meeting_id: int, raw: Mapping[str, Any]) -> None:
    """Write the checklist a meeting's save carries (raw["checklist"]), audited, inside the caller's transaction.

    No "checklist" key: the stored one is kept (its proposal recomputed, as the meeting may have changed);
    None: the stored one is removed; a mapping: validated by field (ValidationError) and written with its proposal.
    """
    before = get(db, meeting_id)
    wanted = raw.get("checklist", before)
    if wanted is None:
        if before is not None:
            db.execute("delete from meeting_checklists where meeting_id = ?", [meeting_id])
            audit.record(db, actor, "delete", "meeting_checklists", meeting_id, before, None)
        return
    meeting = _meeting(db, meeting_id)
    clean, errors = check(wanted, meeting)
    if errors:
        raise ValidationError(errors)
    row = {"meeting_id": meeting_id, **row_for(clean, propose(db, meeting, clean))}
    if row == before:
        return
    db["meeting_checklists"].upsert(row, pk="meeting_id")
    audit.record(db, actor, "create" if before is None else "update", "meeting_checklists", meeting_id, before,
                 get(db, meeting_id))
