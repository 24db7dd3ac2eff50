"""Users, roles, clerk unit scope, login lockout, and the scope checks every write makes."""

import re
from datetime import datetime, timedelta

import bcrypt
from sqlite_utils import Database

from lib import audit
from lib.domain import SYSTEM, Actor, FieldError, PermissionDenied, Role, ValidationError

MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")


def hash_password(password: str) -> str:
    """A bcrypt hash of the password."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """Whether the password matches the bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


def password_problems(password: str) -> list[FieldError]:
    """A password needs 8+ characters with at least one letter and one digit."""
    if (
        len(password or "") < 8
        or not re.search(r"[^\W\d_]", password)
        or not re.search(r"\d", password)
    ):
        return [FieldError("password", "weak_password")]
    return []


# ---- scope ---------------------------------------------------------------------------

def actor_for(db: Database, username: str) -> Actor | None:
    """The current role and unit scope of an active user, read from the database."""
    row = db.execute(
        "select role from users where username = ? and active = 1", [username]
    ).fetchone()
    if row is None:
        return None
    units = frozenset(
        r[0] for r in db.execute("select unit_id from user_units where username = ?", [username])
    )
    return Actor(username, row[0], units)


def _current(db: Database, actor: Actor) -> Actor:
    # Role and scope come from the database, never from what the caller holds,
    # so a tampered session cannot widen them.
    if actor is SYSTEM:
        return actor
    fresh = actor_for(db, actor.username)
    if fresh is None:
        raise PermissionDenied("inactive")
    return fresh


def require_admin(db: Database, actor: Actor) -> Actor:
    """Refuse anyone but an administrator."""
    actor = _current(db, actor)
    if actor.role != Role.ADMIN:
        raise PermissionDenied("admin_only")
    return actor


def require_unit(db: Database, actor: Actor, unit_id: int | None) -> Actor:
    """Refuse viewers, and clerks writing outside their units."""
    actor = _current(db, actor)
    if actor.role == Role.ADMIN:
        return actor
    if actor.role != Role.CLERK:
        raise PermissionDenied("read_only")
    if unit_id not in actor.unit_ids:
        name = db.execute("select name from units where id = ?", [unit_id]).fetchone()
        raise PermissionDenied("out_of_scope", unit=name[0] if name else unit_id)
    return actor


def unit_of_cell(db: Database, cell_id: int | None) -> int | None:
    """The unit a cell belongs to."""
    row = db.execute("select unit_id from cells where id = ?", [cell_id]).fetchone()
    return row[0] if row else None


# ---- user records ---------------------------------------------------------------------

def get_user(db: Database, username: str) -> dict | None:
    """A user row with its unit ids, or None."""
    row = db.execute("select * from users where username = ?", [username]).fetchone()
    if row is None:
        return None
    cols = [d[0] for d in db.execute("select * from users limit 0").description]
    user = dict(zip(cols, row, strict=True))
    user["unit_ids"] = [
        r[0] for r in db.execute("select unit_id from user_units where username = ? order by unit_id", [username])
    ]
    return user


def list_users(db: Database) -> list[dict]:
    """Every user without the password hash, with unit codes."""
    sql = """
    select u.username, u.full_name, u.email, u.role, u.active, u.failed_logins, u.locked_until,
           group_concat(un.code, ', ') as units
    from users u
    left join user_units uu on uu.username = u.username
    left join units un on un.id = uu.unit_id
    group by u.username
    order by u.username
    """
    return [dict(r) for r in db.query(sql)]


def count_users(db: Database) -> int:
    """How many users exist (0 means first run)."""
    return db.execute("select count(*) from users").fetchone()[0]


def _audit_view(user: dict | None) -> dict | None:
    if user is None:
        return None
    return {k: v for k, v in user.items() if k != "password_hash"}


def _set_units(db: Database, username: str, unit_ids: list[int]) -> None:
    db.execute("delete from user_units where username = ?", [username])
    for unit_id in sorted(set(unit_ids)):
        if db.execute("select 1 from units where id = ?", [unit_id]).fetchone() is None:
            raise ValidationError([FieldError("unit_id", "unknown_id")])
        db["user_units"].insert({"username": username, "unit_id": unit_id})


