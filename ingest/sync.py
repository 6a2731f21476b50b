"""Sync the index with a folder: add new documents, replace changed ones, drop removed ones.

How a run goes (``sync``):

1. **Lock.** One writer at a time. A local index: ``fcntl.flock`` on
   ``<store.path>/ingest.lock``, which the kernel releases when the process ends in any way
   (also ``kill -9``). A Chroma server shared by replicas: the writer lease in the store itself
   (``Store.writer_lease``: atomic create of a lease collection, expiry, renewal on every
   progress step), so two replicas never build at once; the publish is refused if the active
   generation moved anyway (``Store.publish(expect=...)``). Without ``wait`` a second writer
   gets ``IngestBusy``/``LeaseBusy`` at once (the CLI exits with code 2). Each document records
   the replica that ingested it (``origin``: host and folder); a replica removes only its own
   documents from a shared index, and carries the others over unchanged.
2. **Plan.** Every document file in the folder (top level; hidden files, sidecars
   ``*.meta.json`` and folders are not documents) is checked without parsing: type, size,
   empty, content hash (sha256 of the bytes), duplicate content, a name clash with another
   extension (both would get the same chunk ids). Against the active manifest: same hash and
   same sidecar values -> unchanged; else new or changed.
3. **Prepare.** New and changed files are loaded, cleaned and chunked in memory (no
   embedding yet). A file that fails is skipped with a one-line reason; the run goes on.
4. **Nothing changed?** Then no new generation is written at all (only the manifest's list
   of skipped files is refreshed when that changed, in place).
5. **Build.** A complete new generation: unchanged documents are *copied* from the active
   generation with their stored vectors (no embedding), new/changed ones are embedded and
   added, then the keyword index is built from the new collection and saved beside it, and
   the sentence windows (``assistant.windows``) are embedded, reusing the previous
   generation's vectors of unchanged windows.
6. **Publish.** ``store.publish`` switches the manifest to the new generation atomically;
   readers (the chat page) keep using the old generation until that moment. Any exception
   before it (including Ctrl-C) discards the new generation and re-raises: the old index is
   untouched. A killed process leaves an orphan collection that the next run removes.

Trade-offs: a complete generation per run copies every unchanged vector once (cheap next to
embedding, ~1 s per 10k chunks locally), in exchange for an atomic switch and an index that is
never half-updated. The embedding model is recorded in the manifest; when it changes,
everything is re-embedded, because vectors of two models can't be compared. A changed sidecar
re-ingests its document (the metadata is stored with every chunk). Removing a sidecar is not
noticed until the document itself changes or ``--rebuild``. Chunking settings are not
recorded: after changing ``chunk_tokens`` run ``--rebuild``. New and changed documents are
chunked in memory before the first embedding (text only, about 1 KB per chunk), so a run
that would skip every file never creates a generation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.chunks import Chunk, DocumentInfo, indexed_text
from assistant.embeddings import embeddings_label
from assistant.errors import AssistantError
from assistant.settings import Settings
from assistant.store import DocumentEntry, Generation, Manifest, Store
from ingest import loaders
from ingest.clean import clean_document
from ingest.split import split_document

log = logging.getLogger(__name__)

LOCK_NAME = "ingest.lock"
ADD_BATCH = 64  # chunks per embedding + upsert call: progress granularity, bounded memory

# Dutch wording of the skip reasons, by LoadError code (the English reason is in the report).
REASONS_NL = {
    "unsupported": "bestandstype wordt niet ondersteund",
    "too_large": "te groot",
    "empty": "leeg bestand",
    "encrypted": "versleutelde PDF (wachtwoord nodig)",
    "corrupt": "beschadigd of onleesbaar bestand",
    "no_text_layer": "geen tekstlaag (gescand?)",
    "no_text": "geen tekst gevonden",
    "duplicate": "dubbel",
    "name_clash": "zelfde naam als een ander document",
    "unreadable": "kan het bestand niet lezen",
    "error": "onverwachte fout bij het lezen",
}


class IngestBusy(AssistantError):
    """Another ingest holds the lock."""

    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"Er loopt al een indexering{who}; probeer het straks opnieuw.",
            hint="wacht tot die klaar is, of gebruik `python -m ingest --wait`",
        )
        self.pid = pid

    @property
    def english(self) -> str:
        return f"another ingest is running (pid {self.pid or 'unknown'})"


class IngestDiskFull(AssistantError, OSError):
    """The disk filled up while writing the new generation; the previous index stays.

    Also an ``OSError`` with ``errno.ENOSPC``, so code that handles disk errors still does.
    """

    def __init__(self, cause: BaseException) -> None:
        AssistantError.__init__(
            self,
            "De schijf is vol: de nieuwe index kon niet worden opgeslagen. "
            "De vorige index blijft in gebruik.",
            hint="maak schijfruimte vrij en start de indexering opnieuw",
        )
        self.errno = errno.ENOSPC
        self.strerror = getattr(cause, "strerror", None) or os.strerror(errno.ENOSPC)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # Chroma reports SQLite's SQLITE_FULL as its own error type, with the text only.
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text


@dataclass
class Skipped:
    file: str
    reason: str  # one line, English (CLI, JSON)
    code: str = "error"
    detail: str = ""  # for the Dutch line: the other file of a duplicate, the size ...

    @property
    def reason_nl(self) -> str:
        text = REASONS_NL.get(self.code, REASONS_NL["error"])
        return f"{text}: {self.detail}" if self.detail else text

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason}

    def to_manifest(self) -> dict[str, str]:
        """As kept in the manifest: with the Dutch reason for the beheer page."""
        return {**self.to_dict(), "reden": self.reason_nl}


@dataclass
class ProgressEvent:
    """One step of a run, for a progress bar: ``done`` of ``total`` files are settled."""

    file: str  # "" for steps that concern the whole index
    # unchanged | skipped | reading | embedding | added | updated | removed (per file);
    # copying | keyword | windows | publishing | done (whole index)
    status: str
    done: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    published: bool = False  # a new generation was published
    generation: int | None = None  # the active generation after the run
    documents: int = 0  # documents in the active index after the run
    chunks: int = 0  # chunks in the active index after the run
    embedded: int = 0  # chunks embedded in this run
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    @property
    def exit_code(self) -> int:
        return 1 if self.skipped else 0

    def to_json_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [s.to_dict() for s in self.skipped],
            "published": self.published,
            "generation": self.generation,
            "documents": self.documents,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 2),
        }

    def summary_lines(self) -> list[str]:
        """The report for the CLI, in English."""
        lines = [
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}",
        ]
        for s in self.skipped:
            lines.append(f"  skipped {s.file}: {s.reason}")
        if self.published:
            lines.append(
                f"published generation {self.generation}: {self.documents} documents, "
                f"{self.chunks} chunks ({self.embedded} embedded) in {self.seconds:.1f} s"
            )
        else:
            lines.append(f"nothing changed; index left as it was ({self.chunks} chunks)")
        return lines

    def to_dutch_lines(self) -> list[str]:
        """The report in Dutch, one line per item, for the beheer page."""

        def docs(n: int) -> str:
            return f"{n} document" if n == 1 else f"{n} documenten"

        def files(n: int) -> str:
            return f"{n} bestand" if n == 1 else f"{n} bestanden"

        lines: list[str] = []
        if self.added:
            lines.append(f"{docs(len(self.added))} toegevoegd: {', '.join(self.added)}")
        if self.updated:
            lines.append(f"{docs(len(self.updated))} bijgewerkt: {', '.join(self.updated)}")
        if self.removed:
            lines.append(
                f"{docs(len(self.removed))} uit de index gehaald: {', '.join(self.removed)}"
            )
        if self.unchanged:
            lines.append(f"{docs(len(self.unchanged))} ongewijzigd")
        if self.skipped:
            lines.append(f"{files(len(self.skipped))} overgeslagen:")
            lines.extend(f"• {s.file}: {s.reason_nl}" for s in self.skipped)
        if self.published:
            lines.append(
                f"De index is bijgewerkt: {docs(self.documents)}, {self.chunks} passages "
                f"(generatie {self.generation}), in {self.seconds:.0f} s."
            )
        else:
            lines.append("Niets veranderd: de index is niet opnieuw opgebouwd.")
        return lines


# ----------------------------------------------------------------------------------------
# Lock
# ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def ingest_lock(store_path: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``<store_path>/ingest.lock`` exclusively; ``IngestBusy`` if taken and not ``wait``."""
    store_path.mkdir(parents=True, exist_ok=True)
    path = store_path / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise IngestBusy(_lock_pid(fd)) from None
        # The holder's pid, for the "another ingest is running (pid N)" message. The file
        # itself is never deleted: unlinking a lock file races with the next locker.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


