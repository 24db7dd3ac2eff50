"""Users, roles, clerk unit scope, login lockout and throttling, and the scope checks every write makes."""

import base64
import hashlib
import ipaddress
import math
import re
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import bcrypt
from sqlite_utils import Database

from lib import audit
from lib import db as dbm
from lib.domain import SYSTEM, Actor, FieldError, FieldWarning, PermissionDenied, Role, ValidationError

# A login from one client address to one account: five failures in a row lock that account for that
# address for 15 minutes; once the lock has run out the count starts afresh (a fresh five tries).
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
# One client address: after 20 failed logins (any usernames) within 15 minutes every further try from
# it is refused unchecked until the 15 minutes are over; one audit entry says so.
MAX_FAILURES_PER_CLIENT = 20
WINDOW_MINUTES = 15
# Overall: at most 200 failed-login audit entries per 15 minutes; beyond that one 'login_flood' entry.
MAX_AUDITED_FAILURES = 200
# The guard table keeps at most this many rows (about 2 MB); while it is full, addresses it does not hold
# share one bucket (OVERFLOW), so a flood from very many addresses neither grows it nor escapes the count
# (the price: during such a flood a new address may have to wait out the window too), and no new
# account-at-address rows are made (the address count still bounds the tries).
MAX_GUARD_ROWS = 10_000
OVERFLOW = "+"
EVERYONE = "*"

USERNAME_MAX = 32
MAX_PASSWORD_CHARS = 256
BCRYPT_MAX_BYTES = 72
_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")
# Passwords over bcrypt's 72 bytes are hashed with SHA-256 first (base64, so no NUL byte reaches bcrypt)
# and the stored hash says so; shorter ones keep the plain bcrypt hash, so every earlier hash still verifies.
_PREHASH = "sha256$"

# The most common passwords that would otherwise pass the length/letter/digit rule (from the published
# lists of leaked passwords, plus Vietnamese ones); compared lower-cased.
COMMON_PASSWORDS = frozenset("""
password1 password12 password123 password1234 password12345 passw0rd p@ssw0rd p@ssword1 pa55word1 pa55w0rd
password2 password01 password2024 password2025 password2026 mypassword1 newpassword1 1password
abc12345 abcd1234 abc123456 abcd12345 abc123abc 123abc123 12345abc 123456abc 1234abcd a1234567 a12345678
a123456789 aa123456 aa12345678 1a2b3c4d a1b2c3d4 a1b2c3d4e5 aaaa1111 1111aaaa 11111111a 123456789a 1234567a
12345678a 123456a@ 123456aa 12345qwert 1234qwer qwer1234 qwerty12 qwerty123 qwerty1234 qwerty12345 qwe12345
qwe123456 123qwe123 123qweasd qweasd123 qweasdzxc1 q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 1q2w3e4r 1q2w3e4r5t
1q2w3e4r5t6y 1qaz2wsx 1qaz2wsx3edc zaq12wsx zaq1zaq1 zaq1xsw2 asdf1234 asdfgh123 zxcvbnm1 zxcv1234
iloveyou1 iloveyou2 iloveyou123 welcome1 welcome123 welcome2024 welcome2025 letmein1 letmein123
admin123 admin1234 admin12345 admin2024 admin2025 admin2026 administrator1 root1234 toor1234 test1234
test12345 test123456 guest123 user1234 login123 changeme1 changeme123 secret123 default1 master123
sunshine1 princess1 football1 baseball1 monkey123 dragon123 superman1 batman123 trustno1 charlie1
michael1 jordan23 shadow123 freedom1 whatever1 computer1 internet1 hello123 hello1234 summer2024
summer2025 winter2024 winter2025 spring2025 autumn2025 samsung1 samsung123 google123 facebook1
matkhau1 matkhau12 matkhau1234 matkhau2024 matkhau2025 anhyeuem1 anhyeuem123 emyeuanh1 emyeuanh123
yeuem123 yeuanh123 iloveu123 vietnam1 vietnam123 vietnam2025 hanoi123 saigon123 hochiminh1 123456vn
""".split())


def _digest(raw: bytes) -> bytes:
    return base64.b64encode(hashlib.sha256(raw).digest())