def create_user(
    db: Database,
    actor: Actor,
    username: str,
    full_name: str,
    password: str,
    role: str,
    unit_ids: list[int] = (),
    email: str | None = None,
) -> None:
    """Create a user (admin only; the first admin is created by setup with SYSTEM)."""
    require_admin(db, actor)
    username = (username or "").strip().lower()
    errors = []
    if not _USERNAME.match(username) or username == SYSTEM.username:
        errors.append(FieldError("username", "bad_username"))
    elif get_user(db, username) is not None:
        errors.append(FieldError("username", "username_taken", value=username))
    if not (full_name or "").strip():
        errors.append(FieldError("full_name", "required"))
    if role not in set(Role):
        errors.append(FieldError("role", "bad_choice", value=role, choices=", ".join(Role.labels().values())))
    errors += password_problems(password)
    if errors:
        raise ValidationError(errors)
    row = {
        "username": username,
        "full_name": full_name.strip(),
        "email": email,
        "password_hash": hash_password(password),
        "role": role,
        "active": 1,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": audit.now_iso(),
    }
    db["users"].insert(row)
    _set_units(db, username, list(unit_ids) if role == Role.CLERK else [])
    audit.record(db, actor, "create", "users", username, None, _audit_view(get_user(db, username)))


def update_user(db: Database, actor: Actor, username: str, **changes) -> None:
    """Change a user's name, email, role, active flag or units (admin only)."""
    require_admin(db, actor)
    before = get_user(db, username)
    if before is None:
        raise ValidationError([FieldError("username", "not_found")])
    unit_ids = changes.pop("unit_ids", None)
    if "role" in changes and changes["role"] not in set(Role):
        raise ValidationError([FieldError("role", "bad_choice", value=changes["role"],
                                          choices=", ".join(Role.labels().values()))])
    if changes.get("active") in (0, False) and username == actor.username:
        raise ValidationError([FieldError("active", "cannot_deactivate_self")])
    allowed = {k: v for k, v in changes.items() if k in {"full_name", "email", "role", "active"}}
    if allowed:
        db["users"].update(username, allowed)
    role = allowed.get("role", before["role"])
    if role != Role.CLERK:
        _set_units(db, username, [])
    elif unit_ids is not None:
        _set_units(db, username, unit_ids)
    audit.record(db, actor, "update", "users", username, _audit_view(before), _audit_view(get_user(db, username)))


def set_password(db: Database, actor: Actor, username: str, password: str) -> None:
    """Reset a password: an admin for anyone, a user for themselves."""
    if actor.username != username:
        require_admin(db, actor)
    errors = password_problems(password)
    if errors:
        raise ValidationError(errors)
    if get_user(db, username) is None:
        raise ValidationError([FieldError("username", "not_found")])
    db["users"].update(username, {"password_hash": hash_password(password), "failed_logins": 0, "locked_until": None,
                                  "password_changed_at": audit.now_iso()})
    audit.record(db, actor, "password", "users", username)


def revoke_sessions(db: Database, username: str) -> None:
    """Void every re-login cookie issued to the user before now (logout)."""
    db.execute("update users set logged_out_at = ? where username = ?", [audit.now_iso(), username])


# ---- login lockout --------------------------------------------------------------------

def locked_until(db: Database, username: str, now: datetime | None = None) -> datetime | None:
    """When the account's lockout ends, if it is locked now."""
    row = db.execute("select locked_until from users where username = ?", [username]).fetchone()
    if not row or not row[0]:
        return None
    until = datetime.fromisoformat(row[0])
    return until if until > (now or datetime.now()) else None


def record_login(db: Database, username: str, ok: bool, now: datetime | None = None) -> None:
    """Count a login attempt; five failures in a row lock the account for 15 minutes."""
    now = now or datetime.now()
    exists = db.execute("select failed_logins from users where username = ?", [username]).fetchone()
    if ok:
        db.execute("update users set failed_logins = 0, locked_until = null where username = ?", [username])
        audit.record(db, username, "login")
        return
    if exists is not None:
        failures = exists[0] + 1
        until = (now + timedelta(minutes=LOCKOUT_MINUTES)).isoformat(timespec="seconds") \
            if failures >= MAX_FAILED_LOGINS else None
        db.execute(
            "update users set failed_logins = ?, locked_until = coalesce(?, locked_until) where username = ?",
            [failures, until, username],
        )
    audit.record(db, username, "login_failed")


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> str:
    """Check a login: 'ok', 'locked', 'inactive' or 'bad'; records the attempt."""
    username = (username or "").strip().lower()
    user = get_user(db, username)
    if user is not None and locked_until(db, username, now):
        audit.record(db, username, "login_locked")
        return "locked"
    if user is None or not check_password(password or "", user["password_hash"]):
        record_login(db, username, False, now)
        return "locked" if locked_until(db, username, now) else "bad"
    if not user["active"]:
        audit.record(db, username, "login_inactive")
        return "inactive"
    record_login(db, username, True, now)
    return "ok"
