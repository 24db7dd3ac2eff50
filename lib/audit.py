"""The audit log: who did what and when, before and after; append-only."""

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from typing import Any

from sqlite_utils import Database

from lib import i18n
from lib.domain import (
    Actor,
    CellType,
    LeaderGroup,
    MeetingType,
    Rating,
    Role,
    Severity,
    UnitKind,
    WeaknessCategory,
    WeaknessStatus,
    fmt_date,
)
from lib.i18n import t

# The client address of the request being served, set by lib/auth on every Streamlit run (each run has
# its own thread, hence its own context); None on the command line. Kept here so lib/audit needs no Streamlit.
_client: ContextVar[str | None] = ContextVar("audit_client", default=None)
CLIENT_MAX = 64


def set_client(address: str | None) -> None:
    """Record the client address that this thread's audit entries carry (None: unknown or command line)."""
    _client.set(address[:CLIENT_MAX] if address else None)


def client() -> str | None:
    """The client address this thread's audit entries carry."""
    return _client.get()


@contextmanager
def client_as(address: str | None) -> Iterator[None]:
    """Within the block, entries carry this address (None: keep the one set for the thread)."""
    if not address:
        yield
        return
    token = _client.set(address[:CLIENT_MAX])
    try:
        yield
    finally:
        _client.reset(token)


def now_iso() -> str:
    """Local time to the second, as stored in the log and in created_at/updated_at."""
    return datetime.now().isoformat(timespec="seconds")


def _dump(row: Any) -> str | None:
    if row is None:
        return None
    return json.dumps(dict(row), ensure_ascii=False, default=str, sort_keys=True)


