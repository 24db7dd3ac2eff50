"""My account: who I am, my role and units, and changing my own password."""

import streamlit as st

from lib import auth, directory, ui, users
from lib.domain import Role
from lib.i18n import t

who = ui.require_page("pages/account.py")
st.title(t("nav.account"))
if message := st.session_state.pop("account_flash", None):
    st.success(message, icon=":material/check_circle:")

user = ui.read(users.get_user, who.username)
units = {u["id"]: f'{u["code"]} – {u["name"]}' for u in ui.read(directory.list_units)}
c1, c2 = st.columns(2)
c1.markdown(f'**{t("field.username")}:** {ui.md_escape(user["username"])}')
c1.markdown(f'**{t("field.full_name")}:** {ui.md_escape(user["full_name"])}')
c2.markdown(f'**{t("field.role")}:** {Role(who.role).label}')
if who.role == Role.CLERK:
    scope = ", ".join(units.get(u, str(u)) for u in sorted(who.unit_ids)) or t("page.account.no_units")
    c2.markdown(f'**{t("page.users.units")}:** {ui.md_escape(scope)}')

st.subheader(t("page.account.change_password"))
with st.form("account_password", clear_on_submit=True):
    current = st.text_input(t("auth.field.current_password"), type="password", key="account_current",
                            max_chars=users.MAX_PASSWORD_CHARS)
    new = st.text_input(t("page.users.new_password"), type="password", key="account_new",
                        help=t("page.setup.password_help"), max_chars=users.MAX_PASSWORD_CHARS)
    confirm = st.text_input(t("page.setup.confirm"), type="password", key="account_confirm",
                            max_chars=users.MAX_PASSWORD_CHARS)
    change = st.form_submit_button(t("page.account.submit"), key="account_submit", type="primary")
if change and ui.write(auth.change_own_password, current, new, confirm):
    auth.renew_session()  # the change ends the user's other sessions, not this one
    st.session_state["account_flash"] = t("page.account.changed")
    st.rerun()
