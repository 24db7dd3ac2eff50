"""Shown at the address of a page outside the user's role: a refusal, not Streamlit's 'page not found'."""

import streamlit as st

from lib.i18n import t

st.error(t("perm.page_forbidden"), icon=":material/block:")
