"""The audit log: who did what and when, before and after; append-only."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from lib.domain import Actor

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


# Every write of data goes through record() in its own transaction (store.py, settings, users, the importer's
# bulk entries, the demo's closing entry), so the newest entry names the data's state. Sign-ins and sign-outs
# change no figure: left out, a crowd logging in at a meeting's start does not throw away the cached figures.
DATA_VERSION_SQL = """
select id from audit_log
where action not like 'login%' and action <> 'logout'
order by id desc
limit 1
"""


def data_version(db: Database) -> int:
    """A number that grows with every audited change of data (0 for none): the key of cached figures."""
    row = db.execute(DATA_VERSION_SQL).fetchone()
    return row[0] if row else 0
