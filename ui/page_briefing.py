"""Streamlit page script for st.navigation in app.py: draws the Briefing page (ui/briefing.py)."""

from ui.briefing import page

page()
