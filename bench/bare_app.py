"""The bare Streamlit page the browser benchmark compares the app with: a title and a line, nothing else."""

import streamlit as st

st.title("Bare page")
st.write("A title and a line: what any Streamlit page costs.")
