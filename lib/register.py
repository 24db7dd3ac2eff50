"""Report drafts, the register of issued reports and their frozen files (issue 15, branch register).

The Organisation Board (administrators) opens a draft of a period's report for a node, writes the committee's
assessment in six sections, in turn and with optimistic versions, and issues it: the body's next number for the
year, the date, the DOCX, PDF and XLSX and the figures of `metrics --json` are stored in one transaction and never
changed afterwards (lib refuses; SQLite triggers abort any UPDATE or DELETE). Viewers list and download what was
issued; clerks have no part in it. A later draft of the same period and node is the next version and says what
changed against the last issued one.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit, metrics, org, pdf, reports, store
from lib import db as dbm
from lib.domain import SYSTEM, Actor, FieldError, PermissionDenied, Role, ValidationError
from lib.i18n import has, t
from lib.users import fresh_actor

# The committee's own assessment, in the order a party report writes it (36-HD/VPTW, issue 15).
SECTIONS = ("strengths", "limitations", "causes_objective", "causes_subjective", "tasks", "proposals")
# Without these two a report says nothing of its own: issuing is refused until they are written.
REQUIRED_SECTIONS = ("strengths", "limitations")
SECTION_MAX = 20_000  # characters per section: several pages of text, far below what would slow the document
KINDS = {"docx": reports.DOCX_MIME, "pdf": pdf.PDF_MIME, "xlsx": reports.XLSX_MIME, "json": "application/json"}
COLUMNS = {"docx": "docx", "pdf": "pdf", "xlsx": "xlsx", "json": "figures_json"}
RATE_FIELDS = frozenset({"rate", "coverage", "on_schedule_rate", "compliance"})


def require_board(db: Database, actor: Actor) -> Actor:
    """Refuse anyone but the Organisation Board (an administrator): drafts are theirs to open, edit and issue."""
    actor = fresh_actor(db, actor)
    if actor is not SYSTEM and actor.role != Role.ADMIN:
        raise PermissionDenied("register.board_only")
    return actor


def require_reader(db: Database, actor: Actor) -> Actor:
    """Refuse a clerk: the register is read by the board and by viewers."""
    actor = fresh_actor(db, actor)
    if actor is not SYSTEM and actor.role not in (Role.ADMIN, Role.VIEWER):
        raise PermissionDenied("register.readers_only")
    return actor


def sha256(data: bytes | str | None) -> str | None:
    """The hex sha256 of bytes (text as UTF-8), or None for no file."""
    if data is None:
        return None
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def figures_json(db: Database, period_label: str, unit_code: str | None, today: date | None = None) -> str:
    """The text `metrics --json` prints for a period and node (lib.cli cmd_metrics: metrics.compute, indent 2)."""
    return json.dumps(metrics.compute(db, period_label, unit_code, today), ensure_ascii=False, indent=2)


# ---- drafts ---------------------------------------------------------------------------------------------------

SAME_NODE = "period = :period and ifnull(unit_code, '') = ifnull(:unit_code, '')"


def _period(label: Any) -> metrics.Period:
    try:
        return metrics.parse_period(str(label or ""))
    except ValueError:
        raise ValidationError([FieldError("register.period", "register.bad_period", value=label)]) from None


def _draft(db: Database, draft_id: Any) -> dict:
    row_id = store.parse_id(draft_id)
    if row_id is None:
        raise ValidationError([FieldError("register.draft", "register.no_draft", value=draft_id)])
    row = db.execute("select id from report_drafts where id = ?", [row_id]).fetchone()
    if row is None:
        raise ValidationError([FieldError("register.draft", "register.no_draft", value=draft_id)])
    return store.get(db, "report_drafts", row_id)


def _lock_draft(db: Database, draft_id: Any) -> None:
    row_id = store.parse_id(draft_id)
    if row_id is not None:
        dbm.lock(db, "report_drafts", row_id)


def open_draft(db: Database, actor: Actor, period_label: str, unit_code: str | None = None) -> int:
    """The open draft of a period's report for a node (None: the home node), opened if there is none: the next
    version, starting from the last issued version's text. Board only, audited."""
    actor = require_board(db, actor)
    period = _period(period_label)
    unit_code = unit_code or None
    with store.transaction(db):
        if unit_code and db.execute("select 1 from units where code = ?", [unit_code]).fetchone() is None:
            raise ValidationError([FieldError("register.unit", "register.unknown_unit", code=unit_code)])
        key = {"period": period.label, "unit_code": unit_code}
        # PostgreSQL: one open draft per period and node is looked for, then opened; a second board member opening
        # it at the same moment waits here and finds the first's draft.
        dbm.lock_name(db, "report_drafts", period.label, unit_code or "")
        found = db.execute(f"select id from report_drafts where {SAME_NODE} and status = 'draft'", key).fetchone()
        if found:
            return found[0]
        body = org.issuer(db, period.end)
        if body is None:
            raise ValidationError([FieldError("register.body", "register.no_body",
                                              day=period.end.strftime("%d/%m/%Y"))])
        cursor = db.execute(f"select * from report_drafts where {SAME_NODE} order by version desc limit 1", key)
        last = cursor.fetchone()
        last = dict(zip([d[0] for d in cursor.description], last, strict=True)) if last else None
        now = audit.now_iso()
        return store.insert(db, actor, "report_drafts", {
            **key, "body_id": body["id"], "version": last["version"] + 1 if last else 1, "status": "draft",
            **({s: last[s] or "" for s in SECTIONS} if last else first_text(db, period.label, unit_code)),
            "created_by": actor.username, "created_at": now, "updated_by": actor.username, "updated_at": now})