def hash_password(password: str) -> str:
    """A bcrypt hash of the password (SHA-256 first, marked, when it is over bcrypt's 72 bytes)."""
    raw = password.encode("utf-8")
    if len(raw) <= BCRYPT_MAX_BYTES:
        return bcrypt.hashpw(raw, bcrypt.gensalt()).decode("ascii")
    return _PREHASH + bcrypt.hashpw(_digest(raw), bcrypt.gensalt()).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """Whether the password matches the stored hash (one bcrypt check)."""
    raw = password.encode("utf-8")
    try:
        if password_hash.startswith(_PREHASH):
            return bcrypt.checkpw(_digest(raw), password_hash[len(_PREHASH):].encode("ascii"))
        return bcrypt.checkpw(raw, password_hash.encode("ascii"))
    except ValueError:
        # A plain hash and a password over 72 bytes can never match (such hashes were never made).
        return False


_DUMMY_HASHES: dict[bytes, str] = {}


def _dummy_hash() -> str:
    # Unknown usernames are checked against this hash, so they cost the same bcrypt work as real ones;
    # it follows the cost bcrypt.gensalt() gives (the tests lower it).
    salt = bcrypt.gensalt()
    cost = salt[:7]
    if cost not in _DUMMY_HASHES:
        _DUMMY_HASHES[cost] = bcrypt.hashpw(b"no-such-user: a password nobody types", salt).decode("ascii")
    return _DUMMY_HASHES[cost]


def _folded(text: str) -> str:
    # Lower case without accents, spaces or punctuation: "Nguyễn Thị Hà" -> "nguyenthiha".
    text = unicodedata.normalize("NFD", (text or "").lower().replace("đ", "d"))
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch))


def username_problems(username: str) -> list[FieldError]:
    """Refusals for the form of a username: 3-32 of a-z, 0-9, '_', '.', '-', and not the system's name."""
    username = (username or "").strip().lower()
    if not _USERNAME.match(username) or username == SYSTEM.username:
        return [FieldError("username", "bad_username")]
    return []


def password_problems(password: str, username: str | None = None, full_name: str | None = None) -> list[FieldError]:
    """Refusals for a password: 8-256 characters with a letter and a digit, not common, without the names."""
    password = password or ""
    if len(password) > MAX_PASSWORD_CHARS:
        return [FieldError("password", "password_too_long", max=MAX_PASSWORD_CHARS)]
    if len(password) < 8 or not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        return [FieldError("password", "weak_password")]
    if password.lower() in COMMON_PASSWORDS:
        return [FieldError("password", "common_password")]
    folded = _folded(password)
    names = [n for n in (_folded(username or ""), _folded(full_name or "")) if len(n) >= 3]
    if (username and username.strip().lower() in password.lower()) or any(n in folded for n in names):
        return [FieldError("password", "password_has_name")]
    return []


# ---- scope ---------------------------------------------------------------------------

def actor_for(db: Database, username: str) -> Actor | None:
    """The current role and unit scope of an active user, read from the database."""
    row = db.execute(
        "select role from users where username = ? and active = 1", [username]
    ).fetchone()
    if row is None:
        return None
    # A clerk's units are whole subtrees: a commune's clerk also keeps its party sub-committees' cells.
    units = frozenset(
        r[0] for r in db.execute(
            "select distinct t.descendant_id from user_units uu join unit_tree t on t.ancestor_id = uu.unit_id "
            "where uu.username = ?", [username])
    )
    return Actor(username, row[0], units)


def hold_actor(db: Database, actor: Actor) -> None:
    """Inside a write on PostgreSQL, hold the author's name (users/<username>, shared) until the commit: a change of
    their role or scope (update_user, which holds the name exclusively) begun before is waited for, one begun after
    waits for this write; writes by one user do not wait on each other. Reads hold nothing."""
    # SQLite's BEGIN IMMEDIATE holds the whole file: a save queued behind the change and then saw it.
    if actor is not SYSTEM and dbm.in_write(db):
        dbm.share_name(db, "users", actor.username)


def fresh_actor(db: Database, actor: Actor) -> Actor:
    """The actor as the database has them now (role, scope); refused when no longer active."""
    # Role and scope come from the database, never from what the caller holds,
    # so a tampered session cannot widen them.
    if actor is SYSTEM:
        return actor
    hold_actor(db, actor)  # first, so what is read next is the scope as the last change committed it
    fresh = actor_for(db, actor.username)
    if fresh is None:
        raise PermissionDenied("inactive")
    return fresh


