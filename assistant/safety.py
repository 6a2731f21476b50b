"""Text that must not act: chat-template tokens on the way in, active markup on the way out.

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


# ------------------------------------------------------------------------ markup that acts
# One set of patterns for markup that does something when shown: fetches an address (images),
# runs or hides (HTML), leads elsewhere (links). ``strip_active_markup`` keeps it out of the
# stored answer; ``sanitize_model_output`` makes any model text safe to show as Markdown.

_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>|<![A-Za-z][^<>]*>|<\?[^<>]*\?>")
_MD_IMAGE_RE = re.compile(r"!\[([^\[\]]*)\](\s*)(?:\([^()]*(?:\([^()]*\)[^()]*)*\)|\[[^\[\]]*\])")
_MD_LINK_RE = re.compile(r"\[([^\[\]]*)\](\s*)\(((?:[^()]|\([^()]*\))*)\)")
_MD_REF_LINK_RE = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_MD_LINK_DEF_RE = re.compile(r"^[ \t]{0,3}\[[^\[\]]+\]:[ \t]*\S+.*$", re.M)
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto|file|javascript|data):[^<>\s]*)>", re.I)
_BARE_URL_RE = re.compile(
    r"(?<![\w`/])((?:(?:https?|ftp|file)://|www\.)[^\s<>`]*[^\s<>`.,;:!?)\]'\"”])", re.I
)
_OUTSIDE_RE = re.compile(r"(?:https?:|ftp:|mailto:|//)", re.I)


def has_link(text: str) -> bool:
    """Whether ``text`` holds a bare web address ("https://…", "www.…")."""
    return bool(_BARE_URL_RE.search(text))


def _outside_link(m: re.Match[str]) -> str:
    """A link to another address as its text; anything else (a "[1] (zie tabel)" after a
    marker, a relative target) stays as written."""
    if m.group(1) and not m.group(2) and _OUTSIDE_RE.match(m.group(3)):
        return m.group(1)
    return m.group(0)


def _joined_image(m: re.Match[str]) -> str:
    """An image written as one piece goes; "Let op![1] [2]" keeps its markers."""
    return m.group(0) if m.group(2) else ""


def _deactivate(text: str, *, display: bool) -> str:
    """``text`` without HTML comments and tags, markdown images and links to other addresses
    (their text stays); with ``display`` also every other link, reference link, link
    definition and autolink (its address stays as text)."""
    out = text
    for _ in range(5):  # removing one construct can expose another: repeat until stable
        before = out
        out = _HTML_COMMENT_RE.sub("", out)
        if display:
            out = _AUTOLINK_RE.sub(lambda m: m.group(1), out)
        out = _HTML_TAG_RE.sub("", out)
        out = _MD_IMAGE_RE.sub("" if display else _joined_image, out)
        if display:
            out = _MD_LINK_RE.sub(lambda m: m.group(1), out)
            out = _MD_REF_LINK_RE.sub(lambda m: m.group(1), out)
            out = _MD_LINK_DEF_RE.sub("", out)
        else:
            out = _MD_LINK_RE.sub(_outside_link, out)
        if out == before:
            break
    return out


def strip_active_markup(text: str) -> str:
    """Model output without images, HTML comments and tags and outside links (their text
    stays).

    The page sanitises again before display (``sanitize_model_output``); this keeps such
    payloads out of ``Answer.text`` itself, so the audit log, the CLI and exports never carry
    a URL the model made up. Citation markers stay: the answer check reads them next.
    """
    return _deactivate(text, display=False)


def sanitize_model_output(text: str) -> str:
    """Model text made safe to show as Markdown.

    ``strip_active_markup``, and also every link turned into its text (the page adds its own
    links to the sources afterwards), link definitions removed; bare addresses are shown as
    code so they are not clickable, and ``$`` is escaped so amounts are not read as formulas.
    """
    if not text:
        return ""
    out = _deactivate(text.replace("\r\n", "\n"), display=True)
    out = out.replace("<", "&lt;").replace(">", "&gt;")
    out = _BARE_URL_RE.sub(lambda m: f"`{m.group(1)}`", out)
    out = re.sub(r"(?<!\\)\$", r"\\$", out)
    return out.strip()


def plain_stream_text(piece: str) -> str:
    """Escape every Markdown character of a streamed piece so the draft shows as plain text.

    Escaping is per character, so escaped pieces concatenate to the escaped whole: no link,
    image, HTML or formula can form across piece boundaries while the answer is written.
    """
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>$~:&])", r"\\\1", piece)
