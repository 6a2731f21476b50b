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


def strip_control_tokens(text: str) -> str:
    return _CONTROL.sub(" ", text) if ("<" in text or "[" in text) else text
