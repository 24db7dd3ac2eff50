"""Organisation settings (the name, thresholds) and the generated cookie key."""

import secrets
from collections.abc import Iterable

from sqlite_utils import Database

from lib import audit
from lib import db as dbm
from lib.config import DEFAULT_SETTINGS
from lib.domain import Actor, FieldError, Thresholds, ValidationError
from lib.i18n import t
from lib.users import require_admin

COOKIE_KEY = "cookie_key"


def get_settings(db: Database) -> dict[str, str]:
    """The defaults overlaid with what is stored (the cookie key left out)."""
    values = dict(DEFAULT_SETTINGS)
    for key, value in db.execute("select key, value from settings where key != ?", [COOKIE_KEY]):
        values[key] = value
    return values


def thresholds(db: Database) -> Thresholds:
    """The rating and warning thresholds in force."""
    return Thresholds.from_settings(get_settings(db))


def save_settings(db: Database, actor: Actor, values: dict[str, str]) -> None:
    """Store settings (admin only), auditing what changed."""
    require_admin(db, actor)
    # PostgreSQL: held until the caller's commit, so the audit entry's before is what this write replaced and the
    # order of the thresholds is checked against the values it lands on (SQLite's write lock does both).
    with dbm.immediate(db):
        dbm.lock_name(db, "settings")
        before = get_settings(db)
        # A form sends every field: only those it changes count as blanked on purpose.
        changed = {k for k, v in values.items() if str(v) != str(before.get(k))}
        errors = check_settings({**before, **values}, changed=changed)
        if errors:
            raise ValidationError(errors)
        for key, value in values.items():
            if key == COOKIE_KEY:
                continue
            db["settings"].upsert({"key": key, "value": str(value)}, pk="key")
        audit.record(db, actor, "update", "settings", None, before, get_settings(db))


def cookie_key(db: Database) -> str:
    """The cookie signing key, generated on first use and kept in the database, never in git."""
    row = db.execute("select value from settings where key = ?", [COOKIE_KEY]).fetchone()
    if row:
        return row[0]
    key = secrets.token_urlsafe(32)
    db.execute("insert or ignore into settings(key, value) values (?, ?)", [COOKIE_KEY, key])
    return db.execute("select value from settings where key = ?", [COOKIE_KEY]).fetchone()[0]


class SettingError(FieldError):
    """A refused setting, worded in the [page.settings] strings."""

    prefix = "page.settings.err"

    @property
    def field_label(self) -> str:
        return t(f"page.settings.{self.field}")


# Whole-number settings and their allowed ranges (inclusive).
_WHOLE = {
    "threshold_tot": (0, 100),
    "threshold_kha": (0, 100),
    "threshold_trung_binh": (0, 100),
    "min_duration_minutes": (1, 1440),
    "report_days": (0, 365),
    "grace_days": (0, 31),
    "refresh_seconds": (5, 3600),
}


def check_settings(values: dict[str, str], changed: Iterable[str] = ()) -> list[SettingError]:
    """Refusals for settings that are out of range or out of order, or blanked by this change (the name)."""
    errors: list[SettingError] = []
    # The name starts blank on a fresh install (setup fills it from the home node's committee): only blanking it
    # on purpose is refused, so the thresholds can be saved before anyone has named the organisation.
    for key in ("org_name",):
        if key in changed and not str(values.get(key) or "").strip():
            errors.append(SettingError(key, "required"))
    numbers: dict[str, int] = {}
    for key, (low, high) in _WHOLE.items():
        try:
            numbers[key] = int(str(values.get(key)).strip())
        except ValueError:
            errors.append(SettingError(key, "not_whole", value=values.get(key)))
            continue
        if not low <= numbers[key] <= high:
            errors.append(SettingError(key, "range", low=low, high=high))
    try:
        attendance = float(str(values.get("attendance_threshold")).strip())
        if not 0 < attendance <= 1:
            errors.append(SettingError("attendance_threshold", "fraction"))
    except ValueError:
        errors.append(SettingError("attendance_threshold", "fraction"))
    tiers = [numbers.get(k) for k in ("threshold_tot", "threshold_kha", "threshold_trung_binh")]
    if None not in tiers and not tiers[0] > tiers[1] > tiers[2]:
        errors.append(SettingError("threshold_kha", "order", tot=tiers[0], kha=tiers[1], trung_binh=tiers[2]))
    return errors