def require_admin(db: Database, actor: Actor) -> Actor:
    """Refuse anyone but an administrator."""
    actor = fresh_actor(db, actor)
    if actor.role != Role.ADMIN:
        raise PermissionDenied("admin_only")
    return actor


def require_unit(db: Database, actor: Actor, unit_id: int | None) -> Actor:
    """Refuse viewers, and clerks writing outside their units."""
    actor = fresh_actor(db, actor)
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


def list_users(db: Database, now: datetime | None = None) -> list[dict]:
    """Every user without the password hash, with unit names and the latest end of a login lock on them."""
    # Names, not codes: an administrator reads "Xã Nhị Long", not "NL". In code order (the directory's; SQLite
    # would sort "Đ" after "X"), set in a subquery because group_concat keeps the order its rows arrive in.
    sql = """
    select u.username, u.full_name, u.email, u.role, u.active, u.failed_logins,
           (select max(g.locked_until) from login_guard g
            where g.username = u.username and g.locked_until > :now) as locked_until,
           (select group_concat(name, ', ') from
              (select un.name from user_units uu join units un on un.id = uu.unit_id
               where uu.username = u.username order by un.code)) as units
    from users u
    order by u.username
    """
    return [dict(r) for r in db.query(sql, {"now": _iso(now or datetime.now())})]


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


def user_warnings(role: str, unit_ids: list[int] | tuple = ()) -> list[FieldWarning]:
    """Advice that does not block a save: a clerk without a unit may sign in but can enter nothing."""
    if role == Role.CLERK and not unit_ids:
        return [FieldWarning("unit_ids", "clerk_no_units")]
    return []


def create_user(
    db: Database,
    actor: Actor,
    username: str,
    full_name: str,
    password: str,
    role: str,
    unit_ids: list[int] = (),
    email: str | None = None,
) -> list[FieldWarning]:
    """Create a user (admin only; the first admin is created by setup with SYSTEM); returns the warnings."""
    require_admin(db, actor)
    username = (username or "").strip().lower()
    with dbm.immediate(db):
        # PostgreSQL: a second account of the same name waits, then is refused by name (not by the primary key).
        dbm.lock_name(db, "users", username)
        return _create_user(db, actor, username, full_name, password, role, unit_ids, email)


def _create_user(db: Database, actor: Actor, username: str, full_name: str, password: str, role: str,
                 unit_ids: list[int], email: str | None) -> list[FieldWarning]:
    errors = username_problems(username)
    if not errors and get_user(db, username) is not None:
        errors.append(FieldError("username", "username_taken", value=username))
    if not (full_name or "").strip():
        errors.append(FieldError("full_name", "required"))
    if role not in set(Role):
        errors.append(FieldError("role", "bad_choice", value=role, choices=", ".join(Role.labels().values())))
    errors += password_problems(password, username, full_name)
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
    return user_warnings(role, list(unit_ids))


def _hold_users(db: Database, actor: Actor, username: str) -> None:
    # PostgreSQL: the name of the user written (exclusive: their own writes, which share it, wait for the change or
    # it for them) and its author's (shared, as every write holds it), in username order and each once in its
    # strongest mode, before the author's role is read: two administrators editing each other's accounts, or one
    # editing their own twice, then queue instead of deadlocking on a shared lock each wants to upgrade. Names
    # before rows: then the row (the audit entry's before is the row this write replaces).
    for name in sorted({username, actor.username}):
        if name == username:
            dbm.lock_name(db, "users", name)
        else:
            hold_actor(db, actor)
    dbm.lock(db, "users", username)


def update_user(db: Database, actor: Actor, username: str, **changes) -> list[FieldWarning]:
    """Change a user's name, email, role, active flag or units (admin only); returns the warnings."""
    with dbm.immediate(db):
        _hold_users(db, actor, username)
        require_admin(db, actor)
        return _update_user(db, actor, username, **changes)


def _update_user(db: Database, actor: Actor, username: str, **changes) -> list[FieldWarning]:
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
    if "active" in allowed and not allowed["active"] and before["active"]:
        # Deactivation ends the user's sessions and voids their re-login cookies, also for after a
        # reactivation (lib/auth compares logged_out_at with when a session or cookie began).
        allowed["logged_out_at"] = session_mark()
    if allowed:
        db["users"].update(username, allowed)
    role = allowed.get("role", before["role"])
    if role != Role.CLERK:
        _set_units(db, username, [])
    elif unit_ids is not None:
        _set_units(db, username, unit_ids)
    after = get_user(db, username)
    audit.record(db, actor, "update", "users", username, _audit_view(before), _audit_view(after))
    return user_warnings(after["role"], after["unit_ids"]) if after["active"] else []