# ----------------------------------------------------------------------------------------
# Planning
# ----------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    path: Path
    hash: str
    sidecar: dict[str, str]


@dataclass
class _Prepared:
    path: Path
    hash: str
    info: DocumentInfo
    chunks: list[Chunk]
    pages: int


def scan_folder(corpus_dir: Path) -> list[Path]:
    """The document files of ``corpus_dir`` (top level), sorted by name."""
    if not corpus_dir.is_dir():
        raise AssistantError(
            f"De documentenmap {corpus_dir} bestaat niet.",
            hint="maak hem aan of geef een andere map met --corpus",
        )
    out = []
    for path in corpus_dir.iterdir():
        if path.name.startswith(".") or loaders.is_sidecar(path):
            continue
        if path.is_symlink() and not path.exists():
            continue
        if path.is_file():
            out.append(path)
    return sorted(out, key=lambda p: p.name)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sidecar_matches(entry: DocumentEntry, sidecar: dict[str, str]) -> bool:
    return all(getattr(entry, key, None) == value for key, value in sidecar.items())


def _mb(n: float) -> str:
    if n < 100_000:
        return f"{n / 1000:.0f} KB"
    return f"{n / 1_000_000:.1f} MB".replace(".0 MB", " MB")


def chunk_stem(path: Path) -> str:
    """The stem used in chunk ids ("stem:page:index"); a ":" in a file name would break them."""
    return path.stem.replace(":", "_")


