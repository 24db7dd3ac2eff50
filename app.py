"""Entry point: page config, login gate, navigation built for the user's role, shared sidebar."""

import sqlite3
from pathlib import Path

import streamlit as st

from lib import auth, health, nav, ui, users
from lib.domain import Role
from lib.i18n import t

ROOT = Path(__file__).resolve().parent

ui.set_language_from_session()
ui.new_run()
# An emoji icon: Streamlit draws it in the browser, while a :material/...: icon is fetched from Google's font
# server, which the Content-Security-Policy (deploy/nginx-chibo.conf) blocks and which tells Google who visits.
st.set_page_config(page_title=t("app.title"), page_icon="📋", layout="wide")
# A missing, uninitialised, corrupt or read-only database gets one clear page at every address: no setup
# form (the app never creates the file) and no traceback.
problem = ui.database_problem()
if problem is None:
    try:
        auth.restore()
        who = auth.current_actor()
        # A signed-in user proves the users table is not empty: only a signed-out run asks whether it is.
        first_run = who is None and auth.needs_setup(checked=True)
        ui.restore_prefs(who)  # the user's last language and period, on a reload or a new login
    except sqlite3.DatabaseError as exc:
        problem = health.explain(exc)
if problem is not None:
    ui.database_page(problem)

if first_run:
    # The first page is served at "/" and keeps its url_path taken without answering it (below): a placeholder
    # path, and a hidden twin at the real address.
    pages = [st.Page("pages/setup.py", title=t("nav.setup"), icon=":material/rocket_launch:",
                     url_path=nav.placeholder(nav.SETUP_PATH), default=True),
             st.Page("pages/setup.py", title=t("nav.setup"), url_path=nav.SETUP_PATH, visibility="hidden")]
elif who is None:
    # Every page address opens the login form, so a bookmark shows no "page not found";
    # after logging in, the same address leads to that page if the role allows it.
    pages = [st.Page("pages/login.py", title=t("nav.login"), icon=":material/login:",
                     url_path=nav.placeholder(nav.LOGIN_PATH), default=True)]
    pages += [st.Page("pages/login.py", title=t("nav.login"), url_path=path)
              for path in (nav.LOGIN_PATH, *(spec.url_path for spec in nav.PAGES))]
else:
    pages = {}
    mine = [spec for spec in nav.pages_for(who.role) if (ROOT / spec.file).is_file()]
    for i, spec in enumerate(mine):
        # The first page is served at "/" and reserves its url_path without answering it, so it takes
        # a placeholder path and a hidden twin answers at its real address (bookmarks keep working).
        url_path = nav.placeholder(spec.url_path) if i == 0 else spec.url_path
        title = ui.reminders_title(who) if spec.file == nav.REMINDERS else t(spec.title_key)
        page = st.Page(spec.file, title=title, icon=spec.icon, url_path=url_path)
        pages.setdefault(t(spec.section), []).append(page)
    hidden = [st.Page(mine[0].file, title=t(mine[0].title_key), url_path=mine[0].url_path, visibility="hidden")
              ] if mine else []
    # Addresses of pages outside the role answer with a refusal rather than "page not found".
    hidden += [st.Page("pages/forbidden.py", title=t(spec.title_key), url_path=spec.url_path, visibility="hidden")
               for spec in nav.PAGES if spec not in mine]
    # The language switch and logout are menu entries, not a radio and a button (ui.shell_pages).
    pages.setdefault(t(nav.SECTIONS[-1]), []).extend([*ui.shell_pages(), *hidden])

# An address no page answers (a mistyped or stale bookmark) is served by a hidden page in our words, rather than
# Streamlit's English "Page not found" box: the setup or login form before logging in, a notice after.
listed = pages if isinstance(pages, list) else [p for section in pages.values() for p in section]
if (asked := ui.unknown_address({ui.reserved_path(p) for p in listed})) is not None:
    handler, title = (("pages/setup.py", "nav.setup") if first_run else ("pages/login.py", "nav.login") if who is None
                      else ("pages/not_found.py", "widgets.not_found_title"))
    stray = st.Page(handler, title=t(title), url_path=asked, visibility="hidden")
    if isinstance(pages, list):
        pages.append(stray)
    else:
        pages[t(nav.SECTIONS[-1])].append(stray)

page = st.navigation(pages, position="sidebar" if who else "hidden", expanded=True)
try:
    # The cookie component (when drawn: login page, cookie to write or delete) comes after st.navigation
    # (see auth.restore).
    auth.sync_cookie(signed_in=who is not None)

    with st.sidebar:
        if who is not None:
            user = ui.read(users.get_user, who.username)
            st.markdown(f":material/person: **{ui.md_escape(user['full_name'])}**")
            st.caption(Role(who.role).label)
        else:
            ui.language_radio()

    ui.widget_words()
    if who is not None:
        ui.shell_ran(page, listed[0])
    page.run()
except sqlite3.DatabaseError as exc:
    # e.g. a page of the file damaged after the start-up check, or the disk turned read-only mid-way
    ui.database_error(exc)