def get_draft(db: Database, actor: Actor, draft_id: Any) -> dict:
    """A draft with its form version (form_version) for editing; board only."""
    require_board(db, actor)
    row = _draft(db, draft_id)
    return {**row, "form_version": store.row_version(db, "report_drafts", row)}


def current_draft(db: Database, actor: Actor, period_label: str, unit_code: str | None = None) -> dict | None:
    """The open draft of a period's report for a node, with its form version and issuing committee, or None."""
    require_board(db, actor)
    period = _period(period_label)
    found = db.execute(f"select id from report_drafts where {SAME_NODE} and status = 'draft'",
                       {"period": period.label, "unit_code": unit_code or None}).fetchone()
    if found is None:
        return None
    row = get_draft(db, actor, found[0])
    body = db.execute("select committee, place from issuing_bodies where id = ?", [row["body_id"]]).fetchone()
    return {**row, "committee": committee_name(*body) if body else ""}


def committee_name(committee: str, place: str | None) -> str:
    """The issuing committee as a sentence names it: 'Tỉnh ủy Vĩnh Long', also when typed in capitals for the header
    ('TỈNH ỦY VĨNH LONG'; the same reading as lib.reports.letterhead)."""
    committee, place = (committee or "").strip(), (place or "").strip()
    if not committee.isupper():
        return committee
    if place and committee.lower().endswith(place.lower()) and len(committee) > len(place):
        return f"{committee[:-len(place)].strip().capitalize()} {place}"
    return committee.capitalize()


def list_drafts(db: Database, actor: Actor) -> list[dict]:
    """The drafts not yet issued, newest first; board only."""
    require_board(db, actor)
    return [dict(r) for r in db.query("select id, period, unit_code, version, updated_by, updated_at "
                                      "from report_drafts where status = 'draft' order by updated_at desc, id desc")]


def _not_issued(row: Mapping[str, Any]) -> None:
    if row["status"] == "issued":
        raise ValidationError([FieldError("register.status", "register.issued_read_only")])


def save_sections(db: Database, actor: Actor, draft_id: Any, sections: Mapping[str, Any],
                  version: str | None) -> dict:
    """Save the narrative sections of a draft, refused (naming who saved last) when the form's version is stale,
    and for an issued draft; board only, audited. Returns the row as saved, with its new form_version."""
    actor = require_board(db, actor)
    errors, changes = [], {}
    for name, text in sections.items():
        if name not in SECTIONS:
            errors.append(FieldError("register.draft", "register.unknown_section", name=name))
        elif text is not None and not isinstance(text, str):
            errors.append(FieldError(f"register.section.{name}", "register.not_text"))
        elif text is not None and len(text) > SECTION_MAX:
            errors.append(FieldError(f"register.section.{name}", "register.too_long", max=f"{SECTION_MAX:,}"
                                     .replace(",", "."), n=f"{len(text):,}".replace(",", ".")))
        else:
            # line ends as typed in any browser, trailing spaces dropped: the same text saves as the same
            changes[name] = "\n".join(line.rstrip() for line in (text or "").replace("\r\n", "\n").split("\n")).strip()
    if errors:
        raise ValidationError(errors)
    with store.transaction(db):
        _lock_draft(db, draft_id)
        before = _draft(db, draft_id)
        _not_issued(before)
        store.require_version(db, "report_drafts", before["id"], version, before)
        if all(before[k] == v for k, v in changes.items()):
            after = before
        else:
            after = store.update(db, actor, "report_drafts", before["id"],
                                 {**changes, "updated_by": actor.username, "updated_at": audit.now_iso()})
    return {**after, "form_version": store.row_version(db, "report_drafts", after)}