def prepare_document(
    path: Path, digest: str, sidecar: dict[str, str], settings: Settings
) -> _Prepared:
    """Load, clean and chunk one file (no embedding); ``LoadError`` if it yields nothing."""
    raw = loaders.load(path)
    info = loaders.document_info(path, sidecar, raw.meta)
    pages = clean_document(raw, info.title)
    chunks = split_document(
        pages,
        info,
        stem=chunk_stem(path),
        chunk_tokens=settings.ingest.chunk_tokens,
        chunk_overlap=settings.ingest.chunk_overlap,
        doc_hash=digest,
        keep_lists=settings.ingest.keep_lists,
    )
    if not chunks:
        if raw.fmt == "pdf":
            raise loaders.LoadError("no_text_layer", "no text layer (scanned?)")
        raise loaders.LoadError("no_text", "no text found")
    return _Prepared(path, digest, info, chunks, len(pages))


# ----------------------------------------------------------------------------------------
# Sync
# ----------------------------------------------------------------------------------------


def sync(
    settings: Settings,
    store: Store,
    corpus_dir: Path | None = None,
    *,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    wait: bool = False,
) -> SyncReport:
    """Bring the index in line with ``corpus_dir`` (default: ``settings.ingest.corpus``).

    Raises ``IngestBusy`` when another ingest runs (unless ``wait``). Any other exception
    leaves the published index as it was.
    """
    corpus_dir = Path(corpus_dir or settings.ingest.corpus)
    report = progress or (lambda e: None)
    store.settings.path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (corpus_dir, store.settings.path):  # documents and their index: owner-only
        make_private(folder)
    if not store.settings.chroma_host:  # one folder, one machine: the kernel's lock
        with ingest_lock(store.settings.path, wait=wait):
            return _sync_locked(settings, store, corpus_dir, rebuild, report)
    # a server shared by replicas: the lock lives in the store itself
    with store.writer_lease(replica_origin(corpus_dir), wait=wait) as lease:

        def renewing(event: ProgressEvent) -> None:
            lease.renew()
            report(event)

        return _sync_locked(settings, store, corpus_dir, rebuild, renewing)


def make_private(folder: Path) -> None:
    """Take group/other access off a folder of ours (a missing one is left missing):
    whatever modes the files inside have, nobody else can then reach them."""
    if not folder.is_dir():
        return
    try:
        if folder.stat().st_uid == os.getuid() and folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)
    except OSError as exc:  # not ours to change: say so, do not fail the ingest
        log.warning("could not make %s private: %s", folder, exc)


