"""Save an uploaded file into the documents folder, safely (used by the beheer page).

The page calls ``save_upload`` and then ``ingest.sync.sync`` with a progress callback, and
shows ``SyncReport.to_dutch_lines()``.

What ``save_upload`` guards against:

* **Path traversal and odd names**: only the last path component is kept (both ``/`` and
  ``\\`` count as separators, so "../../etc/passwd" and "C:\\map\\x.pdf" become "passwd" and
  "x.pdf"); control and format characters are removed; characters that are unsafe in file
  names on common systems become "_"; leading dots go (no hidden files, no "..").
  Names are Unicode-normalised (NFC) and shortened to 120 characters, keeping the extension.
* **Unsupported types and oversize files** are refused with an ``AssistantError`` whose
  message is Dutch (shown as is on the page); so is a DOCX (a zip) that would unpack to more
  than ten times the upload limit (a zip bomb: the packed size says nothing about the memory
  python-docx needs). The DOCX loader has the same guard for files put in the folder by hand.
* **Collections**: the document joins the collection the uploader chose (written to its
  sidecar ``.meta.json``), which must be one the uploader may write; an existing document in
  another collection is not replaced.
* **Size**: ``max_file_bytes`` (decimal MB) is the same limit ingest applies.
* **Symlinks**: an existing link with the target name is replaced, never written through.
  Files are written owner-only (0600), the folder created 0700.
* **Half-written files**: the data goes to a hidden temporary file in the same folder (which
  ``sync`` ignores), is flushed to disk, and is then renamed onto the final name in one
  atomic step. A file with the same name is replaced: that is how a new version of a document
  is uploaded (``sync`` then reports it as updated).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path

from assistant.access import COLLECTION_RE
from assistant.errors import AssistantError
from ingest.loaders import (
    MAX_UNPACKED_BYTES,
    SIDECAR_SUFFIX,
    SUPPORTED_EXTENSIONS,
    read_sidecar,
    sidecar_path,
    unpacked_size,
    zip_bomb_reason,
)

MAX_NAME = 120
_UNSAFE = re.compile(r'[<>:"/\\|?*]')


def safe_filename(filename: str) -> str:
    """A safe base name for ``filename`` (see the module docstring); ``AssistantError`` if none."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = " ".join(name.split())  # no tabs/newlines (already gone) or runs of spaces
    name = name.lstrip(". ").rstrip(". ")
    stem, ext = os.path.splitext(name)
    if not stem or not ext:
        raise AssistantError(
            "Ongeldige bestandsnaam: gebruik een naam met een extensie, zoals rapport.pdf."
        )
    if len(name) > MAX_NAME:
        name = stem[: MAX_NAME - len(ext)].rstrip(". ") + ext
    return name


def save_upload(
    corpus_dir: Path,
    filename: str,
    data: bytes,
    max_bytes: int,
    *,
    collection: str = "algemeen",
    writable: set[str] | None = None,
) -> Path:
    """Write ``data`` as ``corpus_dir/<safe name>`` atomically; return the path written.

    ``collection``: the access group the document joins (its sidecar ``.meta.json`` says so);
    ``writable``: the collections the uploader may write (None = all). A document that
    already exists in a collection the uploader may not write is not replaced.
    """
    name = safe_filename(filename)
    ext = Path(name).suffix.lower()
    allowed = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    if name.lower().endswith(SIDECAR_SUFFIX) or ext not in SUPPORTED_EXTENSIONS:
        raise AssistantError(f"Bestandstype '{ext}' wordt niet ondersteund. Toegestaan: {allowed}.")
    if len(data) > max_bytes:
        raise AssistantError(
            f"Het bestand is te groot: {_mb(len(data))} (maximum {_mb(max_bytes)})."
        )
    if not data:
        raise AssistantError("Het bestand is leeg.")
    if ext == ".docx":
        _refuse_zip_bomb(data, max_bytes)

    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = corpus_dir / name
    sidecar = _checked_sidecar(target, collection, writable)
    # Belt and braces after sanitising. The last component is not resolved: if it is a
    # symlink, os.replace swaps the link itself and never writes through it.
    if target.parent.resolve() != corpus_dir.resolve():
        raise AssistantError("Ongeldige bestandsnaam.")
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=corpus_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # documents may be confidential: owner only
        if sidecar:  # only when the collection is not already the default "algemeen"
            _write_private(sidecar_path(target), json.dumps(sidecar, ensure_ascii=False))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def _checked_sidecar(target: Path, collection: str, writable: set[str] | None) -> dict:
    """The sidecar to write for ``target`` in ``collection``, or a Dutch refusal."""
    if not COLLECTION_RE.match(collection or ""):
        raise AssistantError("Kies een geldige collectie voor het document.")
    if writable is not None and collection not in writable:
        raise AssistantError(f"U mag geen documenten toevoegen aan de collectie '{collection}'.")
    current = read_sidecar(target) if target.exists() or target.is_symlink() else {}
    if target.exists() and writable is not None:
        now = current.get("collection") or "algemeen"
        if now not in writable:
            raise AssistantError(
                f"Er bestaat al een document '{target.name}' in een collectie die u niet "
                "mag wijzigen; kies een andere bestandsnaam."
            )
    if collection == "algemeen" and "collection" not in current:
        return {}  # no sidecar needed: documents without one are in "algemeen"
    return {**current, "collection": collection}


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` owner-only and atomically (a link at ``path`` is replaced, not followed)."""
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refuse_zip_bomb(data: bytes, max_bytes: int) -> None:
    """A DOCX that unpacks far beyond the upload limit is refused before it reaches a parser."""
    import zipfile

    try:
        unpacked = unpacked_size(data)
    except zipfile.BadZipFile:
        return  # not a zip at all: ingest skips it as a damaged file, with a reason
    limit = min(MAX_UNPACKED_BYTES, 10 * max_bytes)
    if zip_bomb_reason(unpacked, len(data), limit):
        raise AssistantError(
            f"Het bestand pakt uit tot {_mb(unpacked)}; dat is te groot "
            f"(maximum {_mb(limit)} uitgepakt)."
        )


def _mb(n: int) -> str:
    value = n / 1_000_000
    text = f"{value:.1f}".replace(".", ",")
    return f"{text.removesuffix(',0')} MB"
