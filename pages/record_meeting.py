import streamlit as st

from lib import forms, meetings, ui
from lib.i18n import t

who = ui.require_page("pages/record_meeting.py")
st.title(t("nav.record_meeting"))

st.caption(t("page.record.intro"))
saved = st.session_state.pop("rec_flash", None)
if saved:
    st.success(t("page.record.saved", id=saved), icon=":material/check_circle:")
    st.page_link("pages/records.py", label=t("page.record.open_saved", id=saved), icon=":material/open_in_new:",
                 query_params={"id": str(saved)})

form = ui.meeting_form("rec_", who)
if form is None:
    st.stop()
raw, leaders = form

if st.button(t("page.record.save"), type="primary", key="rec_save", icon=":material/save:"):
    new_id = ui.write(meetings.create, raw, leaders, marks=ui.form_marks("rec_")["marks"])
    if new_id:
        # Keep the commune (clerks usually enter several cells of one commune), move on to its next cell
        # still without a regular meeting this month, and clear the rest.
        ui.clear_state("rec_", keep=("unit",))
        next_cell = ui.read(forms.next_cell_to_record, st.session_state["rec_unit"], raw["cell_id"], raw["held_on"])
        if next_cell is not None:
            st.session_state["rec_cell"] = next_cell
        st.session_state["rec_flash"] = new_id
        st.rerun()
