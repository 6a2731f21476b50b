"""The Streamlit pages (Chat, Briefing, Beheer) and the small helpers they share.

The pages only draw: every decision about retrieval, answers, briefings, export and feedback
lives in ``assistant/``. ``app.py`` builds the assistant once and runs the chosen page.
"""