def narrative(row: Mapping[str, Any]) -> dict[str, str]:
    """A draft's six sections in the document's order."""
    return {s: row.get(s) or "" for s in SECTIONS}


# The draft's columns and the keys of the document's sections (lib.reports.compiled_docx, 36-HD order).
DOC_KEYS = {"strengths": "uu_diem", "limitations": "han_che", "causes_objective": "nguyen_nhan_khach_quan",
            "causes_subjective": "nguyen_nhan_chu_quan", "tasks": "nhiem_vu", "proposals": "kien_nghi"}


def document_narrative(row: Mapping[str, Any]) -> dict[str, str]:
    """A draft's sections as the document's narrative (keyed as compiled_docx reads them)."""
    return {DOC_KEYS[s]: text for s, text in narrative(row).items()}


def first_text(db: Database, period_label: str, unit_code: str | None) -> dict[str, str]:
    """A first version's text: the shortfalls and tasks the figures suggest, for the board to rewrite."""
    suggested = reports.narrative_defaults(reports.gather(db, period_label, unit_code))
    return {s: suggested.get(key, "") for s, key in DOC_KEYS.items()}


def draft_docx(db: Database, actor: Actor, draft_id: Any, today: date | None = None) -> bytes:
    """The draft as a document would read now (no number, no date): a preview for the board."""
    require_board(db, actor)
    row = _draft(db, draft_id)
    return reports.compiled_docx(db, row["period"], row["unit_code"], today, narrative=document_narrative(row))


# ---- issue: number, date, files, frozen -----------------------------------------------------------------------


ISSUE_ATTEMPTS = 3  # another report taking the number while the files are made: made again with the next one


def _next_number(db: Database, body_id: int, year: int) -> int:
    return db.execute("select ifnull(max(number), 0) + 1 from report_register where body_id = ? and year = ?",
                      [body_id, year]).fetchone()[0]


def issue(db: Database, actor: Actor, draft_id: Any, version: str | None, today: date | None = None,
          with_pdf: bool = True) -> dict:
    """Issue a draft: the body's next number for the year, the date, the DOCX (with that number, date and text),
    its PDF, the XLSX and the figures of `metrics --json`, each stored with its sha256; the draft becomes
    read-only. Without LibreOffice the report is issued without a PDF and says why (pdf_note). Board only,
    audited. Returns the register row.

    On a connection outside a transaction (the page, the command line) the files are made from one read view
    with no write lock held (a year's report at 1,000,000 meetings takes seconds, its PDF longer, and clerks
    saving meanwhile must not wait for it); a short write transaction then checks that the draft and the number
    are still as read and stores everything. Inside a caller's transaction it all happens in that one."""
    actor = require_board(db, actor)
    issued_on = today or date.today()
    for _ in range(ISSUE_ATTEMPTS):
        with store.snapshot(db):
            row = _draft(db, draft_id)
            _not_issued(row)
            store.require_version(db, "report_drafts", row["id"], version, row)
            missing = [FieldError(f"register.section.{s}", "register.section_required") for s in REQUIRED_SECTIONS
                       if not (row[s] or "").strip()]
            if missing:
                raise ValidationError(missing)
            body = store.get(db, "issuing_bodies", row["body_id"])
            head = reports.letterhead({**body, "recipients": None})
            number = _next_number(db, row["body_id"], issued_on.year)
            # Every file from this one view of the data: the figures printed are the figures stored.
            figures = figures_json(db, row["period"], row["unit_code"], issued_on)
            docx = reports.compiled_docx(db, row["period"], row["unit_code"], issued_on,
                                         narrative=document_narrative(row), number=number, issued_on=issued_on)
            xlsx = reports.data_xlsx(db, row["period"], row["unit_code"], issued_on)
        pdf_bytes, pdf_note = None, None
        if with_pdf:
            try:
                pdf_bytes = pdf.docx_to_pdf(docx)
            except pdf.PdfUnavailable as exc:
                pdf_note = exc.reason
        else:
            pdf_note = "skipped"
        with store.transaction(db):
            # PostgreSQL: the draft's row, then the body's (its numbers for the year), held to the commit: a save or
            # a second issue of the draft waits, as does another report of the body taking the next number.
            _lock_draft(db, draft_id)
            dbm.lock(db, "issuing_bodies", row["body_id"])
            # saved over while the files were made: refused as any stale save is, naming who saved
            store.require_version(db, "report_drafts", row["id"], store.row_version(db, "report_drafts", row),
                                 _draft(db, draft_id))
            if _next_number(db, row["body_id"], issued_on.year) != number:
                continue  # another report of the body took this number meanwhile: made again with the next
            return _store_issued(db, actor, row, head, issued_on, number,
                                 {"docx": docx, "pdf": pdf_bytes, "xlsx": xlsx, "figures_json": figures}, pdf_note)
    raise ValidationError([FieldError("register.draft", "register.busy")])