def replica_origin(corpus_dir: Path) -> str:
    """Who ingests: this machine and its documents folder (recorded per document)."""
    return f"{socket.gethostname()}:{Path(corpus_dir).resolve()}"


def _sync_locked(
    settings: Settings,
    store: Store,
    corpus_dir: Path,
    rebuild: bool,
    progress: ProgressCallback,
) -> SyncReport:
    run = _Run(settings, store, corpus_dir, rebuild, progress)
    run.plan()
    run.prepare()
    if run.nothing_changed():
        return run.keep_index()
    return run.build_and_publish()


class _Run:
    """The state of one sync run; the steps are the methods, in the order ``sync`` calls them."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        corpus_dir: Path,
        rebuild: bool,
        progress: ProgressCallback,
    ) -> None:
        self.settings = settings
        self.store = store
        self.corpus_dir = corpus_dir
        self.progress = progress
        self.started = time.monotonic()
        self.report = SyncReport()
        self.previous = store.manifest(max_age_s=0)
        self.label = index_label(store.embeddings, settings.ingest.chunk_context)
        self.origin = replica_origin(corpus_dir)
        self.can_copy = self.previous is not None and self._can_reuse()
        self.reuse = self.can_copy and not rebuild
        self.old_docs = self.previous.documents if self.reuse and self.previous else {}
        self.foreign: list[str] = []  # documents other replicas ingested: kept as they are
        self.files: list[Path] = []
        self.total = 0
        self.done = 0
        self.unchanged: list[str] = []
        self.candidates: list[_Candidate] = []
        self.prepared: list[_Prepared] = []

    def _can_reuse(self) -> bool:
        """May unchanged documents be copied from the active generation?"""
        assert self.previous is not None
        if self.previous.embedding_model != self.label:
            log.warning(
                "embedding model changed (%s -> %s): re-embedding every document",
                self.previous.embedding_model,
                self.label,
            )
            return False
        try:
            self.store.active_collection()
        except AssistantError as exc:
            log.warning("active collection unreadable (%s): rebuilding from scratch", exc)
            return False
        return True

    def event(self, file: str, status: str, detail: str = "") -> None:
        self.progress(ProgressEvent(file, status, self.done, self.total, detail))

    def skip(self, name: str, code: str, reason: str, detail: str = "") -> None:
        self.report.skipped.append(Skipped(name, reason, code, detail))
        self.done += 1
        log.info("skipped %s: %s", name, reason)
        self.event(name, "skipped", reason)

    # -- 1. plan: cheap checks and the content hash, no parsing ------------------------------
    def _precedence(self, path: Path) -> tuple:
        # Who wins when two files have the same content (or the same stem): one already in
        # the index, then one with a sidecar, then the older file (a copy is the newer one).
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = float("inf")
        has_sidecar = loaders.sidecar_path(path).is_file()
        return (path.name not in self.old_docs, not has_sidecar, mtime, path.name)

    def plan(self) -> None:
        self.files = scan_folder(self.corpus_dir)
        self.total = len(self.files)
        by_hash: dict[str, str] = {}
        by_stem: dict[str, str] = {}
        for path in sorted(self.files, key=self._precedence):
            digest = self._check(path)
            if digest is None:
                continue
            name = path.name
            if digest in by_hash:
                self.skip(name, "duplicate", f"duplicate of {by_hash[digest]}", by_hash[digest])
                continue
            stem_key = chunk_stem(path).lower()
            other = by_stem.get(stem_key)
            if other is not None:
                self.skip(
                    name, "name_clash", f"same name as {other} (its chunks would collide)", other
                )
                continue
            by_hash[digest] = by_stem[stem_key] = name
            sidecar = loaders.read_sidecar(path)
            entry = self.old_docs.get(name)
            if entry is not None and entry.hash == digest and _sidecar_matches(entry, sidecar):
                self.unchanged.append(name)
                self.done += 1
                self.event(name, "unchanged")
            else:
                self.candidates.append(_Candidate(path, digest, sidecar))

    def _check(self, path: Path) -> str | None:
        """The file's hash, or None after skipping it (type, size, empty, unreadable)."""
        name = path.name
        if not loaders.is_supported(path):
            ext = path.suffix.lower() or "(none)"
            self.skip(name, "unsupported", f"unsupported file type {ext}", ext)
            return None
        limit = loaders.max_file_bytes(self.settings)
        try:
            size = path.stat().st_size
            if size > limit:
                self.skip(
                    name,
                    "too_large",
                    f"too large: {_mb(size)} (limit {_mb(limit)})",
                    f"{_mb(size)}, maximum {_mb(limit)}".replace(".", ","),
                )
                return None
            if size == 0:
                self.skip(name, "empty", "empty file")
                return None
            return file_hash(path)
        except OSError as exc:
            self.skip(name, "unreadable", f"cannot read file: {exc.strerror or exc}")
            return None

    # -- 2. prepare: load, clean, chunk new and changed files ---------------------------------
    def prepare(self) -> None:
        for cand in self.candidates:
            name = cand.path.name
            self.event(name, "reading")
            try:
                self.prepared.append(
                    prepare_document(cand.path, cand.hash, cand.sidecar, self.settings)
                )
            except loaders.LoadError as exc:
                self.skip(name, exc.code, exc.reason)
            except OSError as exc:
                self.skip(name, "unreadable", f"cannot read file: {exc.strerror or exc}")
            except Exception as exc:  # a bug in a parser must not stop the whole library
                log.warning("unexpected error reading %s", name, exc_info=True)
                self.skip(
                    name, "error", f"could not read: {type(exc).__name__}: {loaders._short(exc)}"
                )

        report = self.report
        kept = set(self.unchanged) | {p.path.name for p in self.prepared}
        before = self.previous.documents if self.previous else {}
        report.unchanged = sorted(self.unchanged)
        gone = [n for n in before if n not in kept]
        # a replica removes only what it ingested itself ("" = from before origins existed)
        self.foreign = sorted(n for n in gone if before[n].origin not in ("", self.origin))
        report.removed = sorted(n for n in gone if n not in self.foreign)
        if self.foreign and not self.can_copy:
            raise AssistantError(
                "De index bevat documenten van een andere replica die hier niet opnieuw "
                "kunnen worden ingelezen (ander embeddingmodel of onleesbare index).",
                hint="bouw de gedeelde index opnieuw op vanaf één plek met alle documenten",
            )
        for prep in self.prepared:
            name = prep.path.name
            (report.updated if name in self.old_docs else report.added).append(name)
        report.added.sort()
        report.updated.sort()
        report.skipped.sort(key=lambda s: s.file)

    # -- 3a. nothing changed: keep the index ------------------------------------------------
    def nothing_changed(self) -> bool:
        return (
            self.previous is not None
            and self.reuse
            and not self.prepared
            and not self.report.removed
            and self._windows_current()
        )

    def _windows_current(self) -> bool:
        """Are the active generation's sentence windows what the settings ask for? (A
        changed ``window_sentences`` builds a new generation: chunks copied, windows new.)"""
        size = self.settings.ingest.window_sentences
        if not size or self.previous is None:
            return True
        from assistant.windows import WindowIndex

        try:
            index = WindowIndex.load(self.store.windows_dir(self.previous.collection))
        except (OSError, ValueError):
            return False
        return index.size == size and index.model == self.label

    def keep_index(self) -> SyncReport:
        previous = self.previous
        assert previous is not None
        rows = [s.to_manifest() for s in self.report.skipped]
        if rows != previous.skipped:
            # The index itself is unchanged; only the list of skipped files is refreshed.
            previous.skipped = rows
            previous.synced_at = _now()
            self.store.publish(previous, expect=previous.generation)
        self.report.generation = previous.generation
        self.report.documents = len(previous.documents)
        self.report.chunks = previous.chunk_count
        return self._finish()

    # -- 3b. build a complete new generation and publish it ---------------------------------
    def build_and_publish(self) -> SyncReport:
        try:
            return self._build_and_publish()
        except Exception as exc:
            if _is_disk_full(exc) and not isinstance(exc, IngestDiskFull):
                raise IngestDiskFull(exc) from exc
            raise

    def _build_and_publish(self) -> SyncReport:
        store = self.store
        gen = store.new_generation()
        try:
            documents = self._fill(gen)
            self.event("", "keyword")
            from assistant.keyword import KeywordIndex

            all_chunks = [c for c, _ in store.iter_chunks(gen.name)]
            headings = self.settings.ingest.chunk_context != "none"
            KeywordIndex.build(all_chunks, headings).save(store.keyword_dir(gen.name))
            self._build_windows(gen, all_chunks)
            manifest = Manifest(
                collection=gen.name,
                generation=gen.number,
                synced_at=_now(),
                embedding_model=self.label,
                documents=dict(sorted(documents.items())),
                skipped=[s.to_manifest() for s in self.report.skipped],
            )
            self.event("", "publishing")
            store.publish(manifest, expect=gen.base.generation if gen.base else None)
        except BaseException:
            log.warning("ingest failed; discarding unfinished generation %s", gen.name)
            gen.discard()
            raise
        for name in self.report.removed:
            self.event(name, "removed")
        self.report.published = True
        self.report.generation = gen.number
        self.report.documents = len(documents)
        self.report.chunks = len(all_chunks)
        return self._finish()

    def _build_windows(self, gen: Generation, chunks: list[Chunk]) -> None:
        """The sentence windows of every chunk (``assistant.windows``); windows of the
        previous generation with the same text keep their vectors."""
        size = self.settings.ingest.window_sentences
        if not size:
            return
        from assistant.windows import WindowIndex

        previous = None
        if self.reuse and self.previous is not None:
            try:
                previous = WindowIndex.load(self.store.windows_dir(self.previous.collection))
            except (OSError, ValueError):
                previous = None  # none yet: every window is embedded

        def progress(done: int, total: int) -> None:
            self.event("", "windows", f"{done}/{total}")

        self.event("", "windows")
        index = WindowIndex.build(
            chunks, self.store.embeddings.embed_documents, size, self.label, previous, progress
        )
        index.save(self.store.windows_dir(gen.name))

    def _fill(self, gen: Generation) -> dict[str, DocumentEntry]:
        """Copy the unchanged documents, embed and add the new and changed ones."""
        documents: dict[str, DocumentEntry] = {}
        before = self.previous.documents if self.previous else {}
        carried = self.unchanged + self.foreign
        if carried:
            self.event("", "copying", f"{len(carried)} unchanged")
            copied = gen.copy_from_active(carried)
            expected = sum(before[n].chunks for n in carried)
            if copied != expected:
                log.warning(
                    "copied %d chunks of unchanged documents, manifest says %d", copied, expected
                )
            documents.update({n: before[n] for n in self.foreign})
            documents.update(
                {n: dataclasses.replace(before[n], origin=self.origin) for n in self.unchanged}
            )
        now = _now()
        for prep in self.prepared:
            name = prep.path.name
            for i in range(0, len(prep.chunks), ADD_BATCH):
                self.event(name, "embedding", f"{i}/{len(prep.chunks)} chunks")
                batch = prep.chunks[i : i + ADD_BATCH]
                gen.add(batch, self.store.embeddings.embed_documents(self._embedded(batch)))
            self.report.embedded += len(prep.chunks)
            info = prep.info
            documents[name] = DocumentEntry(
                source=name,
                hash=prep.hash,
                chunks=len(prep.chunks),
                title=info.title,
                organisation=info.organisation,
                date=info.date,
                kind=info.kind,
                collection=info.collection,
                pages=prep.pages,
                ingested_at=now,
                origin=self.origin,
            )
            self.done += 1
            status = "updated" if name in self.old_docs else "added"
            self.event(name, status, f"{len(prep.chunks)} chunks")
        return documents

    def _embedded(self, chunks: list[Chunk]) -> list[str]:
        """What is embedded of each chunk (``ingest.chunk_context``); Chroma keeps the text."""
        mode = self.settings.ingest.chunk_context
        if mode == "none":
            return [c.text for c in chunks]
        return [indexed_text(c, title=mode == "title") for c in chunks]

    def _finish(self) -> SyncReport:
        self.report.seconds = time.monotonic() - self.started
        self.done = self.total
        self.event("", "done")
        return self.report


def index_label(embeddings: object, chunk_context: str) -> str:
    """The embedder and what of a chunk it embedded: another value re-embeds everything."""
    label = embeddings_label(embeddings)  # type: ignore[arg-type]
    return label if chunk_context == "none" else f"{label}; {chunk_context} + heading context"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