def record(
    db: Database,
    actor: Actor | str | None,
    action: str,
    table: str | None = None,
    row_id: Any = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry to the audit log (inside the caller's transaction)."""
    username = actor.username if isinstance(actor, Actor) else actor
    db["audit_log"].insert(
        {
            "at": now_iso(),
            "username": username,
            "action": action,
            "table_name": table,
            "row_id": None if row_id is None else str(row_id),
            "before_json": _dump(before),
            "after_json": _dump(after),
            "client": _client.get(),
        }
    )


SEARCH_SQL = """
select id, at, username, action, table_name, row_id, before_json, after_json, client
from audit_log
where (:username is null or username = :username)
  and (:table_name is null or table_name = :table_name)
  and (:action is null or action = :action)
  and (:date_from is null or at >= :date_from)
  and (:date_to is null or at < date(:date_to, '+1 day'))
order by id desc
limit :limit
"""


def entries(
    db: Database,
    *,
    username: str | None = None,
    table_name: str | None = None,
    action: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Audit entries, newest first, filtered by user, table, action and date."""
    params = dict(username=username, table_name=table_name, action=action,
                  date_from=date_from, date_to=date_to, limit=limit)
    return [dict(r) for r in db.query(SEARCH_SQL, params)]


# Every write of data goes through record() (store.py, settings, users, the importer's bulk entries, the demo's
# closing entry), and each entry moves the data_version counter (a trigger; on PostgreSQL once per transaction, at
# its commit). Sign-ins and sign-outs change no figure: left out, a crowd logging in at a meeting's start does not
# throw away the cached figures.
DATA_VERSION_SQL = "select version from data_version where id = 1"  # kept by a trigger (m013_data_version)


def data_version(db: Database) -> int:
    """A number that grows with every audited change of data (0 for none): the key of cached figures."""
    row = db.execute(DATA_VERSION_SQL).fetchone()
    return row[0] if row else 0

# ---- the log in words (pure: the page and the tests call these) -----------------------------------------

ENUMS = {"kind": UnitKind, "cell_type": CellType, "grp": LeaderGroup, "mtype": MeetingType, "rating": Rating,
         "category": WeaknessCategory, "severity": Severity, "status": WeaknessStatus, "role": Role}
FLAGS = frozenset({"active", "leadership", "education", "combativeness"})
# Columns holding another record's id, and the table it names (successor_id names a row of its own table).
REFERENCES = {"unit_id": "units", "unit_ids": "units", "issuer_unit_id": "units", "cell_id": "cells",
              "leader_id": "leaders", "noted_by": "leaders", "meeting_id": "meetings"}
# Bookkeeping left out when a created or deleted record is summed up, and (updated_at) from a change list:
# the entry's own time and user already say it.
NOT_MAIN = frozenset({"id", "created_at", "created_by", "updated_at", "deleted_at", "failed_logins",
                      "locked_until", "logged_out_at", "password_changed_at", "successor_id"})
NOISE = frozenset({"updated_at"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

Names = Mapping[tuple[str, Any], str]


def action_label(action: str | None) -> str:
    """An audit action in the user's language (the code itself if it has no translation yet)."""
    key = f"page.audit.actions.{action}"
    return t(key) if action and i18n.has(key) else (action or "")


def field_label(name: str) -> str:
    """A column of a logged record in words: field.* first, then the log's and the settings' own labels."""
    for key in (f"field.{name}", f"page.audit.fields.{name}", f"page.settings.{name}", f"page.audit.tables.{name}"):
        if i18n.has(key):
            return t(key)
    return name


def _ref_table(name: str, table: str | None) -> str | None:
    return table if name == "successor_id" else REFERENCES.get(name)


def _number(value: int) -> str:
    text = f"{value:,}"
    return text.replace(",", ".") if i18n.get_language() == "vi" else text


def show_value(name: str, value: Any, table: str | None = None, names: Names | None = None) -> str:
    """One logged value in words: enums by label, yes/no, dates dd/mm/yyyy, ids by name; '' for null."""
    if value is None or value == "":
        return ""
    if isinstance(value, list):
        return ", ".join(show_value(name, v, table, names) for v in value)
    ref = _ref_table(name, table)
    if ref and names and (ref, value) in names:
        return names[(ref, value)]
    if name in ENUMS:
        return ENUMS[name].labels().get(value, str(value))
    if name in FLAGS:
        return t("page.audit.yes") if value else t("page.audit.no")
    if isinstance(value, bool):
        return t("page.audit.yes") if value else t("page.audit.no")
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, str) and _DAY.match(value):
        return fmt_date(value)
    if isinstance(value, str) and _TIME.match(value):
        return datetime.fromisoformat(value[:16]).strftime("%d/%m/%Y %H:%M")
    return str(value)


@cache
def _field_order() -> dict[str, int]:
    # The order of the [field] table of the locale file: code, name, kind, dates... as the forms show them.
    return {k[len("field."):]: i for i, k in enumerate(k for k in i18n.catalogue(i18n.DEFAULT_LANGUAGE)
                                                    if k.startswith("field."))}


def _order(name: str) -> tuple[int, str]:
    order = _field_order()
    return (order.get(name, len(order)), name)


def _load(text: str | None) -> dict:
    return json.loads(text) if text else {}


def changes(entry: Mapping[str, Any], names: Names | None = None) -> list[tuple[str, str, str]]:
    """The fields an update changed, in order: (label, before, after) in words."""
    before, after = _load(entry.get("before_json")), _load(entry.get("after_json"))
    table = entry.get("table_name")
    keys = sorted((k for k in before.keys() | after.keys() if before.get(k) != after.get(k) and k not in NOISE),
                  key=_order)
    return [(field_label(k), show_value(k, before.get(k), table, names), show_value(k, after.get(k), table, names))
            for k in keys]


def _main(record: dict, table: str | None, names: Names | None, skip: frozenset = NOT_MAIN) -> list[str]:
    return [f"{field_label(k)}: {text}" for k in sorted(record, key=_order) if k not in skip
            and (text := show_value(k, record[k], table, names))]


def describe(entry: Mapping[str, Any], names: Names | None = None) -> list[str]:
    """What an entry did, one line a field: "Field: old → new" for a change, the main fields of a record
    added, deleted or restored, the figures of a demo load; nothing for a login or a password change."""
    before, after = _load(entry.get("before_json")), _load(entry.get("after_json"))
    table = entry.get("table_name")
    if entry.get("action") == "demo":
        return _main(after, table, names, skip=frozenset())
    if entry.get("action") == "delete" or (before and not after):
        return _main(before, table, names)
    if entry.get("action") in ("create", "restore") or (after and not before):
        return _main(after, table, names)
    return [f"{label}: {old} → {new}".replace(":  →", ": →").rstrip()
            for label, old, new in changes(entry, names)]


def reference_names(db: Database, rows: list[Mapping[str, Any]]) -> dict[tuple[str, Any], str]:
    """The names of the units, cells, leaders and meetings the entries point to (their names today)."""
    wanted: dict[str, set] = {}
    for row in rows:
        for record in (_load(row.get("before_json")), _load(row.get("after_json"))):
            for key, value in record.items():
                ref = _ref_table(key, row.get("table_name"))
                if ref in REFERENCES.values() and value is not None:
                    wanted.setdefault(ref, set()).update(value if isinstance(value, list) else [value])
    queries = {
        "units": "select id, name from units",
        "cells": "select id, name from cells",
        "leaders": "select id, full_name from leaders",
        "meetings": "select id, held_on from meetings",
    }
    names: dict[tuple[str, Any], str] = {}
    for ref, ids in wanted.items():
        sql = queries[ref] + " where id in (select value from json_each(?))"
        for rid, text in db.execute(sql, [json.dumps(sorted(i for i in ids if isinstance(i, int)))]):
            names[(ref, rid)] = (t("page.audit.meeting_ref", id=rid, day=fmt_date(text)) if ref == "meetings"
                                 else text)
    return names