def _store_issued(db: Database, actor: Actor, row: Mapping[str, Any], head: Mapping[str, Any], issued_on: date,
                  number: int, files: Mapping[str, Any], pdf_note: str | None) -> dict:
    docx, pdf_bytes, xlsx, figures = files["docx"], files["pdf"], files["xlsx"], files["figures_json"]
    register_id = store.insert(db, actor, "report_register", {
        "body_id": row["body_id"], "year": issued_on.year, "number": number,
        "symbol": f"{number}-BC/{head['symbol']}", "issued_on": issued_on, "draft_id": row["id"],
        "issued_by": actor.username, "issued_at": audit.now_iso()})
    hashes = {"docx_sha256": sha256(docx), "pdf_sha256": sha256(pdf_bytes), "xlsx_sha256": sha256(xlsx),
              "figures_sha256": sha256(figures)}
    db["report_files"].insert({"register_id": register_id, "docx": docx, "pdf": pdf_bytes, "xlsx": xlsx,
                               "figures_json": figures, "pdf_note": pdf_note, **hashes})
    # the log keeps the hashes and sizes, not megabytes of file
    audit.record(db, actor, "create", "report_files", register_id, None,
                 {**hashes, "pdf_note": pdf_note, "docx_bytes": len(docx), "xlsx_bytes": len(xlsx),
                  "pdf_bytes": len(pdf_bytes) if pdf_bytes else None})
    store.update(db, actor, "report_drafts", row["id"], {"status": "issued", "updated_by": actor.username,
                                                         "updated_at": audit.now_iso()})
    return store.get(db, "report_register", register_id)


REGISTER_SQL = """
select r.id, r.number, r.symbol, r.year, r.issued_on, r.issued_by, r.issued_at, d.id as draft_id, d.period,
       d.unit_code, d.version, f.pdf is not null as has_pdf, f.pdf_note, f.docx_sha256, f.pdf_sha256,
       f.xlsx_sha256, f.figures_sha256
from report_register r join report_drafts d on d.id = r.draft_id join report_files f on f.register_id = r.id
where (:period is null or d.period = :period) and (:id is null or r.id = :id)
order by r.issued_on desc, r.id desc
"""


def register_list(db: Database, actor: Actor, period: str | None = None) -> list[dict]:
    """The issued reports (of one period, if given), newest first; board and viewers."""
    require_reader(db, actor)
    return [dict(r) for r in db.query(REGISTER_SQL, {"period": period, "id": None})]


def file_name(entry: Mapping[str, Any], kind: str) -> str:
    """A download name such as bao-cao-so-3-2026-2025-Q4.docx (so-lieu… for the workbook and figures)."""
    stem = "bao-cao" if kind in ("docx", "pdf") else "so-lieu"
    node = f"-{entry['unit_code']}" if entry.get("unit_code") else ""
    return f"{stem}-so-{entry['number']}-{entry['year']}-{entry['period']}{node}.{kind}"


def issued_file(db: Database, actor: Actor, register_id: Any, kind: str) -> tuple[bytes, str, str]:
    """One stored file of an issued report, exactly as issued: (bytes, file name, MIME type); board and viewers.
    Refused when the stored bytes no longer match their sha256, or the report has no such file."""
    require_reader(db, actor)
    if kind not in KINDS:
        raise ValidationError([FieldError("register.kind", "register.bad_kind", value=kind)])
    row_id = store.parse_id(register_id)
    entry = next((r for r in db.query(REGISTER_SQL, {"period": None, "id": row_id})), None) if row_id else None
    if entry is None:
        raise ValidationError([FieldError("register.entry", "register.no_entry", value=register_id)])
    column, digest = COLUMNS[kind], "figures_sha256" if kind == "json" else f"{kind}_sha256"
    data = db.execute(f"select {column} from report_files where register_id = ?", [row_id]).fetchone()[0]
    if data is None:
        raise ValidationError([FieldError("register.kind", f"register.no_pdf_{entry['pdf_note'] or 'missing'}")])
    if sha256(data) != entry[digest]:
        raise ValidationError([FieldError("register.kind", "register.corrupt", kind=kind.upper())])
    return (data.encode("utf-8") if isinstance(data, str) else data), file_name(entry, kind), KINDS[kind]


