"""Streamlit helpers shared by app.py and the pages: session actor, guarded writes, messages, downloads."""

import contextvars
import copy
import dataclasses
import functools
import io
import json
import logging
import pickle
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from lib import config, exports, i18n
from lib import db as dbm
from lib.domain import (
    Actor,
    FieldError,
    PermissionDenied,
    ValidationError,
    fmt_date,
    period_display,
    roman,
    search_key,
)
from lib.i18n import t
from lib.nav import allowed

_log = logging.getLogger(__name__)


def actor() -> Actor | None:
    """The logged-in user's Actor (role and scope read from the database), or None."""
    from lib import auth

    return auth.current_actor()


def require_page(file: str) -> Actor:
    """Stop the page unless the current user's role may open it (checked again on every run)."""
    who = actor()
    if who is None or not allowed(who.role, file):
        st.error(t("perm.forbidden"))
        st.stop()
    return who


def read(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call fn(db, ...) on a connection opened for this one read."""
    with dbm.read() as db:
        return fn(db, *args, **kwargs)


# Keyed by the data version, a cached figure is valid until the data changes, whoever changed it (another
# session, the command line, an import): no clearing needed. The hour bounds what a change made without an
# audit entry (a database file restored under the app) can leave stale; max_entries bounds the memory that
# figures of older versions hold until they age out.
#
# Shared, not copied: every session gets the same objects (st.cache_resource). st.cache_data unpickled a fresh
# copy of each bundle at every run, for every session: 11 ms of the overview's run at 1,000,000 meetings, 21 ms of
# the report page's (bench/NOTES.md). So a figure is READ-ONLY for its callers: a page that needs to change one
# changes a copy (dict(row, ...), list(rows), a DataFrame built from them). tests/test_shared_figures.py runs
# every page and fails if any of them changed a figure it was given.
FIGURE_CACHE = {"ttl": 3600, "max_entries": 200, "show_spinner": False}


@st.cache_resource(**FIGURE_CACHE)
def _cached(path: str, version: int, fn_name: str, key: bytes, _fn: Callable, _args: tuple, _kwargs: dict) -> Any:
    # Streamlit cannot hash a function: it is passed unhashed (leading underscore)
    # and keyed by its qualified name instead; the arguments by their pickle (args_key).
    with dbm.read(path) as db:
        return _fn(db, *_args, **_kwargs)


def args_key(args: tuple, kwargs: dict) -> bytes:
    """A cached figure's arguments as one value for its key: their pickle (equal arguments, equal bytes)."""
    # Streamlit hashes each argument by walking it (a period, a filter set, their dates and tuples: 0.52 ms for the
    # overview's bundle) and looks up each positional argument's name with inspect.signature; one bytes value
    # passed by keyword is hashed in 0.05 ms. The arguments themselves go unhashed (leading underscore).
    return pickle.dumps((args, sorted(kwargs.items())), protocol=pickle.HIGHEST_PROTOCOL)


_RUN_VERSION = "_run_data_version"  # the data version read once in this script run (new_run, write forget it)


def data_version(fresh: bool = False) -> int:
    """The configured database's data version (lib.audit.data_version): one indexed look-up, once per run."""
    from lib import audit

    # Every figure of a run is keyed by the version: reading it once per run, not once per figure, spares a
    # connection each (18 on the overview), which twenty sessions opening the page together all wait for.
    memo = None if fresh else st.session_state.get(_RUN_VERSION)
    if memo is not None:
        return memo
    version = read(audit.data_version)
    st.session_state[_RUN_VERSION] = version
    return version


def new_run() -> None:
    """At the start of a script run: the data version is read again (another session may have written)."""
    st.session_state.pop(_RUN_VERSION, None)


def cached(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """A cached read for figures, shared by every session and computed again only when the data changed; the
    value returned is the shared one itself: read it, do not change it."""
    # The database path is part of the key, so two databases in one process
    # (tests, a demo beside the real file) never share cached figures.
    return _cached(path=str(config.db_path()), version=data_version(), fn_name=f"{fn.__module__}.{fn.__qualname__}",
                   key=args_key(args, kwargs), _fn=fn, _args=args, _kwargs=kwargs)


def _escaped(params: dict[str, Any]) -> dict[str, Any]:
    # Only the values come from users (a unit's name, a typed code); the sentence around them is ours.
    return {k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()}


def error_markdown(error: FieldError) -> str:
    """A refusal as Markdown: field and translated reason, the user's values in it escaped (no live links or images)."""
    safe = copy.copy(error)  # a copy, so subclasses (a numbered line, a setting) keep their own wording
    safe.params = _escaped(error.params)
    return str(safe)


def denied_markdown(exc: PermissionDenied) -> str:
    """A permission refusal as Markdown, the names in it escaped."""
    return t(f"perm.{exc.key}", **_escaped(exc.params))


def show_errors(errors: list[FieldError], key_prefix: str = "") -> None:
    """Show each refusal with its field, in the user's language."""
    for error in errors:
        st.error(error_markdown(error), icon=":material/error:")


def write(fn: Callable, *args: Any, success: str | None = None, own_transaction: bool = False, **kwargs: Any) -> Any:
    """Run fn(db, actor, ...) in one write transaction (own_transaction: on a connection where fn opens its own,
    for a long task that must not hold the write lock throughout); show refusals as messages."""
    who = actor()
    if who is None:
        st.error(t("perm.forbidden"))
        return None
    try:
        with (dbm.read() if own_transaction else dbm.write()) as db:
            result = fn(db, who, *args, **kwargs)
    except ValidationError as exc:
        show_errors(exc.errors)
        return None
    except PermissionDenied as exc:
        st.error(denied_markdown(exc), icon=":material/block:")
        return None
    # no cache to clear: the write's audit entry gives the data a new version, and cached figures follow it
    new_run()
    if success:
        st.toast(success, icon=":material/check_circle:")
    return result if result is not None else True


def plain(text: Any) -> None:
    """Show user-entered text as plain text, never as Markdown or HTML."""
    st.text("" if text is None else str(text))


def to_xlsx(df: pd.DataFrame, sheet: str = "Data") -> bytes:
    """A DataFrame as an XLSX workbook with frozen header and filters; text stays text, never a formula."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet[:31])
        ws = xw.sheets[sheet[:31]]
        exports.text_cells(ws)
        ws.freeze_panes = "A2"
        if len(df.columns):
            ws.auto_filter.ref = ws.dimensions
    return buf.getvalue()


def to_csv(df: pd.DataFrame) -> bytes:
    """A DataFrame as a UTF-8 CSV with BOM (Excel reads the accents); text that would start a formula is quoted."""
    # CRLF line ends: then a field holding a lone CR or LF is quoted too (csv quotes the terminator's characters)
    return exports.safe_frame(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def downloads(df: pd.DataFrame, name: str, key: str) -> None:
    """CSV and XLSX download buttons for a table, each file built only when its button is clicked."""
    # Building an XLSX for every table on every run (and every live refresh) was most of a page's time;
    # a callable is run by Streamlit when the person clicks, and a click needs no rerun of the page.
    # One row of its own (a flex row), not two columns: one layout block for the browser to draw instead of three,
    # and each layout block is drawn again at every change of the page while it loads (bench/NOTES.md).
    row = st.container(horizontal=True, gap="small")
    row.download_button(t("ui.download_csv"), lambda: to_csv(df), f"{name}.csv", "text/csv", key=f"{key}_csv",
                        on_click="ignore")
    row.download_button(t("ui.download_xlsx"), lambda: to_xlsx(df), f"{name}.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                        on_click="ignore")


def set_language_from_session() -> str:
    """Apply the session's language (default Vietnamese) to this run."""
    lang = st.session_state.get("lang", i18n.DEFAULT_LANGUAGE)
    i18n.set_language(lang)
    return lang


# ---- the user's language and period, kept across reloads and logins (issue 16 item 8) -------------------------

_PREFS_FOR = "prefs_for"  # whose stored preferences this session has applied
_LANG_CHOSEN = "lang_chosen"  # the language was picked in this session (before logging in, say): it wins
PREF_PERIOD = "pref_period"  # the dashboard period this session opened with (the user's stored one)


def save_prefs(**prefs: str) -> None:
    """Store the logged-in user's language and/or period; a failure costs the preference only, never the page."""
    from lib import users

    who = actor()
    if who is None:
        return
    try:
        with dbm.write() as db:
            users.save_prefs(db, who, **prefs)
    except sqlite3.DatabaseError:
        _log.warning("could not store the preferences of %s", who.username, exc_info=True)


def restore_prefs(who: Actor | None) -> None:
    """Once per login in a session, apply the user's stored language and period (a link's ?ky= still wins)."""
    from lib import users

    if who is None or st.session_state.get(_PREFS_FOR) == who.username:
        return
    prefs = read(users.get_prefs, who.username)
    st.session_state[_PREFS_FOR] = who.username
    st.session_state[PREF_PERIOD] = prefs["period"]
    if st.session_state.get(_LANG_CHOSEN) or not prefs["lang"]:
        save_prefs(lang=st.session_state.get("lang", i18n.DEFAULT_LANGUAGE))
    else:
        st.session_state["lang"] = prefs["lang"]
        i18n.set_language(prefs["lang"])


def language_chosen() -> None:
    """The language switch's callback: the choice is this session's, and the user's from now on."""
    st.session_state[_LANG_CHOSEN] = True
    i18n.set_language(st.session_state.get("lang", i18n.DEFAULT_LANGUAGE))
    save_prefs(lang=st.session_state.get("lang", i18n.DEFAULT_LANGUAGE))


def _remember_period(period: str, default: str) -> None:
    # Stored only when it differs from what the session opened with: a user who never picked one keeps
    # following the last complete quarter, rather than being held to the quarter of their first visit.
    if period != (st.session_state.get(PREF_PERIOD) or default) and st.session_state.get(_PREFS_FOR):
        st.session_state[PREF_PERIOD] = period
        save_prefs(period=period)


@st.cache_resource(show_spinner=False)
def _migrate(path: str) -> str:
    return str(dbm.init(path))


def database_problem() -> str | None:
    """Why the configured database cannot be served, or None once it is checked (and migrated once per process).

    The app never creates the file: `python -m lib init` does (make run, the systemd unit and install.sh run it
    first). A missing file therefore shows a clear page, never the first-run setup form.
    """
    from lib import health

    path = config.db_path()
    problem = health.problem(path)
    if problem is None:
        try:
            _migrate(str(path))  # an initialised file only: upgrades apply pending migrations
        except sqlite3.DatabaseError as exc:
            return health.explain(exc)
    return problem


DATABASE_PATH = "co-so-du-lieu"  # the one page served while the database cannot be opened


def database_page(message: str) -> None:
    """Serve only the page saying why the database cannot be used (at every address), then stop this run."""

    def unavailable() -> None:
        st.title(t("app.title"))
        st.error(message, icon=":material/error:")

    # st.navigation is still called: without it Streamlit would list the pages/ folder itself.
    st.navigation([st.Page(unavailable, title=t("db.title"), url_path=DATABASE_PATH, default=True)],
                  position="hidden").run()
    st.stop()


def database_error(exc: sqlite3.DatabaseError) -> None:
    """Show a database error met while a page ran as the clear sentence (logged in full), not a traceback."""
    from lib import health

    _log.error("database error while serving a page: %s", exc, exc_info=exc)
    st.error(health.explain(exc), icon=":material/error:")


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|~<>$:=")


def md_escape(text: Any) -> str:
    """User-entered text made safe to place inside Markdown (every special character escaped)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in ("" if text is None else str(text)))


def fmt_datetime(value: Any) -> str:
    """A timestamp as dd/mm/yyyy HH:MM for display ('' when blank)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y %H:%M")


# ---- data-entry widgets (record, records, directory, assignments, weaknesses, import pages) ----

_DATE_RANGE = {"min_value": date(1975, 1, 1), "max_value": date(2100, 12, 31)}


def init_state(prefix: str, values: dict[str, Any], force: bool = False) -> None:
    """Seed widget values as session keys prefix+name (existing ones kept unless force)."""
    for name, value in values.items():
        if force or prefix + name not in st.session_state:
            st.session_state[prefix + name] = value


def clear_state(prefix: str, keep: tuple[str, ...] = ()) -> None:
    """Forget the session keys under prefix (except prefix+keep) so those widgets start afresh."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        if key[len(prefix):] not in keep:
            del st.session_state[key]


def needs_load(prefix: str, token: Any, names: tuple[str, ...]) -> bool:
    """Whether a form must be (re)filled: another record was picked, or its widgets were dropped by a page change."""
    return st.session_state.get(prefix + "for") != token or any(prefix + n not in st.session_state for n in names)


def field_input(prefix: str, name: str, kind: Any, *, label: str | None = None, where: Any = None,
                **kwargs: Any) -> Any:
    """One input keyed prefix+name: kind 'str', 'text', 'int', 'date', 'bool', an enum or a {value: label} dict."""
    where = where or st
    key = prefix + name
    label = label or t(f"field.{name}")
    fresh = key not in st.session_state
    # No min/max on numbers: an out-of-range value must reach lib/ and come back as a field-named
    # message, not be silently replaced by the widget.
    if kind == "int":
        return where.number_input(label, key=key, step=1, **({"value": None} if fresh else {}), **kwargs)
    if kind == "date":
        return where.date_input(label, key=key, format="DD/MM/YYYY", **({"value": None} if fresh else {}),
                                **{**_DATE_RANGE, **kwargs})
    if kind == "bool":
        return where.checkbox(label, key=key, **kwargs)
    if kind == "str":
        return where.text_input(label, key=key, **kwargs)
    if kind == "text":
        return where.text_area(label, key=key, height=90, **kwargs)
    choices = kind if isinstance(kind, dict) else kind.labels()
    if not fresh and st.session_state[key] not in choices:
        del st.session_state[key]  # the choices changed under it (e.g. another commune was picked)
    if None in choices:
        kwargs.setdefault("placeholder", choices[None])  # a None value shows as the placeholder
    return where.selectbox(label, list(choices), key=key, format_func=lambda v: choices.get(v, ""), **kwargs)


def fields(prefix: str, spec: dict[str, Any], columns: int = 2) -> dict[str, Any]:
    """Inputs for every field of spec laid out in columns; returns {name: value}."""
    cols = st.columns(columns)
    return {name: field_input(prefix, name, kind, where=cols[i % columns]) for i, (name, kind) in
            enumerate(spec.items())}


def optional(choices: dict[Any, str], none_label: str | None = None) -> dict[Any, str]:
    """Choices with a leading 'none' entry (value None)."""
    return {None: none_label or t("page.record.none"), **choices}


def meeting_form(prefix: str, who: Actor, *, own_id: int | None = None,
                 keep_unit: int | None = None) -> tuple[dict, list[dict]] | None:
    """The meeting fields with live checks (counts, rating, warnings, duplicate); returns (raw, leaders)."""
    from lib import forms
    from lib.domain import MeetingType, Rating

    today = date.today()
    init_state(prefix, forms.MEETING_DEFAULTS)
    units = read(forms.units_in_scope, who)
    if keep_unit is not None and keep_unit not in {u["id"] for u in units}:
        from lib import directory

        units += [u for u in read(directory.list_units) if u["id"] == keep_unit]
    if not units:
        # The administrator is the Organisation Board: tell them what to set up, not whom to contact.
        first_steps() if who.is_admin else st.info(t("page.record.no_units"))
        return None
    iso = today.isoformat()
    shown = renamed()[0]
    names = {u["id"]: shown.get(u["code"]) or u["name"] + (t("page.record.ended", day=fmt_date(u["valid_to"]))
                                                            if u["valid_to"] and u["valid_to"] < iso else "")
             for u in units}
    c1, c2 = st.columns(2)
    unit_id = field_input(prefix, "unit", names, label=t("field.unit_id"), where=c1)
    cells = read(forms.cells_for_entry, unit_id, today)
    if not cells:
        c2.warning(t("page.record.no_cells"))
        if who.is_admin:
            first_steps()
        return None
    cell_names = {c["id"]: c["name"] + (t("page.record.ended", day=fmt_date(c["valid_to"]))
                                        if c["valid_to"] and c["valid_to"] < iso else "") for c in cells}
    cell_id = field_input(prefix, "cell", cell_names, label=t("field.cell_id"), where=c2)
    cell = next(c for c in cells if c["id"] == cell_id)
    # Streamlit drops widget values when the user visits another page: then the default is set again too.
    if st.session_state.get(prefix + "date_for") != cell_id or prefix + "held_on" not in st.session_state:
        done = read(forms.existing_regular, cell_id, forms.previous_month_day(today)) is not None
        st.session_state[prefix + "held_on"] = forms.default_held_on(cell["meeting_day"], today, done)
        st.session_state[prefix + "date_for"] = cell_id
    c3, c4 = st.columns(2)
    held_on = field_input(prefix, "held_on", "date", where=c3,
                          help=t("page.record.fixed_day", day=cell["meeting_day"]) if cell["meeting_day"] else None)
    mtype = field_input(prefix, "mtype", MeetingType, where=c4)

    st.subheader(t("page.record.members"), divider="gray")
    names = ("members_total", "members_exempt", "present", "absent_excused", "absent_unexcused")
    # marks: a cell with members on the day lists them (attendance_section); the counts then come from the marks
    roster = read(forms.roster_for_entry, who, cell_id, held_on)
    marks_mode = _by_member(prefix, roster)
    if marks_mode:
        counts = attendance_section(prefix, roster, cell_id, held_on)
    else:
        cols = st.columns(5)
        counts = {n: field_input(prefix, n, "int", where=col) for n, col in zip(names, cols, strict=True)}
    check = forms.count_check(*counts.values())
    if check.required is not None and not marks_mode:
        st.caption(t("page.record.required_line", required=check.required, total=counts["members_total"],
                     exempt=counts["members_exempt"] or 0))
    if marks_mode:
        # the counts come from the marks, so they always add up: the rate is what the clerk wants to see
        rate = forms.attendance_rate(counts["present"], check.required)
        st.success(t("page.record.marks_rate", present=counts["present"], required=check.required,
                     rate=f"{rate:.0%}" if rate is not None else "—"), icon=":material/check:")
    elif not check.complete:
        st.info(t("page.record.count_incomplete"), icon=":material/calculate:")
    elif check.ok:
        rate = forms.attendance_rate(counts["present"], check.required)
        st.success(t("page.record.count_ok", given=check.given, required=check.required,
                     rate=f"{rate:.0%}" if rate is not None else "—"), icon=":material/check:")
    else:
        st.warning(t("page.record.count_bad", given=check.given, required=check.required),
                   icon=":material/warning:")

    st.subheader(t("page.record.quality"), divider="gray")
    c5, c6, c7 = st.columns(3)
    duration = field_input(prefix, "duration_minutes", "int", where=c5, placeholder="120")
    score = field_input(prefix, "score", "int", where=c6, placeholder="0–100", help=t("page.record.score_help"))
    rating = field_input(prefix, "rating", optional(Rating.labels(), t("page.record.rating_auto")), where=c7)
    expected = read(forms.expected_rating, score)
    if expected:
        c6.caption(t("page.record.score_gives", rating=expected))
    c8, c9, c10 = st.columns(3)
    flags = {n: field_input(prefix, n, "bool", where=col)
             for n, col in zip(("leadership", "education", "combativeness"), (c8, c9, c10), strict=True)}
    topics = field_input(prefix, "topics", "text")
    notes = field_input(prefix, "notes", "text")

    st.subheader(t("page.record.leaders"), divider="gray")
    chosen_before = st.session_state.get(prefix + "leaders") or []
    # Those assigned to the cell or the commune on the meeting's day first; no "select all" (one click once
    # added 29 leaders to a hamlet meeting), and a warning above a plausible number (live_warnings).
    leaders = read(forms.leaders_for_unit, unit_id, chosen_before, held_on or today, cell_id)
    labels = {r["id"]: r["full_name"] + (f" — {r['position']}" if r["position"] else "")
              + (t("page.record.assigned_mark") if r["assigned"] else "") for r in leaders}
    st.session_state[prefix + "leaders"] = [i for i in chosen_before if i in labels]
    chosen = st.multiselect(t("field.leaders_present"), list(labels), format_func=labels.get,
                            key=prefix + "leaders", help=t("page.record.leaders_help"),
                            placeholder=t("page.record.leaders_placeholder"), select_all=False)
    reports = {}
    for lid in chosen:
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        left.text(labels[lid])
        reports[lid] = field_input(prefix, f"report_{lid}", "date", label=t("field.report_submitted_on"),
                                   where=right)

    raw = {"cell_id": cell_id, "held_on": held_on, "mtype": mtype, **counts, "duration_minutes": duration,
           "score": score, "rating": rating, **flags, "topics": topics, "notes": notes}
    if marks_mode:
        # lib derives the counts from the marks (and checks them again); the form's derived counts are shown only
        raw.update(dict.fromkeys(names))
    for warning in read(forms.live_warnings, {**raw, **counts}, cell["meeting_day"], chosen):
        st.warning(str(warning), icon=":material/info:")
    if mtype == MeetingType.THUONG_KY:
        dup = read(forms.existing_regular, cell_id, held_on, own_id)
        if dup:
            # A notice before saving (the save itself is refused with an error naming the field).
            st.warning(t("page.record.duplicate", id=dup, month=held_on.strftime("%m/%Y")), icon=":material/block:")
            st.page_link("pages/records.py", label=t("page.record.open_existing", id=dup),
                         icon=":material/open_in_new:", query_params={"id": str(dup)})
    raw["checklist"] = checklist_section(prefix, who, raw, cell, own_id)
    return raw, forms.leaders_payload(chosen, reports)


def _by_member(prefix: str, roster: list[dict]) -> bool:
    """Whether the meeting form takes attendance by member: the cell has members that day and, when editing a
    meeting recorded by counts, the clerk chose to mark it by member. Sets what form_marks() returns."""
    loaded = st.session_state.get(prefix + "marks_loaded")
    st.session_state[prefix + "marks_out"] = None
    st.session_state[prefix + "marks_clear"] = False
    if not roster:
        # a marked meeting moved to a day or cell without members: lib refuses unless the marks are removed
        st.session_state[prefix + "marks_clear"] = bool(loaded) and st.session_state.get(prefix + "by_member") is False
        return False
    if prefix + "by_member" not in st.session_state:
        # a new meeting: by member; an existing one: as it was recorded
        st.session_state[prefix + "by_member"] = prefix + "for" not in st.session_state or bool(loaded)
    on = st.toggle(t("page.record.by_member"), key=prefix + "by_member",
                   help=t("page.record.by_member_help", count=len(roster)))
    if not on and loaded:
        st.warning(t("page.record.marks_will_go"), icon=":material/warning:")
        st.session_state[prefix + "marks_clear"] = True
    return on


def attendance_section(prefix: str, roster: list[dict], cell_id: int, held_on: date) -> dict[str, int]:
    """The attendance list of the meeting form: everyone present by default, the clerk marks who was absent
    (with or without reason, and the reason); exempt members apart. Returns the counts derived from the marks."""
    from lib import forms, meetings

    loaded = st.session_state.get(prefix + "marks_loaded")
    rows = forms.marks_rows(roster, loaded)
    exempt = [r for r in roster if r["exempt"]]
    st.caption(t("page.record.marks_intro", count=len(rows)))
    labels = [t(f"page.record.mark_{s}") for s in forms.MARK_CHOICES]
    frame = pd.DataFrame(rows, columns=["member_id", "full_name", "code", "status", "reason"])
    # One editor per cell and day: its edits belong to that list of members.
    edited = st.data_editor(
        frame, key=f"{prefix}marks_{cell_id}_{held_on}", hide_index=True, num_rows="fixed",
        column_order=("full_name", "code", "status", "reason"), disabled=("full_name", "code"),
        height=min(38 + 35 * max(len(rows), 1), 38 + 35 * 25), width="stretch",
        column_config={
            "full_name": st.column_config.TextColumn(t("field.full_name"), width="medium"),
            "code": st.column_config.TextColumn(t("field.member_code"), width="small"),
            "status": st.column_config.SelectboxColumn(t("page.record.mark"), options=labels, required=True,
                                                       width="medium", help=t("page.record.mark_help")),
            "reason": st.column_config.TextColumn(t("page.record.mark_reason"), max_chars=meetings.REASON_MAX,
                                                  width="large", help=t("page.record.mark_reason_help")),
        })
    came: list[int] = []
    if exempt:
        with st.container(border=True, key=prefix + "exempt_box"):
            st.caption(t("page.record.exempt_apart", count=len(exempt)))
            names = {r["id"]: f"{r['full_name']} ({r['code']})" for r in exempt}
            if prefix + "came" not in st.session_state:
                st.session_state[prefix + "came"] = [m["member_id"] for m in loaded or ()
                                                     if m["member_id"] in names and m["status"] == "present"]
            st.session_state[prefix + "came"] = [i for i in st.session_state[prefix + "came"] if i in names]
            came = st.multiselect(t("page.record.exempt_came"), list(names), format_func=names.get,
                                  key=prefix + "came", placeholder=t("page.record.exempt_came_none"), select_all=False)
    marks = forms.marks_payload(edited.to_dict("records"), [r["id"] for r in exempt], came)
    st.session_state[prefix + "marks_out"] = marks
    counts = meetings.derive_counts(roster, {m["member_id"]: m["status"] for m in marks})
    st.markdown(t("page.record.derived", **counts))
    if any(m["status"] == "excused" and not m["reason"] for m in marks):
        st.caption(t("page.record.reason_missing"))
    return counts


def meeting_marks(m: dict) -> None:
    """A meeting's attendance by member on its detail: who was absent, with or without reason, and why."""
    if m.get("marks_hidden"):
        st.caption(t("page.records.marks_hidden"))
        return
    marks = m.get("marks")
    if not marks:
        return
    absent = [x for x in marks if x["status"] in ("excused", "unexcused")]
    st.markdown(f"**{t('page.records.marks_title')}**")
    st.caption(t("page.records.marks_summary", present=m["present"], excused=m["absent_excused"],
                 unexcused=m["absent_unexcused"], exempt=m["members_exempt"], total=m["members_total"]))
    if not absent:
        st.text(t("page.records.marks_none_absent"))
    rows = [{"full_name": x["full_name"], "code": x["member_code"],
             "status": t(f"page.record.mark_{x['status']}"), "reason": x["reason"] or ""} for x in absent]
    if rows:
        # names and reasons as plain table cells (never Markdown)
        st.dataframe(pd.DataFrame(rows).rename(columns={
            "full_name": t("field.full_name"), "code": t("field.member_code"), "status": t("page.record.mark"),
            "reason": t("page.record.mark_reason")}), hide_index=True, key="recs_marks_table")


def form_marks(prefix: str) -> dict[str, Any]:
    """What the meeting form (prefix) gives lib about marks: {"marks": list or None, "clear_marks": bool}."""
    return {"marks": st.session_state.get(prefix + "marks_out"),
            "clear_marks": bool(st.session_state.get(prefix + "marks_clear"))}


def first_steps() -> None:
    """The setup checklist of an install without units or cells: each step, done or not, with its page."""
    from lib import forms

    with st.container(border=True, key="first_steps"):
        st.markdown(f"**{t('page.first_steps.title')}**")
        st.caption(t("page.first_steps.intro"))
        for step in read(forms.first_steps):
            icon = ":material/check_circle:" if step.done else ":material/radio_button_unchecked:"
            st.page_link(step.page, label=t(f"page.first_steps.{step.key}"), icon=icon)


def linked_record(state_key: str, name: str = "id") -> None:
    """Open the record a link names (?id=...) once, as its raw text in session_state[state_key]."""
    # The text is not trusted here: lib parses it (lib.store.parse_id) and answers "not found" for anything
    # but a valid id ("abc", "-1", "1e9", 9223372036854775808).
    linked = st.query_params.get(name)
    seen = state_key + "_linked"
    if linked is not None and st.session_state.get(seen) != linked:
        st.session_state[seen] = linked
        st.session_state[state_key] = linked


def open_record(fn: Callable, who: Actor, row_id: Any, *args: Any) -> Any:
    """fn(db, who, row_id, ...): a record to view or edit; a refusal (not found, out of scope) is shown, then stop."""
    try:
        return read(fn, who, row_id, *args)
    except ValidationError as exc:
        show_errors(exc.errors)
    except PermissionDenied as exc:
        st.error(exc.message, icon=":material/block:")
    st.stop()


def stale_form(prefix: str, notice: FieldError | None) -> None:
    """If the record changed since its form (prefix) was loaded, say who changed it and when, with a reload button."""
    if notice is None:
        return
    st.warning(error_markdown(notice), icon=":material/sync_problem:")
    if st.button(t("page.records.reload"), key=prefix + "reload", icon=":material/refresh:"):
        st.session_state.pop(prefix + "for", None)
        st.rerun()


def checklist_section(prefix: str, who: Actor, raw: dict[str, Any], cell: dict[str, Any],
                      own_id: int | None) -> dict[str, Any] | None:
    """The 12-HD / 42-HD checklist of the meeting form with the proposed rating, live, beside the clerk's rating.

    Returns the checklist to save with the meeting, or None when the clerk does not assess the meeting by it.
    """
    from lib import checklist, forms
    from lib.domain import Rating

    keys = prefix + "cl_"
    # Editing loads the stored checklist once per record; the records page clears the form's keys (these too)
    # when another record is opened or the saved one is loaded again.
    if own_id is not None and st.session_state.get(keys + "for") != own_id:
        stored = read(checklist.read, who, own_id) or {}
        init_state(keys, {"on": bool(stored), **{n: bool(stored.get(n)) for n in checklist.ITEMS},
                          "speakers": stored.get("speakers"), "documents": stored.get("documents") or "",
                          "for": own_id}, force=True)
    st.subheader(t("checklist.title"), divider="gray")
    if not field_input(keys, "on", "bool", label=t("checklist.enabled"), help=t("checklist.enabled_help")):
        return None
    version = checklist.version_on(raw.get("held_on"))
    if version is not None:
        st.caption(t("checklist.version", code=version.code, day=fmt_date(version.valid_from)))
        content = checklist.content_for(version, cell.get("cell_type"))
        if content:
            st.caption(t("checklist.content_for", content=content))
    cols = st.columns(2)
    values: dict[str, Any] = {name: field_input(keys, name, "bool", where=cols[i % 2])
                              for i, name in enumerate(checklist.ITEMS)}
    values["speakers"] = field_input(keys, "speakers", "int", where=cols[0])
    values["documents"] = field_input(keys, "documents", "text", help=t("checklist.documents_help"))
    clean, errors = checklist.check(values, raw)
    show_errors(errors)
    counted = raw.get("members_total") is not None and raw.get("present") is not None
    proposal = read(checklist.propose, raw, clean) if counted else checklist.Proposal(None, None)
    final = Rating(raw["rating"]).label if raw.get("rating") else None
    if final is None:
        by_score = read(forms.expected_rating, raw.get("score"))
        final = t("checklist.final_auto", rating=by_score) if by_score else t("checklist.final_none")
    left, right = st.columns(2)
    left.metric(t("checklist.proposed"), proposal.rating.label if proposal.rating else t("checklist.none"))
    right.metric(t("checklist.final"), final)
    if proposal.rating is not None and raw.get("rating") and raw["rating"] != proposal.rating:
        st.info(t("checklist.differs"), icon=":material/compare_arrows:")
    if proposal.reasons:
        st.markdown("\n".join([t("checklist.reasons")] + [f"- {md_escape(r.text)}" for r in proposal.reasons]))
    elif proposal.rating is not None:
        st.success(t("checklist.all_met"), icon=":material/check:")
    else:
        st.caption(t("page.record.count_incomplete"))
    return values


# ---- dashboards: shared filters kept in the URL, cached figures, live refresh, charts and tables ----

# URL parameter for each shared filter, so a view can be bookmarked or sent.
# "to_chuc": the node in view (drill-down), its children the rows; "don_vi" was already the units filter.
DASH_URL = {"period": "ky", "units": "don_vi", "cell_types": "loai_chi_bo", "mtypes": "loai_sh", "rollup": "gop",
            "node": "to_chuc"}
DASH_KINDS = ("year", "quarter", "month")
_DASH = "dash_filters"
_DASH_SENT = "dash_url_sent"


def _dash_defaults(today: date) -> dict[str, Any]:
    from lib import metrics

    # the user's last period, else the last complete quarter: a quarter in progress would read its months not
    # yet due as weak figures
    period = metrics.last_complete("quarter", today).label
    try:
        period = metrics.parse_period(st.session_state.get(PREF_PERIOD) or period).label
    except ValueError:
        pass
    return {"period": period, "units": [], "cell_types": [], "mtypes": [], "rollup": False, "node": None}


def _dash_from_url(defaults: dict[str, Any]) -> dict[str, Any] | None:
    """The filters written in the URL, or None when it holds none."""
    from lib import metrics
    from lib.domain import CellType, MeetingType

    qp = st.query_params
    if not any(name in qp for name in DASH_URL.values()):
        return None

    def codes(name: str, allowed: Any = None) -> list[str]:
        values = [v.strip() for v in qp.get(DASH_URL[name], "").split(",") if v.strip()]
        return [v for v in values if allowed is None or v in allowed]

    values = dict(defaults)
    try:
        values["period"] = metrics.parse_period(qp.get(DASH_URL["period"], defaults["period"])).label
    except ValueError:
        pass
    values["units"] = codes("units")
    values["cell_types"] = codes("cell_types", set(CellType))
    values["mtypes"] = codes("mtypes", set(MeetingType))
    values["rollup"] = qp.get(DASH_URL["rollup"]) == "1"
    # a code, checked against the tree and the user's scope by lib.org.node_view (never trusted here)
    values["node"] = (qp.get(DASH_URL["node"]) or "").strip()[:100] or None
    return values


def _dash_to_url(values: dict[str, Any]) -> None:
    wanted = {DASH_URL["period"]: values["period"], DASH_URL["units"]: ",".join(values["units"]),
              DASH_URL["cell_types"]: ",".join(values["cell_types"]), DASH_URL["mtypes"]: ",".join(values["mtypes"]),
              DASH_URL["rollup"]: "1" if values["rollup"] else "", DASH_URL["node"]: values.get("node") or ""}
    for name, value in wanted.items():
        if value and st.query_params.get(name) != value:
            st.query_params[name] = value
        elif not value and name in st.query_params:
            del st.query_params[name]
    st.session_state[_DASH_SENT] = values


_DASH_WIDGETS = "dash_widgets"


def _widget_values(values: dict[str, Any]) -> dict[str, Any]:
    from lib import metrics

    period = metrics.parse_period(values["period"])
    year, month = period.months[0]
    return {"dash_kind": period.kind, "dash_year": year, "dash_quarter": (month - 1) // 3 + 1, "dash_month": month,
            "dash_units": list(values["units"]), "dash_cell_types": list(values["cell_types"]),
            "dash_mtypes": list(values["mtypes"]), "dash_rollup": bool(values["rollup"]),
            "dash_node": values.get("node")}


def _remember(key: str) -> None:
    # Widget state does not follow the user to another page; this copy does.
    value = st.session_state[key]
    if value is not None:
        st.session_state[_DASH_WIDGETS][key] = value


def _dash_label(kind: str, year: int, quarter: int, month: int) -> str:
    if kind == "quarter":
        return f"{year}-Q{quarter}"
    if kind == "month":
        return f"{year}-{month:02d}"
    return str(year)


def _scope_label(values: dict[str, Any]) -> str:
    """The scope button's text: what the scope filters hold, or "all" when none is set."""
    parts = [t(f"dash.filter.n_{name}", n=len(values[name])) for name in ("units", "cell_types", "mtypes")
             if values[name]]
    if values["rollup"]:
        parts.append(t("dash.filter.rolled_up"))
    return t("dash.filter.scope", scope=", ".join(parts) if parts else t("dash.filter.scope_all"))


def dashboard_filters(show: bool = True) -> tuple[Any, Any]:
    """The shared filters (period, communes, cell and meeting types, rollup, the node in view) at the top of a
    dashboard, kept in the URL, narrowed to the user's scope, with the breadcrumbs and the drill-down to the node's
    children; show=False applies them without drawing anything (presentation mode)."""
    from lib import metrics, org
    from lib.domain import CellType, MeetingType

    remembered = st.session_state.get(_DASH_WIDGETS)
    from_url = _dash_from_url(st.session_state.get(_DASH) or _dash_defaults(date.today()))
    # A URL that differs from what this session last wrote was pasted or bookmarked: it wins.
    if remembered is None or (from_url is not None and from_url != st.session_state.get(_DASH_SENT)):
        remembered = _widget_values(from_url or _dash_defaults(date.today()))
        st.session_state[_DASH_WIDGETS] = remembered
    remembered.setdefault("dash_node", None)

    who = actor()
    every = read(org.visible_units, who)
    shown = unit_names(every)
    # a same-named unit's label already says it is the old one (until its last day)
    units = {u["code"]: shown[u["code"]] + (t("dash.merged_mark") if u["successor_code"] and shown[u["code"]]
                                            == u["name"] else "") for u in every}
    outside = [c for c in remembered["dash_units"] if c not in units]
    remembered["dash_units"] = [c for c in remembered["dash_units"] if c in units]
    view = _node_in_view(who, remembered, outside, show)
    if show:
        values = _dash_widgets(remembered, units, CellType, MeetingType)
    else:
        values = {"period": _dash_label(remembered["dash_kind"], remembered["dash_year"], remembered["dash_quarter"],
                                        remembered["dash_month"]),
                  "units": list(remembered["dash_units"]), "cell_types": list(remembered["dash_cell_types"]),
                  "mtypes": list(remembered["dash_mtypes"]), "rollup": bool(remembered["dash_rollup"])}
    values["node"] = remembered["dash_node"]
    st.session_state[_DASH] = values
    _dash_to_url(values)
    _remember_period(values["period"], metrics.last_complete("quarter", date.today()).label)
    dashboard_style()
    filters = metrics.Filters(unit_codes=tuple(values["units"]), cell_types=tuple(values["cell_types"]),
                              mtypes=tuple(values["mtypes"]), rollup=values["rollup"], node=values["node"])
    # lib narrows a clerk's figures to their subtrees (and opens at their own node); checked again on every run
    filters = read(org.scoped_filters, who, filters)
    st.session_state[_VIEW] = view
    if show:
        _breadcrumbs(view)
    return metrics.parse_period(values["period"]), filters


_VIEW = "dash_view"
# Widgets of the pages that name a child or a cell of the node in view: a drill up or down empties them.
DRILL_RESETS = ("att_unit", "att_last_pick", "att_cell_pick", "dash_drill")


def _node_in_view(who: Actor, remembered: dict[str, Any], outside: list[str], show: bool) -> Any:
    """The node in view (lib.org.node_view); a code unknown, outside the tree or outside the user's scope is
    refused with a message and the user's own opening view is shown instead."""
    from lib import org

    if outside:
        st.warning(t("drill.units_dropped", units=", ".join(md_escape(c) for c in outside)), icon=":material/block:")
    try:
        return read(org.node_view, who, remembered["dash_node"])
    except ValidationError as exc:
        if show:
            show_errors(exc.errors)
    except PermissionDenied as exc:
        if show:
            st.error(denied_markdown(exc), icon=":material/block:")
    remembered["dash_node"] = None
    return read(org.node_view, who, None)


def node_in_view() -> Any:
    """The node the dashboard shows (lib.org.NodeView of the last dashboard_filters): its children are the rows."""
    return st.session_state.get(_VIEW)


def drillable() -> bool:
    """Whether the node in view has child units to drill down to (its table rows can be clicked)."""
    view = node_in_view()
    return view is not None and bool(view.children)


def drill_to(code: str | None) -> None:
    """Show another node (None: the user's opening node); the period and the other filters keep."""
    remembered = st.session_state.get(_DASH_WIDGETS)
    if remembered is None:
        return
    remembered["dash_node"] = code
    for key in DRILL_RESETS:
        st.session_state.pop(key, None)


def _drill_picked() -> None:
    code = st.session_state.get("dash_drill")
    if code:
        drill_to(code)


def _breadcrumbs(view: Any) -> None:
    # The trail from the user's opening node down to the node in view, each step a way back up; then the node's
    # children to go one level down (each table row of a child does the same).
    if view is None or not view.trail:
        return
    bar = st.container(horizontal=True, vertical_alignment="center", gap="small", key="dash_trail")
    last = len(view.trail) - 1
    for i, (code, name) in enumerate(view.trail):
        label = name or t("drill.all")
        if i == last:
            bar.markdown(f"**{md_escape(label)}**")
        else:
            # a button's label is Markdown: a unit's name is shown as it is
            bar.button(md_escape(label), key=f"dash_trail_{i}", type="tertiary", on_click=drill_to,
                       args=(None if i == 0 else code,), icon=":material/arrow_upward:" if i == last - 1 else None)
            bar.markdown("›")
    if view.children:
        names = dict(view.children)
        bar.selectbox(t("drill.pick_child"), [None, *names], key="dash_drill", on_change=_drill_picked,
                      format_func=lambda c: names[c] if c else t("drill.pick_none"), label_visibility="collapsed",
                      width=320)
    elif view.cells:
        bar.caption(t("drill.cells_here", n=fmt_num(view.cells)))


def _dash_widgets(remembered: dict[str, Any], units: dict[str, str], cell_type: Any, meeting_type: Any
                  ) -> dict[str, Any]:
    # One row under the page title: the period always in sight (an administrator's sidebar holds 18 links, so
    # filters at its foot were out of reach), the rarer scope filters behind one button that says what they hold.
    years = figure("data_years")
    if remembered["dash_year"] not in years:
        years = sorted({*years, remembered["dash_year"]}, reverse=True)
    for key, value in remembered.items():
        st.session_state[key] = value
    bar = st.container(key="dash_bar").columns([1.6, 1, 1, 2.6], vertical_alignment="bottom")
    kind = bar[0].segmented_control(t("dash.period_kind"), DASH_KINDS, key="dash_kind", on_change=_remember,
                                    args=("dash_kind",), format_func=lambda k: t(f"dash.kind_{k}"))
    kind = kind or remembered["dash_kind"]
    year = bar[1].selectbox(t("dash.year"), years, key="dash_year", on_change=_remember, args=("dash_year",))
    quarter, month = remembered["dash_quarter"], remembered["dash_month"]
    if kind == "quarter":
        quarter = bar[2].selectbox(t("dash.quarter"), (1, 2, 3, 4), key="dash_quarter", on_change=_remember,
                                   args=("dash_quarter",), format_func=roman)
    elif kind == "month":
        month = bar[2].selectbox(t("dash.month"), range(1, 13), key="dash_month", format_func=lambda m: f"{m:02d}",
                                 on_change=_remember, args=("dash_month",))
    scope = {"units": remembered["dash_units"], "cell_types": remembered["dash_cell_types"],
             "mtypes": remembered["dash_mtypes"], "rollup": remembered["dash_rollup"]}
    with bar[3].popover(_scope_label(scope), icon=":material/filter_alt:", width="stretch", key="dash_scope"):
        chosen_units = st.multiselect(t("dash.units"), list(units), key="dash_units", format_func=units.get,
                                      placeholder=t("dash.all"), on_change=_remember, args=("dash_units",),
                                      select_all=False)
        cell_types = st.multiselect(t("dash.cell_types"), [c.value for c in cell_type], key="dash_cell_types",
                                    format_func=lambda v: cell_type(v).label, placeholder=t("dash.all"),
                                    on_change=_remember, args=("dash_cell_types",), select_all=False)
        mtypes = st.multiselect(t("dash.mtypes"), [m.value for m in meeting_type], key="dash_mtypes",
                                format_func=lambda v: meeting_type(v).label, placeholder=t("dash.all"),
                                on_change=_remember, args=("dash_mtypes",), select_all=False)
        rollup = st.toggle(t("dash.rollup"), key="dash_rollup", help=t("dash.rollup_help"), on_change=_remember,
                           args=("dash_rollup",))
    return {"period": _dash_label(kind, year, quarter, month), "units": list(chosen_units),
            "cell_types": list(cell_types), "mtypes": list(mtypes), "rollup": bool(rollup)}


# Streamlit's wide layout leaves 5rem each side; the dashboards' wide tables need that room for their last columns.
# On a phone Streamlit stacks columns one under another: the filters and the headline cards go two a row
# instead, labels wrapped.
DASHBOARD_CSS = """
<style>
.block-container, [data-testid="stMainBlockContainer"] {padding-left: 2rem !important; padding-right: 2rem !important;}
@media (max-width: 640px) {
  .st-key-dash_headlines [data-testid="stHorizontalBlock"], .st-key-dash_bar [data-testid="stHorizontalBlock"] {
    flex-flow: row wrap !important; gap: 0.5rem !important;}
  .st-key-dash_headlines [data-testid="stColumn"], .st-key-dash_bar [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.5rem) !important;
    min-width: calc(50% - 0.5rem) !important; width: calc(50% - 0.5rem) !important;}
  .st-key-dash_bar [data-testid="stColumn"]:first-child {flex-basis: 100% !important; min-width: 100% !important;}
  .st-key-dash_headlines [data-testid="stMetricLabel"] * {white-space: normal !important;}
  .block-container, [data-testid="stMainBlockContainer"] {padding-left: 1rem !important;
    padding-right: 1rem !important;}
}
</style>
"""


def figure(name: str, *args: Any, **kwargs: Any) -> Any:
    """A lib.metrics figure by function name, cached per database file, data version and language; the value
    returned is shared with every session showing the same figure: read it, do not change it."""
    from lib import metrics

    if "today" in getattr(metrics, name).__code__.co_varnames:
        kwargs.setdefault("today", date.today())
    # Same-named units and cells carry their validity in unit_name/cell_name (directory.display_names). The
    # figures are cached with those names in place, per language: renaming every row of a bundle on each run cost
    # the weakness board about a third of its server time at 1,000,000 meetings (bench/NOTES.md).
    fn = getattr(metrics, name)
    return _displayed(path=str(config.db_path()), version=data_version(), lang=i18n.get_language(),
                      fn_name=f"{fn.__module__}.{fn.__qualname__}", key=args_key(args, kwargs), _fn=fn, _args=args,
                      _kwargs=kwargs)


@st.cache_resource(**FIGURE_CACHE)
def _displayed(path: str, version: int, lang: str, fn_name: str, key: bytes, _fn: Callable, _args: tuple,
               _kwargs: dict) -> Any:
    # keyed as _cached is, and by the language the display names are written in
    with dbm.read(path) as db:
        return display(_fn(db, *_args, **_kwargs))


def renamed() -> tuple[dict[str, str], dict[str, str]]:
    """The units and cells shown under another name than stored (directory.renamed), in this session's language."""
    from lib import directory

    return cached(directory.renamed, i18n.get_language())


def display(figures: Any) -> Any:
    """Figures with the display names of same-named units and cells (directory.relabel)."""
    from lib import directory

    return directory.relabel(figures, *renamed())


def unit_names(units: list[dict]) -> dict[str, str]:
    """Unit code → the name a picker shows (directory.display_names): same-named units told apart by validity."""
    shown = renamed()[0]
    return {u["code"]: shown.get(u["code"], u["name"]) for u in units}


def period_label(period: Any) -> str:
    """A period as users say it: "Năm 2025", "Quý II/2025", "Tháng 03/2025" (domain.period_display)."""
    return period_display(period)


def refresh_seconds() -> int:
    """Seconds between live refreshes (setting refresh_seconds, default 30, at least 5)."""
    from lib import settings

    try:
        return max(5, int(read(settings.get_settings).get("refresh_seconds") or 30))
    except ValueError:
        return 30


def now_hms() -> str:
    """The time now as HH:MM:SS (server clock), for the "updated at" line."""
    return datetime.now().strftime("%H:%M:%S")


def live(render: Callable[[], None], seconds: int | None = None) -> None:
    """Draw render(), then check every few seconds whether the data changed and only then draw the page again."""

    # The fragment that runs on the clock only reads the data version (one look-up); a refresh that finds
    # nothing changed sends nothing but the time. A change reruns the page, and its figures come from the
    # cache another session may already have filled for that version.
    @st.fragment(run_every=seconds or refresh_seconds())
    def _watch(drawn: int) -> None:
        # a fragment's run does not start with app.py: the version is read afresh
        if data_version(fresh=True) != drawn:
            st.rerun()
        st.caption(t("dash.updated_at", time=now_hms()), help=t("dash.live_help"))

    _watch(data_version())
    render()


def no_data() -> None:
    """The clear message for an empty period or database."""
    st.info(t("ui.no_data"), icon=":material/info:")


def fmt_month(value: str | None) -> str:
    """A month key "YYYY-MM" as "MM/YYYY"."""
    return f"{value[5:7]}/{value[:4]}" if value else ""


def label_of(enum: Any) -> Callable[[Any], str]:
    """A function giving the translated label of an enum value (the value itself when unknown)."""
    labels = enum.labels()
    return lambda value: labels.get(value, "" if value is None else str(value))


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage in the user's language ("85,3%"); "—" when there is none."""
    if value is None:
        return "—"
    text = f"{value * 100:.{digits}f}"
    return (text.replace(".", ",") if i18n.get_language() == "vi" else text) + "%"


def fmt_points(value: float | None) -> str | None:
    """A change of a rate in percentage points, signed ("+2,1 điểm %")."""
    if value is None:
        return None
    text = f"{value * 100:+.1f}"
    return t("dash.points", value=text.replace(".", ",") if i18n.get_language() == "vi" else text)


def fmt_num(value: float | None) -> str:
    """A count (or a fractional expectation) with separators in the user's language ("1.234", "2,33")."""
    if value is None:
        return "—"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if i18n.get_language() == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


HEADLINES = (("attendance_rate", "pct", "normal"), ("coverage", "pct", "normal"),
             ("on_schedule_rate", "pct", "normal"), ("leader_compliance", "pct", "normal"),
             ("reports_late", "num", "inverse"), ("reports_missing", "num", "inverse"),
             ("weaknesses_open", "num", "inverse"), ("weaknesses_overdue", "num", "inverse"))


def headline_metrics(ov: dict[str, Any], columns: int = 4) -> None:
    """The overview's headline figures with their change against the previous period."""
    # one row of columns per line of cards: a phone stacks each row in turn, so the cards keep their order
    # (one set of columns stacked the first of every row first); DASHBOARD_CSS puts two side by side there
    box = st.container(key="dash_headlines")
    for i, (key, kind, colour) in enumerate(HEADLINES):
        if i % columns == 0:
            cols = box.columns(columns)
        value, change = ov["current"][key], ov["change"][key]
        if kind == "pct":
            shown, delta = fmt_pct(value), fmt_points(change)
        else:
            shown, delta = fmt_num(value), None if change is None else f"{change:+,.0f}"
        cols[i % columns].metric(t(f"dash.h_{key}"), shown, delta, delta_color=colour, border=True,
                                 help=t(f"dash.h_{key}_help"))


def chart_png(spec_json: str) -> bytes:
    """A Vega-Lite spec rendered to PNG at twice the size (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec_json, scale=2)


@dataclasses.dataclass(frozen=True)
class ChartRecipe:
    """A chart to draw: a lib.charts function and its arguments, built only when its spec is not in the cache."""

    build: Callable[..., Any]
    args: tuple = ()
    kwargs: tuple = ()  # (name, value) pairs
    props: tuple = ()  # .properties(...) applied after, as (name, value) pairs

    def properties(self, **props: Any) -> "ChartRecipe":
        """The same chart with Altair properties set on it (a title, a height)."""
        return dataclasses.replace(self, props=self.props + tuple(props.items()))

    def chart(self) -> Any:
        """The Altair chart, built now in the current language."""
        built = self.build(*self.args, **dict(self.kwargs))
        return built.properties(**dict(self.props)) if self.props else built


def chart(build: Callable[..., Any], *args: Any, **kwargs: Any) -> ChartRecipe:
    """The chart build(*args, **kwargs) (a lib.charts function), to hand to show_chart."""
    return ChartRecipe(build, args, tuple(kwargs.items()))


# Building a chart with Altair (every .properties/.configure copies the whole chart) and checking its spec against
# Vega-Lite's schema was about half of a dashboard's server time per run (cProfile of the overview at 100,000
# meetings, bench/NOTES.md): every session built the same chart from the same cached figures. The spec Streamlit
# makes of it is kept per chart, arguments and language, and every session draws from it.
@st.cache_data(ttl=3600, max_entries=300, show_spinner=False)
def _screen_spec(lang: str, name: str, args: tuple, kwargs: tuple, props: tuple, scale: float,
                 height: int | None, _recipe: ChartRecipe) -> dict:
    # keyed by the builder's name and everything it is given; _recipe carries the same, unhashed
    return _spec_of(_recipe, scale, height)


def _spec_of(recipe: "ChartRecipe", scale: float, height: int | None) -> dict:
    # the spec st.altair_chart would send for the styled chart (its data as Arrow datasets)
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from lib import charts

    built = recipe.chart()
    if height:
        built = built.properties(height=height)
    return _convert_altair_to_vega_lite_spec(charts.styled(built, scale, screen=True))


def _recipe_of(chart: "ChartRecipe | Any") -> ChartRecipe:
    # an Altair chart already built (tests, odd callers) is drawn as it is, through a recipe that returns it
    return chart if isinstance(chart, ChartRecipe) else ChartRecipe(lambda: chart)


def show_chart(chart: "ChartRecipe | Any", name: str, key: str, scale: float = 1.0, select: bool = False,
               download: bool = True, height: int | None = None) -> Any:
    """A chart (ui.chart(...)) at full width with large fonts and a PNG download; with select, returns the
    clicked selection.

    height sets the plot's height (presentation mode fills the screen with it).
    """
    recipe = _recipe_of(chart)
    if isinstance(chart, ChartRecipe):
        fn = recipe.build
        spec = _screen_spec(i18n.get_language(), f"{fn.__module__}.{fn.__qualname__}", recipe.args, recipe.kwargs,
                            recipe.props, scale, height, recipe)
    else:
        spec = _spec_of(recipe, scale, height)
    event = st.vega_lite_chart(spec=spec, width="stretch", key=key, on_select="rerun" if select else "ignore")
    if download:
        chart_download(chart, name, key, scale)
    return event.selection if select else None


def _png(lang: str, recipe: ChartRecipe, scale: float) -> bytes:
    # run in a context of its own (the button's callable may run outside the script's thread): the chart's
    # words and number format in the language of the run that drew the button
    from lib import charts

    i18n.set_language(lang)
    built = charts.styled(recipe.chart(), scale, font=charts.PNG_FONT).properties(width=1000)
    return chart_png(built.to_json())


def chart_download(chart: "ChartRecipe | Any", name: str, key: str, scale: float = 1.0) -> None:
    """The PNG download button of a chart shown with show_chart(..., key)."""
    # The PNG's chart and spec are built when the button is pressed, not on every run (its JSON and schema check
    # were a tenth of a dashboard's server time).
    recipe, lang = _recipe_of(chart), i18n.get_language()
    st.download_button(t("ui.download_png"), data=lambda: contextvars.copy_context().run(_png, lang, recipe, scale),
                       file_name=f"{name}.png", mime="image/png", key=f"{key}_png", on_click="ignore",
                       icon=":material/image:")


def show_chart_pair(*pair: tuple[Any, str, str] | None) -> None:
    """Two charts side by side (chart, name, key), their PNG buttons on one line below whatever their heights."""
    tops, bottoms = st.columns(2), st.columns(2)
    for item, top, bottom in zip(pair, tops, bottoms, strict=True):
        if item is None:
            continue
        with top:
            show_chart(*item, download=False)
        with bottom:
            chart_download(*item)


def lazy_tabs(parts: dict[str, Callable[[], None]], key: str) -> None:
    """Tabs (label → drawing function) of which only the open one is drawn; picking another draws that one."""
    # st.tabs sends every tab's content and the browser draws it all at each load, though one tab is seen:
    # charts and tables are most of a dashboard's time in the browser (bench/NOTES.md, "What a dashboard draws").
    # A tab that tracks its state reruns the page when picked and says which one is open.
    tabs = st.tabs(list(parts), key=key, on_change="rerun")
    for tab, draw in zip(tabs, parts.values(), strict=True):
        if tab.open:
            with tab:
                draw()


def codes_hidden(units: list[dict]) -> tuple[str, ...]:
    """("unit_code",) when every unit's name is its own: the code then only takes room on screen."""
    # a merged commune and its successor may share a name; then the code tells them apart
    return () if len({u["unit_name"] for u in units}) < len(units) else ("unit_code",)


# Number formats the table widget applies in the browser (st.column_config), so no cell is formatted in Python.
# The named formats go through the browser's Intl.NumberFormat in the browser's language: a Vietnamese browser
# shows 0.375 as "37,5%", 2147 as "2.147" and 2/3 as "0,67". The step fixes the decimals shown ("percent" keeps
# two fewer than the step has: 0.001 gives one). A printf format ("%.1f%%") cannot write a decimal comma.
PCT_COLUMN = {"format": "percent", "step": 0.001}
COUNT_COLUMN = {"format": "localized", "step": 1}
# No step: the browser then writes as many decimals as the number has (a step fixes them, and "8" read "8,00"),
# and table() rounds such a column to two decimals first, so 8 shows "8" and 2/3 "0,67".
DECIMAL_COLUMN = {"format": "localized"}
DECIMAL_DIGITS = 2


def _is_id(name: str) -> bool:
    # ids stay as they are, without separators: an id 1.234 would read as a decimal
    return name == "id" or name.endswith("_id")


def number_formats(frame: pd.DataFrame, columns: dict[str, str], pct: tuple[str, ...],
                   decimals: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The column_config format of each numeric column of a table (by header): rates, fractions, counts."""
    formats: dict[str, dict[str, Any]] = {}
    for key, header in columns.items():
        if key in pct:
            formats[header] = PCT_COLUMN
        elif key in decimals:
            formats[header] = DECIMAL_COLUMN
        elif (not _is_id(key) and pd.api.types.is_numeric_dtype(frame[header])
              and not pd.api.types.is_bool_dtype(frame[header])):
            formats[header] = COUNT_COLUMN
    return formats


# A list longer than this shows its first rows, a count and a search box; the downloads hold every row.
TABLE_ROWS = 200


def _folded(column: pd.Series) -> pd.Series:
    # each distinct value folded once: a long list repeats its communes, categories and states
    values = column.astype(str)
    return values.map({v: search_key(v) for v in values.unique()})


def capped(df: pd.DataFrame, key: str, searched: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """A long table cut to its first rows, under a search box (accents optional) and a line with the count."""
    limit = limit or TABLE_ROWS
    total = len(df)
    if total <= limit:
        return df
    text = st.text_input(t("table.search"), key=f"{key}_search", placeholder=t("table.search_hint"),
                         icon=":material/search:")
    found = df
    needle = search_key(text or "")
    if needle:
        hit = pd.Series(False, index=df.index)
        for col in searched or list(df.columns):
            hit |= _folded(df[col]).str.contains(needle, regex=False)
        found = df[hit]
    if needle and found.empty:
        st.caption(t("table.no_match", total=fmt_num(total)))
    elif needle:
        st.caption(t("table.found", shown=fmt_num(min(limit, len(found))), found=fmt_num(len(found)),
                     total=fmt_num(total)))
    else:
        st.caption(t("table.capped", shown=fmt_num(limit), total=fmt_num(total)))
    return found.head(limit)


def _display_rows(rows: list[dict]) -> list[dict]:
    # display() for a table's rows: only their own unit_name and cell_name are shown, so the rows are not copied
    # deeply (relabelling the nested figures of every row was most of a long list's server time at 1,000,000)
    units, cells = renamed()
    if not units and not cells:
        return rows
    out = []
    for row in rows:
        unit = units.get(row.get("unit_code")) if "unit_name" in row else None
        cell = cells.get(row.get("cell_code")) if "cell_name" in row else None
        if unit is not None or cell is not None:
            row = dict(row)
            if unit is not None:
                row["unit_name"] = unit
            if cell is not None:
                row["cell_name"] = cell
        out.append(row)
    return out


def _each_distinct(column: pd.Series, fn: Callable[[Any], str]) -> pd.Series:
    # fn(value) once per distinct value, an empty text where there is none: a long list repeats its labels and
    # dates (5,900 overdue weaknesses have a few hundred distinct dates and four states)
    known = column.notna()
    texts = {value: fn(value) for value in column[known].unique()}
    return column.map(texts).where(known, "").astype(object)


def table(rows: list[dict], columns: dict[str, str], name: str, key: str, *, pct: tuple[str, ...] = (),
          dates: tuple[str, ...] = (), labels: dict[str, Callable[[Any], str]] | None = None,
          decimals: tuple[str, ...] = ("expected",), height: int | str = "auto", missing: dict[str, str] | None = None,
          hidden: tuple[str, ...] = (), pinned: tuple[str, ...] = (),
          widths: dict[str, str | int] | None = None, helps: dict[str, str] | None = None,
          marks: dict[str, str] | None = None, drill: str | None = None,
          on_pick: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Rows shown as a table with translated headers (dates dd/mm/yyyy; rates "37,5%", counts "2.147", fractions
    "0,67" in a Vietnamese browser), downloadable as CSV and XLSX with the numbers as numbers.

    missing gives the text for an empty cell of a column; hidden columns are left off the screen but kept in the
    downloads; pinned columns stay in view while the table scrolls sideways; helps gives a column's header a tooltip
    (the full name of a shortened header). A list of more than TABLE_ROWS rows shows its first ones under a search
    box; the downloads hold them all. marks: column → colour, a status column whose text (e.g. "Quá hạn") shows as
    a coloured label on the screen, and as plain text in the downloads.
    """
    df = pd.DataFrame(_display_rows(rows), columns=list(columns))
    if df.empty:
        # the table widget would write "empty" (in English, on its canvas) under bare headers
        empty_table()
        return df
    decimals = tuple(c for c in decimals if c in columns)
    for col, fn in (labels or {}).items():
        df[col] = _each_distinct(df[col], fn)
    for col in dates:
        df[col] = _each_distinct(df[col], lambda v: fmt_date(v) if isinstance(v, str) and v else "")
    for col in df.columns:
        if col not in pct + decimals and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].where(df[col].notna(), (missing or {}).get(col, "")).astype(object)
    df = df.rename(columns=columns)
    widths, helps = widths or {}, helps or {}
    if drill and drill in columns and pinned and isinstance(widths.get(pinned[0]), int):
        # the rows' pick boxes take a narrow column of their own: the name column gives up that room, so a table
        # sized to fit at 1440 px still fits
        widths = {**widths, pinned[0]: widths[pinned[0]] - ROW_PICK_PX}
    # The screen shows fractions rounded (whole ones without decimals); the downloads keep them exact.
    screen = df.copy() if decimals else df
    for col in decimals:
        screen[columns[col]] = pd.to_numeric(screen[columns[col]], errors="coerce").round(DECIMAL_DIGITS)
    # The cells keep their numbers (sorting and the downloads stay numeric); the widget writes them.
    formats = number_formats(df, columns, pct, decimals)
    headers = {columns[c]: c for c in columns}
    config: dict[str, Any] = {
        header: st.column_config.NumberColumn(header, width=widths.get(headers[header]),
                                              help=helps.get(headers[header]),
                                              pinned=True if headers[header] in pinned else None, **fmt)
        for header, fmt in formats.items()}
    config |= {columns[c]: st.column_config.Column(columns[c], width=widths.get(c), help=helps.get(c),
                                                   pinned=True if c in pinned else None)
               for c in (*pinned, *widths, *helps) if columns[c] not in config}
    order = [columns[c] for c in columns if c not in hidden] if hidden else None
    # placeholder: a number that is missing (a rate with nothing to divide) is an empty cell, not "None"
    shown = capped(screen, key, [columns[c] for c in columns if c not in hidden])
    for col, colour in (marks or {}).items():
        # a read-only multiselect cell draws its one option as a coloured label (no per-cell styling in Python)
        shown = shown.assign(**{columns[col]: shown[columns[col]].map(lambda v: [v] if v else [])})
        config[columns[col]] = st.column_config.MultiselectColumn(
            columns[col], options=sorted({v for v in df[columns[col]] if v}), color=colour,
            width=widths.get(col), help=helps.get(col), pinned=True if col in pinned else None)
    if drill and drill in columns:
        # a click on a row picks it: a child unit drills one level down (drill_to), a cell opens its meetings
        codes = [str(c) for c in shown[columns[drill]]]
        # keyed by the node in view too: a row picked at one level is not shown picked at the next
        view = node_in_view()
        picked_key = f"{key}@{view.code if view else ''}"
        st.dataframe(shown, hide_index=True, width="stretch", column_config=config, column_order=order,
                     key=picked_key, height=height, placeholder="", selection_mode="single-row",
                     on_select=functools.partial(_row_picked, picked_key, codes, on_pick or _drill_child))
    else:
        st.dataframe(shown, hide_index=True, width="stretch", column_config=config, column_order=order, key=key,
                     height=height, placeholder="")
    downloads(df, name, key)
    return df


ROW_PICK_PX = 20


def _row_picked(key: str, codes: list[str], on_pick: Callable[[str], None]) -> None:
    state = st.session_state.get(key)
    rows = state.selection.rows if state is not None else []
    if rows and rows[0] < len(codes):
        on_pick(codes[rows[0]])


def _drill_child(code: str) -> None:
    # the row of the node itself (its own cells) is no level further down
    view = node_in_view()
    if view is None or code in dict(view.children):
        drill_to(code)


def empty_table() -> None:
    """In place of a table with no rows: a line saying so, in the user's language."""
    st.caption(t("ux.table.empty"))


PRESENTATION_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] {display: none !important;}
.block-container, [data-testid="stMainBlockContainer"] {max-width: 100% !important; padding: 1rem 2.5rem !important;}
[data-testid="stMetricValue"] p {font-size: 4.2rem !important; line-height: 1.15 !important;}
[data-testid="stMetricLabel"] p {font-size: 1.5rem !important;}
[data-testid="stMetricLabel"] * {white-space: normal !important; overflow: visible !important;}
[data-testid="stMetricDelta"] p {font-size: 1.5rem !important;}
h1 {font-size: 3rem !important;} h2 {font-size: 2.6rem !important;}
</style>
"""


def presentation_style() -> None:
    """Full width, large fonts and no sidebar for the meeting-room projector (fixed CSS, no user text)."""
    st.html(PRESENTATION_CSS)


def dashboard_style() -> None:
    """The dashboards' margins and narrow-screen layout (fixed CSS, no user text)."""
    # Style sheets go through st.html, never st.markdown(unsafe_allow_html=True): Markdown with HTML in it makes
    # the browser load and compile its HTML parser (rehype-raw and parse5) on every page load, while st.html
    # of <style> alone is a small chunk and takes no room on the page (bench/NOTES.md, branch pages13).
    st.html(DASHBOARD_CSS)


# ---- Streamlit's own words in the user's language (issue 16) ------------------------------------------------

def _css_text(text: str) -> str:
    # A CSS string literal: our own sentences, with quotes, backslashes and line ends escaped all the same.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def widget_words() -> None:
    """Replace the English that Streamlit 1.67 writes inside its widgets and offers no parameter for.

    The file uploader's button and size limit, and the "Press Enter to apply / submit form" hint under a focused
    text box are drawn by Streamlit's browser code in English; the English is hidden and our words are shown in
    its place (CSS content). The max_chars counter ("5/32") stays inside forms; outside forms Streamlit draws the
    hint and the counter alike, so both are hidden there (the box still stops at max_chars).
    """
    limit = t("widgets.upload_limit", mb=st.get_option("server.maxUploadSize"))
    hint = "[data-testid='InputInstructions']"
    form = "[data-testid='stForm']"
    area = "[data-testid='stTextArea']"
    st.html(f"""<style>
[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p {{ display: none; }}
[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer']::after {{
  content: {_css_text(t("widgets.upload"))}; }}
[data-testid='stFileUploaderDropzoneInstructions'] span {{ display: none; }}
[data-testid='stFileUploaderDropzoneInstructions'] > div::after {{ content: {_css_text(limit)}; }}
{hint} > span {{ display: none; }}
{form} {hint} > span:last-child:not(:first-child) {{ display: inline; }}
{hint}::before {{ content: {_css_text(t("widgets.enter_apply"))}; }}
{form} {hint}::before {{ content: {_css_text(t("widgets.enter_submit"))}; }}
{area} {hint}::before {{ content: {_css_text(t("widgets.ctrl_enter_apply"))}; }}
{form} {area} {hint}::before {{ content: {_css_text(t("widgets.ctrl_enter_submit"))}; }}
{_more_widget_words()}
</style>""")


def _more_widget_words() -> str:
    # The rarer states (issue 16, branch ux), each found in Streamlit 1.67's browser code: a select box's search
    # that matches nothing ("No results"), a file dragged over the uploader ("Drag and drop a file here"), and
    # the uploader's refusal of a file's type or size, shown in the file chip's tooltip ("image/png files are not
    # allowed.", "File must be 50.0MB or smaller."): one sentence of ours covers both refusals. The English is
    # shrunk to nothing and ours drawn after it.
    zone = "[data-testid='stFileUploaderDropzone'] > div:not([data-testid]) > span"
    empty = "[role='listbox'][data-empty='true'] [role='option'] > span"
    refusal = "[data-testid='stTooltipErrorContent']"
    refused = t("ux.widgets.upload_refused", mb=st.get_option("server.maxUploadSize"))
    return f"""{empty}, {zone}, {refusal} {{ font-size: 0 !important; }}
{empty}::after {{ content: {_css_text(t("ux.widgets.no_results"))}; font-size: 0.875rem; }}
{zone}::after {{ content: {_css_text(t("ux.widgets.drop_here"))}; font-size: 1rem; }}
{refusal}::after {{ content: {_css_text(refused)}; font-size: 0.875rem; }}"""


def reserved_path(page: Any) -> str:
    """The address a page of st.navigation takes: its url_path, also for the default page (which Streamlit
    serves at "/" and reports as "", while its own url_path stays taken: a hidden page there is refused)."""
    return getattr(page, "_url_path", None) or page.url_path


def unknown_address(known: set[str]) -> str | None:
    """The page address typed or bookmarked that no page answers, when a hidden page can answer it; else None.

    Streamlit answers such an address with an English "Page not found" box; app.py serves this address with a
    page of ours instead. Streamlit has no public way to read the requested page name before st.navigation, so
    this reads the script run's own record of it. An address with a "/" inside cannot be a page's url_path and
    still gets Streamlit's box.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.util import calc_hash

    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    name = getattr(manager, "intended_page_name", None)
    name = (name or "").strip().strip("/")
    if not name:
        # Later runs on that address (a login, a widget) name the page by the hash of its url_path only.
        stray = st.session_state.get("_stray_address")
        wanted = getattr(manager, "intended_page_script_hash", None)
        return stray if stray and stray not in known and wanted == calc_hash(stray) else None
    if name in known or "/" in name or len(name) > 200:
        return None
    st.session_state["_stray_address"] = name
    return name


# ---- a user's to-do and reminders (issue 16, branch ux) ---------------------------------------------------------

def reminders_title(who: Actor) -> str:
    """The reminders page's menu title with their count ("Nhắc việc (5)"): cached until the data changes."""
    try:
        count = figure("reminders", who.username)["count"]
    except sqlite3.DatabaseError:
        # the menu is built before the page runs: a damaged file is then explained by the page, not a traceback
        return t("ux.nav.reminders")
    return t("ux.nav.reminders_n", n=fmt_num(count)) if count else t("ux.nav.reminders")


def todo(who: Actor) -> None:
    """The user's to-do of this month (cells without a record, due and upcoming apart; leader reports due), folded
    under one line of counts; open for a clerk, whose landing page it heads."""
    from lib.domain import Role

    if who.role == Role.VIEWER:
        return
    today = date.today()
    items = figure("todo", who.username)
    late = sum(r["late"] for r in items["reports"])
    title = t("ux.todo.title", month=f"{today.month:02d}/{today.year}", missing=fmt_num(len(items["missing"])),
              upcoming=fmt_num(len(items["upcoming"])), reports=fmt_num(len(items["reports"])))
    # folded, its lists are not drawn at all (the browser drew three tables nobody saw); opening it draws them
    box = st.expander(title, expanded=who.role == Role.CLERK, icon=":material/checklist:", key="todo_box",
                      on_change="rerun")
    if not box.open:
        return
    with box:
        if not (items["missing"] or items["upcoming"] or items["reports"]):
            st.success(t("ux.todo.done"), icon=":material/check_circle:")
            return
        cells = {"unit_name": t("chart.unit"), "cell_code": t("field.cell_code"), "cell_name": t("field.cell_id")}

        def missing() -> None:
            st.caption(t("ux.todo.missing_help"))
            table(items["missing"], cells, "chi-bo-qua-han", "todo_missing")

        def upcoming() -> None:
            st.caption(t("ux.todo.upcoming_help"))
            table(items["upcoming"], {**cells, "due_on": t("dash.due_on")}, "chi-bo-sap-den-han", "todo_upcoming",
                  dates=("due_on",))

        def reports() -> None:
            st.caption(t("ux.todo.reports_help", days=items["report_days"]))
            state = {True: t("ux.todo.late"), False: t("ux.todo.waiting")}
            table(items["reports"], {"held_on": t("field.held_on"), "cell_name": t("field.cell_id"),
                                     "full_name": t("field.full_name"), "due_on": t("ux.remind.report_due_on"),
                                     "late": t("ux.todo.state")}, "bao-cao-can-nop", "todo_reports",
                  dates=("held_on", "due_on"), labels={"late": state.get})

        lazy_tabs({t("ux.todo.missing", n=len(items["missing"])): missing,
                   t("ux.todo.upcoming", n=len(items["upcoming"])): upcoming,
                   t("ux.todo.reports", n=len(items["reports"]), late=late): reports}, "todo_tabs")
        page_link("pages/record_meeting.py", t("ux.todo.record"), ":material/edit_note:")


def page_link(file: str, label: str, icon: str) -> None:
    """A link to another page of the menu; none when the user's menu lacks it (or a page runs on its own in tests)."""
    from streamlit.errors import StreamlitPageNotFoundError

    who = actor()
    if who is None or not allowed(who.role, file):
        return
    try:
        st.page_link(file, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        pass


# ---- many communes: all, the highest, the lowest, or a name (issue 16, branch ux) --------------------------------

MANY_UNITS = 15  # a per-unit list longer than this gets the choice and the search
TOP_N = 10
RANKS = ("all", "top", "bottom")


def top_bottom(rows: list[dict], key: str, measure: str, measure_label: str, name: str = "unit_name") -> list[dict]:
    """A long per-unit list (70+ communes in a province) narrowed by the user: all, the TOP_N highest or lowest by
    measure (those without one left out), and a name search (accents optional); short lists are returned as they are."""
    if len(rows) <= MANY_UNITS:
        return rows
    left, right = st.columns([1.3, 1], vertical_alignment="bottom")
    choice = left.segmented_control(t("ux.rank.show"), RANKS, key=f"{key}_rank", default="all",
                                    format_func=lambda c: t(f"ux.rank.{c}", n=TOP_N, by=measure_label))
    text = right.text_input(t("ux.rank.search"), key=f"{key}_find", placeholder=t("ux.rank.search_hint"),
                            icon=":material/search:")
    shown = rows
    needle = search_key(text or "")
    if needle:
        shown = [r for r in shown if needle in search_key(str(r.get(name) or ""))]
    if choice in ("top", "bottom"):
        ranked = sorted((r for r in shown if r.get(measure) is not None), key=lambda r: r[measure],
                        reverse=choice == "top")
        shown = ranked[:TOP_N]
    st.caption(t("ux.rank.count", shown=fmt_num(len(shown)), total=fmt_num(len(rows))) if shown else
               t("ux.rank.none", total=fmt_num(len(rows))))
    return shown


# ---- starting the server ------------------------------------------------------------------------------------

def no_nagle() -> None:
    """Make Streamlit's server send each message at once (TCP_NODELAY on its connections)."""
    import socket

    from streamlit.web.server.starlette import starlette_server

    # Streamlit 1.67 binds its listening socket itself, as socket.socket(family) with protocol 0; asyncio turns
    # Nagle's algorithm off only on sockets whose protocol says TCP, so every connection kept it. A small message
    # sent after a large one (the end of a run after a chart or a table) then waited for the browser's delayed
    # acknowledgement, about 40 ms on Linux, and a page's messages came in two or three bursts instead of as they
    # were made (bench/NOTES.md, "Forty milliseconds a message"). Linux gives an accepted connection the
    # listening socket's TCP_NODELAY.
    bind = starlette_server._bind_socket
    if getattr(bind, "no_nagle", False):
        return

    @functools.wraps(bind)
    def bind_without_nagle(*args: Any, **kwargs: Any) -> socket.socket:
        sock = bind(*args, **kwargs)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_without_nagle.no_nagle = True  # type: ignore[attr-defined]
    starlette_server._bind_socket = bind_without_nagle


# The app's own addresses (one path segment under wherever it is served), for deep_links_direct.
def app_paths() -> tuple[str, ...]:
    """Every address a page of the app answers at, bar strays: the menu's pages and the shell's own."""
    from lib import nav

    return (*(spec.url_path for spec in nav.PAGES), *SHELL_PATHS.values(), nav.LOGIN_PATH, nav.SETUP_PATH,
            DATABASE_PATH)


_MODULE_SCRIPT = '<script type="module"'
# Runs before Streamlit's code (a module script runs after the document's classic ones) and tells it where its
# server is when the address ends in one of the app's pages. Computed in the browser, so a proxy that serves the
# app under a prefix of its own (nginx's location /chibo/) keeps working; any other address is left to Streamlit.
_BASE_HINT = """<script>(function () {
  var pages = %s, path = location.pathname.replace(/\\/+$/, ""), cut = path.lastIndexOf("/"), last;
  try { last = decodeURIComponent(path.slice(cut + 1)); } catch (e) { return; }  // a malformed %%-escape
  if (pages.indexOf(last) >= 0) {
    window.__streamlit = Object.assign({}, window.__streamlit,
                                       {BACKEND_BASE_URL: location.origin + path.slice(0, cut + 1)});
  }
})();</script>
"""


def hinted_index(html: str, paths: Sequence[str]) -> str:
    """Streamlit's index.html with the base hint before its code; unchanged if its code is not where expected."""
    at = html.find(_MODULE_SCRIPT)
    if at < 0:
        return html
    return html[:at] + _BASE_HINT % json.dumps(list(paths)) + "    " + html[at:]


def malformed_address(raw_path: bytes) -> bool:
    """Whether an address the browser cannot decode (decodeURIComponent): a broken %-escape or one that is not
    UTF-8, as a half-typed or mangled link has."""
    try:
        urllib.parse.unquote_to_bytes(raw_path.decode("ascii")).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return True
    return re.search(rb"%(?![0-9A-Fa-f]{2})", raw_path) is not None


def deep_links_direct(paths: Sequence[str]) -> None:
    """Let a page opened by its own address (a bookmark, a reload, a link) reach the server at the first try; send
    an address the browser cannot decode to the app's start (Streamlit's code left such a page blank)."""
    import os

    from starlette.responses import FileResponse, RedirectResponse, Response
    from streamlit.web.server.starlette import starlette_static_routes as routes

    # Streamlit's code does not know where its server is, so at /tai-khoan it asks /tai-khoan/_stcore/health
    # first, which Streamlit's server answers 404 on purpose, waits 100 ms and then asks /_stcore/health: every
    # page but the first one opened by its address began some 120 ms late (bench/NOTES.md, "A page's own
    # address"). Streamlit reads the server's address from window.__streamlit.BACKEND_BASE_URL when a host page
    # sets it; this server's index.html now does, for the app's own addresses.
    make = routes.create_streamlit_static_handler
    if getattr(make, "deep_links_direct", False):
        return

    @functools.wraps(make)
    def make_hinted(directory: str, base_url: str | None) -> Any:
        handler = make(directory, base_url)
        index = os.path.abspath(os.path.join(directory, "index.html"))
        with open(index, encoding="utf-8") as f:
            body = hinted_index(f.read(), paths).encode("utf-8")
        served = handler.get_response

        async def get_response(path: str, scope: Any) -> Any:
            if malformed_address(scope.get("raw_path") or b""):
                # Streamlit's code stops on it ("URI malformed") and the page stays blank: the app's start instead
                return RedirectResponse("./", status_code=302, headers={"Cache-Control": "no-cache"})
            response = await served(path, scope)
            # every static file passes here (some 140 a dashboard): compared by name, no look at the disk
            if isinstance(response, FileResponse) and os.path.abspath(response.path) == index:
                return Response(body, media_type="text/html", headers={"Cache-Control": "no-cache"})
            return response

        handler.get_response = get_response
        return handler

    make_hinted.deep_links_direct = True  # type: ignore[attr-defined]
    routes.create_streamlit_static_handler = make_hinted


def serve(options: list[str]) -> int:
    """Run `streamlit run app.py OPTIONS` in this process, the pages/ folder never taken for old-style pages."""
    import sys
    from pathlib import Path

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    # Streamlit decides once per process, when the first session starts, whether a pages/ folder beside the
    # script makes an old-style multipage app. It does here, so after each start the first visitor got
    # Streamlit's own menu of file names in English, pages/*.py run straight from the folder (app.py's login
    # and menu skipped; only each page's own check stood) and "Page not found" at our stray addresses, until
    # app.py's st.navigation turned the mode off for later sessions. Deciding it before any session keeps
    # every session on app.py.
    PagesManager.uses_pages_directory = False
    no_nagle()
    deep_links_direct(app_paths())
    # a long-running server keeps its SQLite read connections for the next read (lib.db.read)
    dbm.keep_readers()
    app = Path(__file__).resolve().parent.parent / "app.py"
    sys.argv = ["streamlit", "run", str(app), *options]
    try:
        streamlit_cli.main()
    except SystemExit as end:
        return end.code if isinstance(end.code, int) else 0
    return 0



# ---- the shell's language switch and logout as menu entries (issue 13, branch pages13) ------------------------
# A radio and a button in the sidebar made every page load fetch and compile the browser code of two more kinds of
# element (bench/NOTES.md, "The app shell in the browser"); as entries of st.navigation's menu they cost a link
# each. An entry runs its page only when clicked in this session: the page it was clicked from is recorded, and a
# fresh session that lands on the entry's address (a link, a typed or bookmarked address) changes nothing.

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
LANGUAGE_PAGE, LOGOUT_PAGE = "pages/language.py", "pages/logout.py"
SHELL_PATHS = {"language": "ngon-ngu", "logout": "dang-xuat"}
_SHELL_BACK, _SHELL_HOME = "_shell_back", "_shell_home"


def other_language() -> str:
    """The language the menu's switch offers: the one not in use."""
    current = i18n.get_language()
    return next(lang for lang in LANGUAGE_NAMES if lang != current)


def shell_pages() -> list[Any]:
    """The menu entries that switch the language and log out (signed-in menus only)."""
    return [st.Page(LANGUAGE_PAGE, title=LANGUAGE_NAMES[other_language()], icon=":material/translate:",
                    url_path=SHELL_PATHS["language"]),
            st.Page(LOGOUT_PAGE, title=t("auth.logout"), icon=":material/logout:", url_path=SHELL_PATHS["logout"])]


def shell_ran(page: Any, home: Any) -> None:
    """Record the page this run shows (the one a language switch or logout returns to) and the first page."""
    st.session_state[_SHELL_HOME] = home
    if page.url_path not in SHELL_PATHS.values():
        st.session_state[_SHELL_BACK] = page


def _shell_return() -> None:
    back = st.session_state.get(_SHELL_BACK) or st.session_state.get(_SHELL_HOME)
    if back is not None:
        st.switch_page(back)


def switch_language() -> None:
    """The language entry: use the other language from now on (this session and the user's next), then go back."""
    if st.session_state.get(_SHELL_BACK) is not None:
        lang = other_language()
        st.session_state["lang"] = lang
        st.session_state[_LANG_CHOSEN] = True
        i18n.set_language(lang)
        save_prefs(lang=lang)
    _shell_return()


def log_out() -> None:
    """The logout entry: sign out, then show the page it was clicked from (now its login form)."""
    from lib import auth

    if st.session_state.get(_SHELL_BACK) is not None:
        auth.sign_out()
    _shell_return()


def language_radio() -> None:
    """Before logging in: the login page's language switch (the menu's entry needs a signed-in menu)."""
    current = i18n.get_language()
    st.radio(t("app.language"), list(LANGUAGE_NAMES), key="lang_pick", index=list(LANGUAGE_NAMES).index(current),
             format_func=LANGUAGE_NAMES.get, horizontal=True, on_change=_language_picked)


def _language_picked() -> None:
    st.session_state["lang"] = st.session_state["lang_pick"]
    language_chosen()


def folding(label: str, key: str, icon: str | None = None) -> Any:
    """A folded section whose content is drawn only while it is open: the expander when open, else None."""
    # Streamlit draws a folded expander's content all the same; one that tracks its state reruns the page when
    # opened or folded and says which it is (as ui.todo's box does).
    # The key must not begin with a form's prefix: clear_state(prefix) would fold the section on saving.
    box = st.expander(label, icon=icon, key=key, on_change="rerun")
    return box if box.open else None
