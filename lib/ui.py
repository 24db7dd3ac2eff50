"""Streamlit helpers shared by app.py and the pages: session actor, guarded writes, messages, downloads."""

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from lib import db as dbm
from lib import i18n
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
def cached(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """A cached read for figures; cleared after every write."""
    return read(fn, *args, **kwargs)


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