def set_password(db: Database, actor: Actor, username: str, password: str) -> None:
    """Reset a password: an admin for anyone, a user for themselves."""
    with dbm.immediate(db):
        _hold_users(db, actor, username)
        if actor.username != username:
            require_admin(db, actor)
        _set_password(db, actor, username, password)


def _set_password(db: Database, actor: Actor, username: str, password: str) -> None:
    user = get_user(db, username)
    if user is None:
        raise ValidationError([FieldError("username", "not_found")])
    errors = password_problems(password, username, user["full_name"])
    if errors:
        raise ValidationError(errors)
    db["users"].update(username, {"password_hash": hash_password(password), "failed_logins": 0, "locked_until": None,
                                  "password_changed_at": session_mark()})
    # A reset lifts the account's login locks at every address.
    db.execute("delete from login_guard where username = ?", [username])
    audit.record(db, actor, "password", "users", username)


def session_mark() -> str:
    """Now, to the microsecond, as stored in password_changed_at and logged_out_at."""
    # Finer than audit.now_iso(): a session that began in the same second as a reset must still end.
    return datetime.now().isoformat(timespec="microseconds")


def revoke_sessions(db: Database, username: str) -> None:
    """Void every session and re-login cookie the user began before now (logout)."""
    db.execute("update users set logged_out_at = ? where username = ?", [session_mark(), username])


def sessions_void_before(db: Database, username: str) -> float | None:
    """When the user's last password change, logout or deactivation was (Unix time): older sessions end."""
    row = db.execute("select password_changed_at, logged_out_at from users where username = ?", [username]).fetchone()
    marks = [datetime.fromisoformat(m).timestamp() for m in (row or ()) if m]
    return max(marks) if marks else None


# ---- login: lockout, throttling and the attempt itself -------------------------------------------
#
# Table login_guard counts failed logins in three kinds of row, each forgotten once expires_at has passed:
#   (username, address)  an account tried from one address: five failures lock it for that address only,
#                        so an attacker elsewhere cannot lock the real user out; unknown usernames get the
#                        same rows, so their answers are the same as for real accounts;
#   ('', address)        every failure from one address: past MAX_FAILURES_PER_CLIENT it is refused unchecked;
#   ('', '*')            every audited failure: past MAX_AUDITED_FAILURES no more entries one by one.

def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def client_key(address: str | None) -> str:
    """The key a client address is counted under: IPv6 by its /64 network (one subscriber), '' when unknown."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[: audit.CLIENT_MAX]
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


_GUARD_COLUMNS = ("since", "failures", "locked_until", "noted", "expires_at")


def _row(db: Database, username: str, key: str, now: datetime) -> dict | None:
    row = db.execute(
        f"select {', '.join(_GUARD_COLUMNS)} from login_guard where username = ? and client = ? and expires_at > ?",
        [username, key, _iso(now)],
    ).fetchone()
    return None if row is None else dict(zip(_GUARD_COLUMNS, row, strict=True))


def _locked(row: dict | None, now: datetime) -> datetime | None:
    if row and row["locked_until"] and row["locked_until"] > _iso(now):
        return datetime.fromisoformat(row["locked_until"])
    return None


def _throttled(row: dict | None) -> datetime | None:
    if row and row["failures"] >= MAX_FAILURES_PER_CLIENT:
        return datetime.fromisoformat(row["expires_at"])
    return None


def _full(db: Database) -> bool:
    return db.execute("select count(*) from login_guard").fetchone()[0] >= MAX_GUARD_ROWS


def _key(db: Database, key: str, now: datetime) -> str:
    # Once the table is full, addresses it does not hold yet share one bucket: a flood from many
    # addresses can neither grow the table nor escape the count.
    if _row(db, "", key, now) is not None:
        return key
    return OVERFLOW if _full(db) else key


def locked_until(db: Database, username: str, now: datetime | None = None, client: str | None = None
                 ) -> datetime | None:
    """When the account's login lock for this client address ends, if it is locked now."""
    now = now or datetime.now()
    return _locked(_row(db, username, _key(db, client_key(client), now), now), now)


