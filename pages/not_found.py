"""Shown at an address no page answers: our words, not Streamlit's English "Page not found" box."""

import streamlit as st

from lib.i18n import t

st.warning(t("widgets.not_found"), icon=":material/explore_off:")
