"""Login, cookie re-login, logout, first-run setup and the current user's Actor."""

import importlib.util
import ipaddress
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from sqlite_utils import Database

from lib import audit, i18n, org, settings, users
from lib import db as dbm
from lib.domain import SYSTEM, Actor, FieldError, PermissionDenied, Role, ValidationError
from lib.i18n import t

COOKIE_NAME = "chibo_auth"
COOKIE_DAYS = 7.0
# Session keys streamlit-authenticator reads and writes; we keep the same ones so its
# cookie check and ours agree on who is logged in.
_AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles")
_SET_COOKIE = "_auth_set_cookie"
_DELETE_COOKIE = "_auth_delete_cookie"
# When this session's login began (Unix time): a password change, logout or deactivation after it ends it.
_AUTH_AT = "_auth_at"


class AuthError(FieldError):
    """A refusal from login, setup or password change, worded in the [auth] strings."""

    prefix = "auth.err"

    @property
    def field_label(self) -> str:
        key = f"auth.field.{self.field}"
        return t(key) if i18n.has(key) else t(f"field.{self.field}")


def testing() -> bool:
    """Whether the app runs under the test suite (CHIBO_TESTING=1)."""
    return os.environ.get("CHIBO_TESTING") == "1"


# ---- pure parts (no Streamlit session needed) ------------------------------------------

def demo_available() -> bool:
    """Whether the demo data loader (lib/demo.py) is installed."""
    return importlib.util.find_spec("lib.demo") is not None


def _password_pair(password: str, confirm: str) -> list[FieldError]:
    if password != confirm:
        return [AuthError("password_confirm", "password_mismatch")]
    return []


def first_run_setup(
    path: str | Path | None,
    org_name: str,
    full_name: str,
    username: str,
    password: str,
    confirm: str,
    demo: bool = False,
    home: Mapping[str, Any] | None = None,
) -> str:
    """Create the first administrator on an empty database, with who we are (home: the home node and its issuing
    body, lib.org.setup_home) or else the demo's organisation; returns the username."""
    # Every refusal at once, in the order of the form's fields: a mismatched confirmation does not hide
    # a bad username (the store checks them again, under the write lock, when creating the account).
    errors: list[FieldError] = []
    # The demo brings its own organisation, so "who are we?" is left aside when it is chosen.
    home = None if demo else home
    if home is not None:
        errors += org.check_home(home)
    elif not demo and not (org_name or "").strip():
        errors.append(AuthError("org_name", "required"))
    if not (full_name or "").strip():
        errors.append(FieldError("full_name", "required"))
    errors += users.username_problems(username)
    errors += users.password_problems(password, username, full_name)
    errors += _password_pair(password, confirm)
    if errors:
        raise ValidationError(errors)
    from lib import health

    if health.problem(path) is not None:
        # Setup only on a database `python -m lib init` made: opening a missing path here would create the file.
        raise ValidationError([AuthError("setup", "no_database")])
    with dbm.write(path) as db:
        # Checked inside the write lock, so two browsers finishing setup at once make one admin (PostgreSQL: the
        # second waits on this name, then finds the first's account).
        dbm.lock_name(db, "setup")
        if users.count_users(db):
            raise ValidationError([AuthError("setup", "setup_done")])
        users.create_user(db, SYSTEM, username, full_name, password, Role.ADMIN)
        if home is not None:
            # In the same transaction as the account: a refusal here leaves the database as it was.
            org.setup_home(db, SYSTEM, home)
        elif (org_name or "").strip() and org_name.strip() != settings.get_settings(db)["org_name"]:
            settings.save_settings(db, SYSTEM, {"org_name": org_name.strip()})
    if demo and demo_available():
        from lib import demo as demo_data

        # Data only: the demo accounts have passwords published in the README, and anyone who reached this
        # page could sign in with them. The administrator just created is the demo's administrator.
        demo_data.load(path, accounts=False)
    return username.strip().lower()


def change_own_password(db: Database, actor: Actor, current: str, new: str, confirm: str) -> None:
    """Change the acting user's own password after checking the current one."""
    user = users.get_user(db, actor.username)
    if user is None or not user["active"]:
        raise PermissionDenied("inactive")
    if len(current or "") > users.MAX_PASSWORD_CHARS or not users.check_password(current or "",
                                                                                 user["password_hash"]):
        raise ValidationError([AuthError("current_password", "wrong_password")])
    errors = _password_pair(new, confirm) + users.password_problems(new, actor.username, user["full_name"])
    if errors:
        raise ValidationError(errors)
    users.set_password(db, actor, actor.username, new)


# ---- the Streamlit session ---------------------------------------------------------------

def authenticator() -> stauth.Authenticate:
    """streamlit-authenticator's cookie manager with the database's cookie key (it writes and deletes the cookie)."""
    # No credentials: sign-in is lib.users.login's, and the library only signs the cookie with the key. Loading
    # every user's bcrypt hash on every run was work and a copy of the hashes in memory for nothing.
    with dbm.read() as db:
        key = settings.cookie_key(db)
    extra = {"login_sleep_time": 0} if testing() else {}
    return stauth.Authenticate({"usernames": {}}, COOKIE_NAME, key, COOKIE_DAYS, auto_hash=False, **extra)


def _ip(value: str | None) -> str | None:
    # A well-formed, non-loopback address, or None.
    try:
        ip = ipaddress.ip_address((value or "").strip()[:64])
    except ValueError:
        return None
    return None if ip.is_loopback else str(ip)