def throttled_until(db: Database, client: str | None = None, now: datetime | None = None) -> datetime | None:
    """When the refusal of every login from this client address ends, if logins from it are refused now."""
    now = now or datetime.now()
    return _throttled(_row(db, "", _key(db, client_key(client), now), now))


def minutes_left(until: datetime | None, now: datetime | None = None) -> int:
    """Whole minutes until a lock or refusal ends, rounded up (at least 1)."""
    if until is None:
        return 1
    return max(1, math.ceil((until - (now or datetime.now())).total_seconds() / 60))


def _bump(db: Database, username: str, key: str, now: datetime, lock: bool = False, room: bool = True) -> dict:
    # One more failure in the row (username, key), which starts afresh once it has run out.
    row = _row(db, username, key, now)
    fresh = row is None
    row = row or {"since": _iso(now), "failures": 0, "locked_until": None, "noted": 0}
    row["failures"] += 1
    if lock and row["failures"] >= MAX_FAILED_LOGINS and not row["locked_until"]:
        row["locked_until"] = _iso(now + timedelta(minutes=LOCKOUT_MINUTES))
    if username:
        # An account at an address: failures more than a window apart do not add up; a lock holds to its end.
        row["expires_at"] = max(_iso(now + timedelta(minutes=WINDOW_MINUTES)), row["locked_until"] or "")
    else:
        # An address, or everyone: a fixed window from the first failure.
        row["expires_at"] = _iso(datetime.fromisoformat(row["since"]) + timedelta(minutes=WINDOW_MINUTES))
    if fresh and username and not room:
        return row  # counted for this answer only: a full table takes no new account rows
    db.execute(
        f"insert or replace into login_guard (username, client, {', '.join(_GUARD_COLUMNS)}) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [username, key, *(row[c] for c in _GUARD_COLUMNS)],
    )
    return row


def _note(db: Database, username: str, key: str) -> None:
    db.execute("update login_guard set noted = 1 where username = ? and client = ?", [username, key])


def _audit_name(username: str) -> str:
    # A username over the 32-character rule cannot exist; the log keeps a short prefix of it.
    return username if len(username) <= USERNAME_MAX else username[:USERNAME_MAX] + "…"


def _audit_refusal(db: Database, username: str, action: str, now: datetime) -> None:
    # At most MAX_AUDITED_FAILURES refusals are logged one by one per window overall, then one 'login_flood'.
    _hold_guard(db, EVERYONE)
    overall = _bump(db, "", EVERYONE, now)
    if overall["failures"] <= MAX_AUDITED_FAILURES:
        audit.record(db, _audit_name(username), action)
    elif not overall["noted"]:
        _note(db, "", EVERYONE)
        audit.record(db, None, "login_flood")


def _fail(db: Database, username: str, key: str, now: datetime, action: str = "login_failed",
          account: bool = True) -> str:
    # Count a refused attempt for the address (and, for a wrong password, for the account at that address).
    db.execute("delete from login_guard where expires_at <= ?", [_iso(now)])
    _bump(db, "", key, now)
    locked = account and _bump(db, username, key, now, lock=True, room=not _full(db))["locked_until"]
    _audit_refusal(db, username, action, now)
    return "locked" if locked else "bad"


def _refused(db: Database, username: str, key: str, now: datetime) -> str | None:
    # 'throttled' or 'locked' before any password check (recorded), or None.
    address = _row(db, "", key, now)
    if _throttled(address):
        if not address["noted"]:
            _note(db, "", key)
            _audit_refusal(db, username, "login_throttled", now)
        return "throttled"
    if _locked(_row(db, username, key, now), now):
        _fail(db, username, key, now, "login_locked", account=False)
        return "locked"
    return None


def _plain(username: str | None) -> str:
    # Cut before any work: no username is over 32 characters.
    return (username or "")[: 8 * USERNAME_MAX].strip().lower()


def _hold_guard(db: Database, key: str) -> None:
    # PostgreSQL: an address's counters are read, then written one higher; tries from one address at once queue
    # here (addresses first, then the overall count), so none is lost and five failures still lock the account.
    dbm.lock_name(db, "guard", key)  # not "login_…": texts so named in this module are logged actions


