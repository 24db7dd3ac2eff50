"""Audit log (admin, read-only): who did what and when, and what changed, field by field in words."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from lib import audit, i18n, ui, users
from lib.domain import SYSTEM
from lib.i18n import t

ui.require_page("pages/audit.py")
st.title(t("nav.audit"))
st.caption(t("page.audit.intro"))

TABLES = ("units", "cells", "leaders", "assignments", "meetings", "meeting_leaders", "weaknesses", "users",
          "settings")
ALL = ""


def _label(group: str, value: str | None) -> str:
    if group == "actions":
        return audit.action_label(value)
    if not value:
        return t(f"page.audit.{group}_none") if group == "tables" else ""
    key = f"page.audit.{group}.{value}"
    return t(key) if i18n.has(key) else value


usernames = [ALL] + [u["username"] for u in ui.read(users.list_users)] + [SYSTEM.username]
c1, c2, c3 = st.columns(3)
who = c1.selectbox(t("page.audit.user"), usernames, key="audit_user",
                   format_func=lambda u: u or t("page.audit.all"), placeholder=t("widgets.choose_one"))
table = c2.selectbox(t("page.audit.table"), (ALL, *TABLES), key="audit_table",
                     format_func=lambda v: _label("tables", v) if v else t("page.audit.all"),
                     placeholder=t("widgets.choose_one"))
today = date.today()
period = c3.date_input(t("page.audit.period"), value=(today - timedelta(days=30), today), format="DD/MM/YYYY",
                       key="audit_period")
start, end = (period + (None, None))[:2] if isinstance(period, tuple) else (period, period)

rows = ui.read(audit.entries, username=who or None, table_name=table or None,
               date_from=start.isoformat() if start else None, date_to=end.isoformat() if end else None)
st.caption(t("page.audit.count", count=len(rows)))
if not rows:
    st.info(t("page.audit.empty"))
    st.stop()

names = ui.read(audit.reference_names, rows)
frame = pd.DataFrame(
    {
        t("page.audit.id"): [r["id"] for r in rows],
        t("page.audit.at"): [ui.fmt_datetime(r["at"]) + r["at"][16:19] for r in rows],
        t("page.audit.user"): [r["username"] or "" for r in rows],
        t("page.audit.action"): [_label("actions", r["action"]) for r in rows],
        # "(session)" only for logins and logouts: a demo load names no table and is no session.
        t("page.audit.table"): [_label("tables", r["table_name"]) if r["table_name"] or r["action"] != "demo"
                                else "" for r in rows],
        t("page.audit.row"): [r["row_id"] or "" for r in rows],
        t("page.audit.what"): ["; ".join(audit.describe(r, names)) for r in rows],
        t("page.audit.client"): [r["client"] or "" for r in rows],
    }
)
st.dataframe(frame, hide_index=True, width="stretch",
             column_config={t("page.audit.client"): st.column_config.TextColumn(help=t("page.audit.client_help"))})
ui.downloads(frame, "nhat-ky", key="audit_download")

with_changes = {r["id"]: r for r in rows if r["before_json"] or r["after_json"]}
if with_changes:
    st.subheader(t("page.audit.details"))
    picked = st.selectbox(
        t("page.audit.pick"), list(with_changes), key="audit_pick", placeholder=t("widgets.choose_one"),
        format_func=lambda i: f'#{i} · {ui.fmt_datetime(with_changes[i]["at"])} · {with_changes[i]["username"]} · '
                              f'{_label("actions", with_changes[i]["action"])} · '
                              f'{_label("tables", with_changes[i]["table_name"])} {with_changes[i]["row_id"] or ""}',
    )
    lines = audit.describe(with_changes[picked], names)
    if lines:
        # Values come from users (names, notes): escaped, so they show as typed.
        st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in lines))
    else:
        st.caption(t("page.audit.nothing"))