def client_address() -> str | None:
    """The browser's address for this run, None when it is this machine or unknown."""
    # Streamlit 1.67 runs on uvicorn, whose proxy-header middleware already replaces a loopback peer
    # (nginx on this machine) by the client named in X-Forwarded-For; st.context.ip_address is that
    # address, or None when the peer is loopback. Only then are nginx's headers read: a direct peer
    # elsewhere cannot choose the address it is counted under.
    direct = _ip(st.context.ip_address)
    if direct:
        return direct
    headers = st.context.headers
    forwarded = (headers.get("X-Forwarded-For") or "").split(",")
    return _ip(headers.get("X-Real-IP")) or _ip(forwarded[-1])


def _bind_client() -> str | None:
    # Every audit entry written during this run carries the address (lib/audit keeps it per thread).
    address = client_address()
    audit.set_client(address)
    return address


def _sign_in_session(user: dict) -> None:
    st.session_state[_AUTH_AT] = time.time()
    st.session_state.update(
        authentication_status=True,
        username=user["username"],
        name=user["full_name"],
        email=user["email"],
        roles=[user["role"]],
        logout=None,
    )


def restore() -> None:
    """Log the session in from a valid re-login cookie (the token streamlit-authenticator wrote), if any."""
    # Decoded here rather than through Authenticate.login(): that would render the cookie
    # component before st.navigation, and the component's first value reruns the app
    # before the browser knows which page was asked for, losing deep links.
    _bind_client()
    for key in (*_AUTH_KEYS, "logout"):
        # streamlit-authenticator set these to None when it was built on every run; now it is built rarely
        st.session_state.setdefault(key, None)
    if st.session_state.get("authentication_status") or st.session_state.get("logout"):
        return
    token = st.context.cookies.get(COOKIE_NAME)
    if not isinstance(token, str) or not token:
        return
    with dbm.read() as db:
        try:
            claims = jwt.decode(token, settings.cookie_key(db), algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return
        if not isinstance(claims.get("exp_date"), (int, float)) or claims["exp_date"] <= time.time():
            return
        user = users.get_user(db, str(claims.get("username")))
        void_before = users.sessions_void_before(db, user["username"]) if user else None
    # A cookie issued before the last password change, logout or deactivation no longer logs in.
    issued = claims["exp_date"] - COOKIE_DAYS * 86400
    if user is None or not user["active"] or (void_before is not None and void_before > issued):
        st.session_state[_DELETE_COOKIE] = True
        return
    _sign_in_session(user)


def sync_cookie(signed_in: bool) -> None:
    """Set or delete the re-login cookie as the last sign-in or sign-out asked (the cookie component drawn only then
    and on the login page)."""
    # The cookie manager is a component: an iframe to load in the browser, and its first value reruns the whole
    # app. A signed-in page never needs it (restore reads the cookie from the request), so it is drawn only on
    # the login page, where it is mounted before the sign-in asks it to write, and on a run that writes or
    # deletes the cookie.
    set_cookie = st.session_state.pop(_SET_COOKIE, False) and st.session_state.get("username")
    delete_cookie = st.session_state.pop(_DELETE_COOKIE, False)
    if signed_in and not set_cookie and not delete_cookie:
        return
    authn = authenticator()
    if set_cookie:
        authn.cookie_controller.set_cookie()
    if delete_cookie:
        authn.cookie_controller.delete_cookie()


def forget() -> None:
    """Clear the login from the session and ask for the cookie to be deleted."""
    for key in _AUTH_KEYS:
        st.session_state[key] = None
    st.session_state.pop(_AUTH_AT, None)
    st.session_state["logout"] = True
    st.session_state[_DELETE_COOKIE] = True


def sign_in(username: str, password: str) -> str:
    """Check a login ('ok', 'bad', 'locked', 'throttled', 'inactive'); on 'ok' the session is logged in."""
    outcome = users.login(None, username, password, _bind_client())
    if outcome == "ok":
        with dbm.read() as db:
            user = users.get_user(db, (username or "").strip().lower())
        _sign_in_session(user)
        st.session_state[_SET_COOKIE] = True
    return outcome


def lockout_end(username: str):
    """When the named account's login lock for this browser's address ends, or None."""
    with dbm.read() as db:
        return users.locked_until(db, (username or "")[:64].strip().lower(), client=client_address())


def throttle_end():
    """When the refusal of every login from this browser's address ends, or None."""
    with dbm.read() as db:
        return users.throttled_until(db, client_address())


def renew_session() -> None:
    """Keep this session (and issue a fresh re-login cookie) after the user changed their own password."""
    st.session_state[_AUTH_AT] = time.time()
    st.session_state[_SET_COOKIE] = True


def sign_out() -> None:
    """Log out: audit it, clear the session and delete the cookie on the next run."""
    username = st.session_state.get("username")
    _bind_client()
    if username:
        with dbm.write() as db:
            audit.record(db, username, "logout")
            users.revoke_sessions(db, username)
    forget()


def current_actor() -> Actor | None:
    """The logged-in user's Actor re-read from the database; logs out a deactivated user or an outdated session."""
    _bind_client()
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    if not username:
        return None
    began = st.session_state.setdefault(_AUTH_AT, time.time())
    with dbm.read() as db:
        who = users.actor_for(db, username)
        void_before = users.sessions_void_before(db, username)
    if who is None or (void_before is not None and void_before > began):
        forget()
        return None
    return who


def needs_setup(checked: bool = False) -> bool:
    """Whether the database is initialised and has no users yet (first run); a missing file is not a first run.

    checked=True: the caller has just found the file servable (ui.database_problem), so it is not checked again.
    """
    from lib import health

    # app.py checks the file once per run; checking it here again cost a second connection and write lock
    if not checked and health.problem() is not None:
        return False
    with dbm.read() as db:
        return users.count_users(db) == 0
