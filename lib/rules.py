"""Rule thresholds as versioned data: the value of a rule in force on a day, and the document that sets it.

A new version is added with the day it takes effect; versions already written are never edited, so a figure of
an earlier year keeps reading the threshold it was judged by (rule_thresholds, migration m009_members).
"""

from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit
from lib.domain import Actor, FieldError, ParseError, ValidationError, is_blank, parse_date
from lib.users import require_admin

ART8_MONTHS = "art8_unexcused_months"
HD12_STREAK = "hd12_excused_streak"
HD12_GOOD_PCT = "hd12_good_attendance_pct"
RULES = (ART8_MONTHS, HD12_STREAK, HD12_GOOD_PCT)
# The largest value a version may set: months in a year, meetings in a row, a percentage.
LIMITS = {ART8_MONTHS: 12, HD12_STREAK: 60, HD12_GOOD_PCT: 100}
DOCUMENT_MAX = 500

IN_FORCE_SQL = """
select id, rule, value, valid_from, document from rule_thresholds
where rule = :rule and valid_from <= :on
order by valid_from desc limit 1
"""


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def in_force(db: Database, rule: str, on: date | str) -> dict[str, Any] | None:
    """The version of a rule in force on a day (value, valid_from, document), or None before its first."""
    row = db.execute(IN_FORCE_SQL, {"rule": rule, "on": _iso(on)}).fetchone()
    return dict(zip(("id", "rule", "value", "valid_from", "document"), row, strict=True)) if row else None


def value_on(db: Database, rule: str, on: date | str) -> int | None:
    """The threshold of a rule in force on a day, or None before its first version."""
    version = in_force(db, rule, on)
    return None if version is None else int(version["value"])


def versions(db: Database, rule: str | None = None) -> list[dict[str, Any]]:
    """Every version of the rules (or of one), by rule then by the day it takes effect."""
    return [dict(r) for r in db.query(
        "select id, rule, value, valid_from, document from rule_thresholds "
        "where :rule is null or rule = :rule order by rule, valid_from", {"rule": rule})]


def _check(db: Database, values: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    rule = str(values.get("rule") or "").strip()
    if rule not in RULES:
        errors.append(FieldError("rules.rule", "bad_choice", value=rule, choices=", ".join(RULES)))
    value = values.get("value")
    number = None
    if is_blank(value):
        errors.append(FieldError("rules.value", "required"))
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            errors.append(FieldError("rules.value", "not_whole", value=value))
        else:
            if number < 1 or (rule in LIMITS and number > LIMITS[rule]):
                errors.append(FieldError("rules.value", "rules.value_range", high=LIMITS.get(rule, 100)))
    valid_from = None
    try:
        valid_from = parse_date(values.get("valid_from"))
        if valid_from is None:
            errors.append(FieldError("rules.valid_from", "required"))
    except ParseError as exc:
        errors.append(FieldError("rules.valid_from", exc.key, **exc.params))
    document = str(values.get("document") or "").strip()
    if not document:
        errors.append(FieldError("rules.document", "required"))
    elif len(document) > DOCUMENT_MAX:
        errors.append(FieldError("rules.document", "rules.document_long", n=DOCUMENT_MAX))
    if valid_from is not None and rule in RULES:
        latest = db.execute("select max(valid_from) from rule_thresholds where rule = ?", [rule]).fetchone()[0]
        # A version dated on or before the latest would change what earlier figures were judged by.
        if latest is not None and valid_from.isoformat() <= latest:
            errors.append(FieldError("rules.valid_from", "rules.not_after_latest", latest=latest))
    row = {"rule": rule, "value": number, "valid_from": valid_from.isoformat() if valid_from else None,
           "document": document}
    return row, errors


def add_version(db: Database, actor: Actor, values: dict[str, Any]) -> int:
    """Add a version of a rule (administrator only; value, valid_from and document all required), audited."""
    require_admin(db, actor)
    row, errors = _check(db, values)
    if errors:
        raise ValidationError(errors)
    row_id = db["rule_thresholds"].insert(row).last_pk
    audit.record(db, actor, "create", "rule_thresholds", row_id, None, {"id": row_id, **row})
    return row_id


# A flag's link names at most this many meetings (a 12-HD streak or a year's unexcused months are a handful).
LINKED_MAX = 100


def linked_meetings(db: Database, actor: Actor, ids_text: Any) -> list[dict[str, Any]]:
    """The meetings a flag's link names (?ids=1,2,3, at most LINKED_MAX) that the user may read, each read through
    lib.meetings.read (scope-checked); a number that is not a meeting, or not the user's, is left out."""
    from lib import meetings
    from lib.domain import PermissionDenied

    found = []
    # each number once (a pasted link may repeat one), at most LINKED_MAX of them
    numbers = dict.fromkeys(t.strip() for t in str(ids_text or "").split(",") if t.strip())
    for text in list(numbers)[:LINKED_MAX]:
        try:
            found.append(meetings.read(db, actor, text))
        except (ValidationError, PermissionDenied):
            continue
    return found