# ---- versions: what changed against the last issued one -------------------------------------------------------

NAME_KEYS = ("unit_name", "full_name", "cell_name", "grp")
CODE_KEYS = ("unit_code", "leader_code", "cell_code")


def _walk(value: Any, path: tuple, name: str, out: dict) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _walk(inner, (*path, key), name, out)
    elif isinstance(value, list):
        for row in value:
            if isinstance(row, dict):
                code = next((row[k] for k in CODE_KEYS if row.get(k)), "")
                shown = next((row[k] for k in NAME_KEYS[:3] if row.get(k)), code)
                for key, inner in row.items():
                    if key not in NAME_KEYS and key not in CODE_KEYS:
                        _walk(inner, (*path, code, key), shown, out)
    elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        out[path] = (name, value)


def flat_figures(figures: Mapping[str, Any]) -> dict[tuple, tuple[str, Any]]:
    """Every number of a `metrics --json` result by its place: (part, row code, field) → (row name, value)."""
    out: dict[tuple, tuple[str, Any]] = {}
    for part, value in figures.items():
        if part != "period":
            _walk(value, (part,), "", out)
    return out


def _shown(field: str, value: Any) -> str:
    if value is None:
        return "–"
    return reports.fmt_pct(value) if field in RATE_FIELDS else reports.fmt_num(value, 0 if value == int(value) else 2)


def _field_label(path: tuple) -> str:
    field = path[-1]
    if len(path) >= 2 and path[-2] == "by_category":
        return t(f"enum.WeaknessCategory.{field}")
    if len(path) >= 2 and path[-2] == "by_status":
        return t(f"enum.WeaknessStatus.{field}")
    return t(f"register.fig.{field}") if has(f"register.fig.{field}") else str(field)


def figure_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict]:
    """The figures that differ between two `metrics --json` results: part, row, figure, old → new (as printed)."""
    before, after = flat_figures(old), flat_figures(new)
    rows = []
    for path in list(before) + [p for p in after if p not in before]:
        was, now = before.get(path, ("", None)), after.get(path, ("", None))
        if was[1] != now[1]:
            rows.append({"part": t(f"register.part.{path[0]}"), "row": now[0] or was[0],
                         "figure": _field_label(path), "old": _shown(path[-1], was[1]),
                         "new": _shown(path[-1], now[1]), "path": "/".join(str(p) for p in path)})
    return rows


LAST_ISSUED_SQL = """
select d.*, r.id as register_id, r.symbol, r.issued_on, f.figures_json
from report_drafts d join report_register r on r.draft_id = d.id join report_files f on f.register_id = r.id
where d.period = :period and ifnull(d.unit_code, '') = ifnull(:unit_code, '') and d.status = 'issued'
  and (:below is null or d.version < :below)
order by d.version desc limit 1
"""


def last_issued(db: Database, period: str, unit_code: str | None, before_version: int | None = None) -> dict | None:
    """The last issued version of a period's report for a node (below a version, if given), with its figures."""
    params = {"period": period, "unit_code": unit_code, "below": before_version}
    cursor = db.execute(LAST_ISSUED_SQL, params)
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None


def changes(db: Database, actor: Actor, draft_id: Any, today: date | None = None) -> dict | None:
    """What a draft changes against the last issued version of its period and node: the figures that differ now
    (old → new) and the sections whose text changed; None for a first version. Board only."""
    require_board(db, actor)
    row = _draft(db, draft_id)
    base = last_issued(db, row["period"], row["unit_code"], row["version"])
    if base is None:
        return None
    now = json.loads(figures_json(db, row["period"], row["unit_code"], today))
    return {"base": {k: base[k] for k in ("version", "symbol", "issued_on", "register_id")},
            "figures": figure_changes(json.loads(base["figures_json"]), now),
            "sections": [s for s in SECTIONS if (base[s] or "") != (row[s] or "")]}
