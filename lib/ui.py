"""Streamlit helpers shared by app.py and the pages: session actor, guarded writes, messages, downloads."""

import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from lib import config, i18n
from lib import db as dbm
from lib.domain import Actor, FieldError, PermissionDenied, ValidationError
from lib.i18n import t
from lib.nav import allowed


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


@st.cache_data(ttl=300, show_spinner=False)
def _cached(path: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    with dbm.read(path) as db:
        return fn(db, *args, **kwargs)


def cached(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """A cached read for figures; cleared after every write."""
    # The database path is part of the key, so two databases in one process
    # (tests, a demo beside the real file) never share cached figures.
    return _cached(str(config.db_path()), fn, *args, **kwargs)


def show_errors(errors: list[FieldError], key_prefix: str = "") -> None:
    """Show each refusal with its field, in the user's language."""
    for error in errors:
        st.error(str(error), icon=":material/error:")


def write(fn: Callable, *args: Any, success: str | None = None, **kwargs: Any) -> Any:
    """Run fn(db, actor, ...) in one write transaction; show refusals as messages, clear caches on success."""
    who = actor()
    if who is None:
        st.error(t("perm.forbidden"))
        return None
    try:
        with dbm.write() as db:
            result = fn(db, who, *args, **kwargs)
    except ValidationError as exc:
        show_errors(exc.errors)
        return None
    except PermissionDenied as exc:
        st.error(exc.message, icon=":material/block:")
        return None
    st.cache_data.clear()
    if success:
        st.toast(success, icon=":material/check_circle:")
    return result if result is not None else True


def fmt_date(value: Any) -> str:
    """A date as dd/mm/yyyy for display ('' when blank)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def plain(text: Any) -> None:
    """Show user-entered text as plain text, never as Markdown or HTML."""
    st.text("" if text is None else str(text))


def to_xlsx(df: pd.DataFrame, sheet: str = "Data") -> bytes:
    """A DataFrame as an XLSX workbook with frozen header and filters."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet[:31])
        ws = xw.sheets[sheet[:31]]
        ws.freeze_panes = "A2"
        if len(df.columns):
            ws.auto_filter.ref = ws.dimensions
    return buf.getvalue()


def downloads(df: pd.DataFrame, name: str, key: str) -> None:
    """CSV and XLSX download buttons for a table."""
    c1, c2 = st.columns(2)
    c1.download_button(t("ui.download_csv"), df.to_csv(index=False).encode("utf-8-sig"),
                       f"{name}.csv", "text/csv", key=f"{key}_csv")
    c2.download_button(t("ui.download_xlsx"), to_xlsx(df), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx")


def set_language_from_session() -> str:
    """Apply the session's language (default Vietnamese) to this run."""
    lang = st.session_state.get("lang", i18n.DEFAULT_LANGUAGE)
    i18n.set_language(lang)
    return lang


@st.cache_resource(show_spinner=False)
def _init_db(path: str) -> str:
    return str(dbm.init(path))


def init_db() -> str:
    """Create or migrate the configured database once per process and path."""
    return _init_db(str(config.db_path()))


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
        st.info(t("page.record.no_units"))
        return None
    iso = today.isoformat()
    unit_names = {u["id"]: u["name"] + (t("page.record.ended", day=fmt_date(u["valid_to"]))
                                        if u["valid_to"] and u["valid_to"] < iso else "") for u in units}
    c1, c2 = st.columns(2)
    unit_id = field_input(prefix, "unit", unit_names, label=t("field.unit_id"), where=c1)
    cells = read(forms.cells_for_entry, unit_id, today)
    if not cells:
        c2.warning(t("page.record.no_cells"))
        return None
    cell_names = {c["id"]: c["name"] + (t("page.record.ended", day=fmt_date(c["valid_to"]))
                                        if c["valid_to"] and c["valid_to"] < iso else "") for c in cells}
    cell_id = field_input(prefix, "cell", cell_names, label=t("field.cell_id"), where=c2)
    cell = next(c for c in cells if c["id"] == cell_id)
    if st.session_state.get(prefix + "date_for") != cell_id:
        done = read(forms.existing_regular, cell_id, forms.previous_month_day(today)) is not None
        st.session_state[prefix + "held_on"] = forms.default_held_on(cell["meeting_day"], today, done)
        st.session_state[prefix + "date_for"] = cell_id
    c3, c4 = st.columns(2)
    held_on = field_input(prefix, "held_on", "date", where=c3,
                          help=t("page.record.fixed_day", day=cell["meeting_day"]) if cell["meeting_day"] else None)
    mtype = field_input(prefix, "mtype", MeetingType, where=c4)

    st.subheader(t("page.record.members"), divider="gray")
    names = ("members_total", "members_exempt", "present", "absent_excused", "absent_unexcused")
    cols = st.columns(5)
    counts = {n: field_input(prefix, n, "int", where=col) for n, col in zip(names, cols, strict=True)}
    check = forms.count_check(*counts.values())
    if check.required is not None:
        st.caption(t("page.record.required_line", required=check.required, total=counts["members_total"],
                     exempt=counts["members_exempt"] or 0))
    if not check.complete:
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
    leaders = read(forms.leaders_for_unit, unit_id, chosen_before, today)
    labels = {r["id"]: r["full_name"] + (f" — {r['position']}" if r["position"] else "")
              + (t("page.record.assigned_mark") if r["assigned"] else "") for r in leaders}
    st.session_state[prefix + "leaders"] = [i for i in chosen_before if i in labels]
    chosen = st.multiselect(t("field.leaders_present"), list(labels), format_func=labels.get,
                            key=prefix + "leaders", help=t("page.record.leaders_help"),
                            placeholder=t("page.record.leaders_placeholder"))
    reports = {}
    for lid in chosen:
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        left.text(labels[lid])
        reports[lid] = field_input(prefix, f"report_{lid}", "date", label=t("field.report_submitted_on"),
                                   where=right)

    raw = {"cell_id": cell_id, "held_on": held_on, "mtype": mtype, **counts, "duration_minutes": duration,
           "score": score, "rating": rating, **flags, "topics": topics, "notes": notes}
    for warning in read(forms.live_warnings, raw, cell["meeting_day"]):
        st.warning(str(warning), icon=":material/info:")
    if mtype == MeetingType.THUONG_KY:
        dup = read(forms.existing_regular, cell_id, held_on, own_id)
        if dup:
            st.error(t("page.record.duplicate", id=dup, month=held_on.strftime("%m/%Y")), icon=":material/block:")
            st.page_link("pages/records.py", label=t("page.record.open_existing", id=dup),
                         icon=":material/open_in_new:", query_params={"id": str(dup)})
    return raw, forms.leaders_payload(chosen, reports)
