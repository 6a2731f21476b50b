"""Streamlit page script for st.navigation in app.py: draws the Chat page (ui/chat.py)."""

from ui.chat import page

page()