def _gate(db: Database, username: str, password: str, client: str | None, now: datetime
          ) -> tuple[str | None, str, dict | None]:
    # Everything before the password check: (refusal or None, the address key, the user's row or None).
    _hold_guard(db, client_key(client))
    key = _key(db, client_key(client), now)
    _hold_guard(db, key)
    refusal = _refused(db, username, key, now)
    if refusal:
        return refusal, key, None
    if len(username) > USERNAME_MAX or not _USERNAME.match(username) or len(password) > MAX_PASSWORD_CHARS:
        # No account can have this name or password: refused without a bcrypt check.
        return _fail(db, username, key, now, account=False), key, None
    row = db.execute("select password_hash, active from users where username = ?", [username]).fetchone()
    return None, key, (None if row is None else {"password_hash": row[0], "active": row[1]})


def _check(password: str, user: dict | None) -> bool:
    # Exactly one bcrypt check whether or not the user exists, so both take the same time.
    matches = check_password(password, user["password_hash"] if user else _dummy_hash())
    return matches and user is not None


def _settle(db: Database, username: str, key: str, user: dict | None, ok: bool, now: datetime) -> str:
    # After the password check: record the outcome.
    _hold_guard(db, key)
    refusal = _refused(db, username, key, now)  # a try running alongside may have locked it meanwhile
    if refusal:
        return refusal
    if not ok:
        return _fail(db, username, key, now)
    if not user["active"]:
        _fail(db, username, key, now, "login_inactive", account=False)
        return "inactive"
    db.execute("delete from login_guard where username = ? and client = ?", [username, key])
    audit.record(db, username, "login")
    return "ok"


def authenticate(db: Database, username: str, password: str, now: datetime | None = None,
                 client: str | None = None) -> str:
    """Check a login in the caller's transaction: 'ok', 'bad', 'locked', 'throttled' or 'inactive'; records it."""
    username, password, now = _plain(username), password or "", now or datetime.now()
    with audit.client_as(client):
        refusal, key, user = _gate(db, username, password, client, now)
        if refusal:
            return refusal
        return _settle(db, username, key, user, _check(password, user), now)


def login(path: str | Path | None, username: str, password: str, client: str | None = None,
          now: datetime | None = None) -> str:
    """Check a login like authenticate(), with the bcrypt check between two short write transactions."""
    username, password, now = _plain(username), password or "", now or datetime.now()
    with audit.client_as(client):
        with dbm.write(path) as db:
            refusal, key, user = _gate(db, username, password, client, now)
        if refusal:
            return refusal
        # bcrypt takes 0.2-0.6 s: outside the write lock, so other logins and saves do not queue behind it.
        ok = _check(password, user)
        with dbm.write(path) as db:
            return _settle(db, username, key, user, ok, now)


# ---- preferences: the language and dashboard period a user last chose ---------------------------------------
#
# Not audited: a preference is no record of the organisation, and an audit entry would give the data a new
# version (lib.audit.data_version), so every period click would throw away every cached figure.

PREF_LANGUAGES = ("vi", "en")
_PERIOD = re.compile(r"^(19|20)\d\d(-Q[1-4]|-(0[1-9]|1[0-2]))?$")


def get_prefs(db: Database, username: str) -> dict:
    """The user's stored language and period ({"lang": ..., "period": ...}, None where none is stored)."""
    row = db.execute("select lang, period from user_prefs where username = :username",
                     {"username": username}).fetchone()
    lang, period = row if row else (None, None)
    return {"lang": lang if lang in PREF_LANGUAGES else None,
            "period": period if period and _PERIOD.match(period) else None}


def save_prefs(db: Database, actor: Actor, **prefs: str | None) -> None:
    """Store the actor's own language and/or period (values outside the known forms are ignored)."""
    wanted = {}
    if prefs.get("lang") in PREF_LANGUAGES:
        wanted["lang"] = prefs["lang"]
    if isinstance(prefs.get("period"), str) and _PERIOD.match(prefs["period"]):
        wanted["period"] = prefs["period"]
    if not wanted or actor is SYSTEM or actor_for(db, actor.username) is None:
        return  # only a live account keeps preferences, and only its own
    params = {"username": actor.username, "updated_at": audit.now_iso(), **wanted}
    sets = ", ".join(f"{name} = :{name}" for name in wanted)
    db.execute(f"""insert into user_prefs (username, {", ".join(wanted)}, updated_at)
values (:username, {", ".join(f":{name}" for name in wanted)}, :updated_at)
on conflict(username) do update set {sets}, updated_at = :updated_at""", params)
