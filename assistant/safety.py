"""Text that must never reach the model as control: chat-template tokens.

Qwen's chat template is ChatML (``<|im_start|>system …<|im_end|>``) and llama-cpp-python
tokenises the formatted prompt with special tokens enabled, so those strings in a document or
a question would forge a turn of their own. They are removed wherever outside text enters:
in ingest (documents, metadata) and in the question and history. Trade-off: a document that
genuinely discusses ChatML loses those literal markers; no real report does.
"""

from __future__ import annotations

import re

# ChatML and the other common templates' control tokens: <|...|>, <s>, </s>, [INST] …
_CONTROL = re.compile(
    r"<\|[^|<>\n]{1,40}\|>|</?s>|\[/?INST\]|<<SYS>>|<</SYS>>|<start_of_turn>|<end_of_turn>"
)


def shingles(text: str, n: int = 6) -> set[str]:
    """The ``n``-word runs of ``text`` (lower case): a shared one means copied text."""
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def leaks_system_prompt(answer: str, system_prompt: str) -> bool:
    """Whether ``answer`` repeats a 6-word run of the system prompt."""
    return bool(shingles(answer) & shingles(system_prompt))


def strip_control_tokens(text: str) -> str:
    return _CONTROL.sub(" ", text) if ("<" in text or "[" in text) else text


_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?:|ftp:|mailto:|//)[^)\n]*\)", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>\n]{0,500}>")


def strip_active_markup(text: str) -> str:
    """Model output without images, HTML tags and outside links (their text stays).

    The page sanitises again before display; this keeps such payloads out of ``Answer.text``
    itself, so the audit log, the CLI and exports never carry a URL the model made up.
    """
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    return _HTML_TAG.sub("", text)
