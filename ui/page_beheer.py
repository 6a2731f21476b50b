"""Streamlit page script for st.navigation in app.py: draws the Beheer page (ui/beheer.py)."""

from ui.beheer import page

page()
