"""Organisation settings (name, report header, thresholds) and the generated cookie key."""

import secrets

from sqlite_utils import Database

from lib import audit
from lib.config import DEFAULT_SETTINGS
from lib.domain import Actor, Thresholds
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
    before = get_settings(db)
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
