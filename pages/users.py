"""Users (admin): create, deactivate or reactivate, reset a password, change a role, set a clerk's units."""

import pandas as pd
import streamlit as st

from lib import auth, directory, ui, users
from lib.auth import AuthError
from lib.domain import Role
from lib.i18n import t

who = ui.require_page("pages/users.py")
st.title(t("nav.users"))
if message := st.session_state.pop("users_flash", None):
    st.success(message, icon=":material/check_circle:")
# Saved, but worth a second look (a clerk with no unit can enter nothing): shown under the confirmation.
for warning in st.session_state.pop("users_warnings", []):
    st.warning(ui.error_markdown(warning), icon=":material/info:")

roles = Role.labels()
units = {u["id"]: f'{u["code"]} – {u["name"]}' for u in ui.read(directory.list_units)}
rows = ui.read(users.list_users)


def _done(message: str, warnings: list | None = None) -> None:
    st.session_state["users_flash"] = message
    st.session_state["users_warnings"] = warnings if isinstance(warnings, list) else []
    st.rerun()


def _confirmed(password: str, confirm: str) -> bool:
    if password != confirm:
        ui.show_errors([AuthError("password_confirm", "password_mismatch")])
        return False
    return True


table = pd.DataFrame(
    {
        t("field.username"): [r["username"] for r in rows],
        t("field.full_name"): [r["full_name"] for r in rows],
        t("field.email"): [r["email"] or "" for r in rows],
        t("field.role"): [roles.get(r["role"], r["role"]) for r in rows],
        t("page.users.status"): [t("page.users.active") if r["active"] else t("page.users.inactive") for r in rows],
        t("page.users.units"): [r["units"] or "" for r in rows],
        t("page.users.locked_until"): [ui.fmt_datetime(r["locked_until"]) for r in rows],
    }
)
st.dataframe(table, hide_index=True, width="stretch")

tab_new, tab_edit, tab_password = st.tabs([t("page.users.tab_new"), t("page.users.tab_edit"),
                                           t("page.users.tab_password")])

with tab_new:
    with st.form("users_new"):
        c1, c2 = st.columns(2)
        username = c1.text_input(t("field.username"), key="users_new_username", help=t("page.setup.username_help"),
                                 max_chars=users.USERNAME_MAX)
        full_name = c2.text_input(t("field.full_name"), key="users_new_full_name")
        email = c1.text_input(t("field.email"), key="users_new_email")
        role = c2.selectbox(t("field.role"), list(roles), index=list(roles).index(Role.CLERK), format_func=roles.get,
                            key="users_new_role")
        unit_ids = st.multiselect(t("page.users.units"), list(units), format_func=units.get, key="users_new_units",
                                  help=t("page.users.units_help"), placeholder=t("widgets.choose_many"),
                                  select_all=False)
        password = c1.text_input(t("field.password"), type="password", key="users_new_password",
                                 help=t("page.setup.password_help"), max_chars=users.MAX_PASSWORD_CHARS)
        confirm = c2.text_input(t("page.setup.confirm"), type="password", key="users_new_confirm",
                                max_chars=users.MAX_PASSWORD_CHARS)
        create = st.form_submit_button(t("page.users.create"), key="users_new_submit", type="primary")
    if create and _confirmed(password, confirm):
        warnings = ui.write(users.create_user, username, full_name, password, role, unit_ids, email.strip() or None)
        if warnings is not None:
            _done(t("page.users.created", username=username.strip().lower()), warnings)

names = {r["username"]: f'{r["username"]} – {r["full_name"]}' for r in rows}

with tab_edit:
    picked = st.selectbox(t("page.users.pick"), list(names), format_func=names.get, key="users_edit_pick",
                          placeholder=t("widgets.choose_one"))
    user = ui.read(users.get_user, picked) if picked else None
    if user:
        with st.form(f"users_edit_{picked}"):
            c1, c2 = st.columns(2)
            full_name = c1.text_input(t("field.full_name"), value=user["full_name"], key=f"users_edit_name_{picked}")
            email = c2.text_input(t("field.email"), value=user["email"] or "", key=f"users_edit_email_{picked}")
            role = c1.selectbox(t("field.role"), list(roles), index=list(roles).index(user["role"]),
                                format_func=roles.get, key=f"users_edit_role_{picked}")
            active = c2.checkbox(t("page.users.active_box"), value=bool(user["active"]),
                                 key=f"users_edit_active_{picked}", help=t("page.users.active_help"))
            unit_ids = st.multiselect(t("page.users.units"), list(units), default=user["unit_ids"],
                                      format_func=units.get, key=f"users_edit_units_{picked}",
                                      help=t("page.users.units_help"), placeholder=t("widgets.choose_many"),
                                      select_all=False)
            save = st.form_submit_button(t("page.users.save"), key="users_edit_submit", type="primary")
        warnings = ui.write(users.update_user, picked, full_name=full_name, email=email.strip() or None,
                            role=role, active=int(active), unit_ids=unit_ids) if save else None
        if warnings is not None:
            _done(t("page.users.updated", username=picked), warnings)

with tab_password:
    picked = st.selectbox(t("page.users.pick"), list(names), format_func=names.get, key="users_password_pick",
                          placeholder=t("widgets.choose_one"))
    with st.form("users_password"):
        password = st.text_input(t("page.users.new_password"), type="password", key="users_password_new",
                                 help=t("page.setup.password_help"), max_chars=users.MAX_PASSWORD_CHARS)
        confirm = st.text_input(t("page.setup.confirm"), type="password", key="users_password_confirm",
                                max_chars=users.MAX_PASSWORD_CHARS)
        reset = st.form_submit_button(t("page.users.reset"), key="users_password_submit", type="primary")
    st.caption(t("page.users.reset_help"))
    if reset and picked and _confirmed(password, confirm):
        if ui.write(users.set_password, picked, password):
            if picked == who.username:
                auth.renew_session()  # an admin resetting their own password stays logged in here
            _done(t("page.users.password_reset", username=picked))
