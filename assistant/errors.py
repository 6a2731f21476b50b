"""The one error type a user reads.

Anything the page or the CLI should show to a person is raised as ``AssistantError`` with a
Dutch message; ``app.py`` and the CLIs turn it into ``st.error`` / stderr in one place. Every
other exception is a bug: it is logged and replaced by a generic Dutch message.
"""

from __future__ import annotations


class AssistantError(Exception):
    """An error with a Dutch message meant for the user, and an optional hint (a command)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SettingsError(AssistantError):
    """A setting has a wrong value; the message names it."""


class BackendUnavailable(AssistantError):
    """The language model cannot be reached or did not answer in time."""


class IndexMissing(AssistantError):
    """There is no usable index yet."""
