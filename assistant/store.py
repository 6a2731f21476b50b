"""The one module that touches Chroma: open, read, search and write the persisted index.

Layout. Every successful ingest writes a new *generation*: a Chroma collection
``<base>-g<N>`` holding all chunks, plus a keyword index for it. A small manifest (JSON in the
metadata of the collection ``<base>-manifest``) names the active generation and the documents
in it. Switching generations is one metadata update, which Chroma commits atomically, so a
reader (the chat page, another replica) sees the old index or the new one, never a mix; a
failed or killed ingest leaves only an orphan collection that the next ingest removes. The
generation a publish replaces stays until the next publish, so a reader holding the previous
manifest (cached up to ``max_age_s``) finishes its query instead of hitting a dropped
collection. Trade-off: unchanged documents are copied (with their stored vectors, no
re-embedding) into every new generation, which costs a little disk and time but keeps the
switch atomic on both the embedded ``PersistentClient`` and a Chroma server
(``chroma run``), where a local pointer file would not be shared between replicas.

The keyword index is derived data: ingest builds it before the switch, and a reader that lacks
it for the active generation (another machine) rebuilds it from the collection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.chunks import Chunk
from assistant.errors import AssistantError, IndexMissing
from assistant.settings import StoreSettings

log = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_PAGE = 500  # rows per Chroma get() call when reading a whole collection
LEASE_TTL_S = 600.0  # a writer renews well within this; a dead one blocks at most this long


@dataclass
class DocumentEntry:
    source: str
    hash: str
    chunks: int
    title: str = ""
    organisation: str = ""
    date: str = ""
    kind: str = ""
    collection: str = "algemeen"
    pages: int = 1
    ingested_at: str = ""
    origin: str = ""  # the replica (host:corpus folder) that ingested it; "" = before origins


@dataclass
class Manifest:
    collection: str
    generation: int
    synced_at: str
    embedding_model: str
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "collection": self.collection,
            "generation": self.generation,
            "synced_at": self.synced_at,
            "embedding_model": self.embedding_model,
            "documents": {k: vars(v) for k, v in self.documents.items()},
            "skipped": self.skipped,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        docs = {k: DocumentEntry(**v) for k, v in data.get("documents", {}).items()}
        return cls(
            collection=data["collection"],
            generation=int(data["generation"]),
            synced_at=data.get("synced_at", ""),
            embedding_model=data.get("embedding_model", ""),
            documents=docs,
            skipped=list(data.get("skipped", [])),
        )

    @property
    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents.values())


def _where(collections: set[str] | None, sources: list[str] | None = None) -> dict[str, Any] | None:
    """Chroma's ``where`` for chunks of ``collections`` (None: all; an empty set: none) and,
    when given, of ``sources``."""
    clauses: list[dict[str, Any]] = []
    if collections is not None:
        if not collections:  # Chroma rejects an empty $in; match a name no chunk has instead
            clauses.append({"collection": {"$eq": "\x00geen-toegang"}})
        else:
            clauses.append({"collection": {"$in": sorted(collections)}})
    if sources:
        clauses.append({"source": {"$in": sorted(sources)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Store:
    """Reader and writer of the index. Safe to share between threads of one process."""

    def __init__(self, settings: StoreSettings, embeddings: Embeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._client: Any = None
        self._lock = threading.RLock()
        self._manifest_cache: tuple[float, Manifest | None] | None = None

    # -- connection -------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma_host:
            try:
                return chromadb.HttpClient(
                    host=self.settings.chroma_host,
                    port=self.settings.chroma_port,
                    settings=chroma_settings,
                )
            except Exception as exc:  # chromadb raises plain ValueError/ConnectionError
                raise IndexMissing(
                    f"De Chroma-server op {self.settings.chroma_host}:"
                    f"{self.settings.chroma_port} is niet bereikbaar.",
                    hint="controleer RAG_STORE__CHROMA_HOST en of `chroma run` draait",
                ) from exc
        self.settings.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return chromadb.PersistentClient(path=str(self.settings.path), settings=chroma_settings)
        except Exception as exc:
            raise IndexMissing(
                f"De index in {self.settings.path} is beschadigd of onleesbaar.",
                hint="zet een back-up terug met `make restore BACKUP=…`, of verwijder de map "
                "en bouw opnieuw met `make index`",
            ) from exc

    @property
    def location(self) -> str:
        if self.settings.chroma_host:
            return f"Chroma-server {self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.path)

    # -- manifest ---------------------------------------------------------------------------
    @property
    def _manifest_name(self) -> str:
        return f"{self.settings.collection}-manifest"

    def manifest(self, max_age_s: float = 2.0) -> Manifest | None:
        """The active manifest, or None when nothing was ingested yet (cached briefly)."""
        now = time.monotonic()
        cached = self._manifest_cache
        if cached is not None and now - cached[0] < max_age_s:
            return cached[1]
        manifest = self._read_manifest()
        self._manifest_cache = (now, manifest)
        return manifest

    def _read_manifest(self) -> Manifest | None:
        if not self.settings.chroma_host and not (self.settings.path / "chroma.sqlite3").exists():
            return None
        from chromadb.errors import NotFoundError

        try:
            meta_col = self.client.get_collection(self._manifest_name)
            raw = (meta_col.metadata or {}).get("manifest")
            return Manifest.from_json(raw) if raw else None
        except NotFoundError:  # nothing ingested yet
            return None
        except IndexMissing:
            raise
        except Exception as exc:  # a damaged sqlite file, a half-copied folder, bad JSON
            log.error("index at %s is unreadable: %s", self.location, exc)
            raise IndexMissing(
                f"De index in {self.location} is beschadigd of onleesbaar.",
                hint="zet een back-up terug met `make restore BACKUP=…`, of verwijder de map "
                "en bouw opnieuw met `make index`",
            ) from exc

    def require_manifest(self) -> Manifest:
        manifest = self.manifest()
        if manifest is None:
            raise IndexMissing(
                "Er is nog geen index van de documenten.",
                hint="bouw hem met `make index` of `python -m ingest`",
            )
        return manifest

    # -- reading ----------------------------------------------------------------------------
    def _collection(self, name: str) -> Any:
        try:
            return self.client.get_collection(name)
        except Exception as exc:
            raise IndexMissing(
                "De index is onvolledig of onleesbaar.",
                hint="bouw hem opnieuw met `python -m ingest --rebuild`",
            ) from exc

    def active_collection(self) -> Any:
        return self._collection(self.require_manifest().collection)

    def vector_store(self, collection: str | None = None) -> Any:
        """The LangChain ``Chroma`` view of a collection (the active one by default)."""
        from langchain_chroma import Chroma

        name = collection or self.require_manifest().collection
        return Chroma(
            client=self.client,
            collection_name=name,
            embedding_function=self.embeddings,
            create_collection_if_not_exists=False,
        )

    def dense_search(
        self, query: str, k: int, collections: set[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by cosine similarity to ``query`` (e5 "query: " embedding)."""
        vector = self.embeddings.embed_query(query)
        return self.query(vector, k, collections)

    def query(
        self,
        vector: list[float],
        k: int,
        collections: set[str] | None = None,
        sources: list[str] | None = None,
    ) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by cosine to ``vector``, within ``collections`` and ``sources``."""
        col = self.active_collection()
        n = min(k, col.count())
        if n == 0:
            return []
        res = col.query(
            query_embeddings=[vector],
            n_results=n,
            where=_where(collections, sources),
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for cid, text, meta, dist in zip(
            res["ids"][0],
            res["documents"][0],
            res["metadatas"][0],
            res["distances"][0],
            strict=True,
        ):
            out.append((Chunk.from_metadata(cid, text or "", meta or {}), 1.0 - float(dist)))
        return out

    def vectors(self, ids: list[str]) -> tuple[list[str], Any]:
        """(ids found, their stored vectors as rows): one read by id, no ``where`` scan."""
        if not ids:
            return [], []
        res = self.active_collection().get(ids=ids, include=["embeddings"])
        got = res.get("embeddings")
        if got is None or len(got) == 0:
            return [], []
        return list(res["ids"]), got

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        if not ids:
            return []
        res = self.active_collection().get(ids=ids, include=["documents", "metadatas"])
        by_id = {
            cid: Chunk.from_metadata(cid, text or "", meta or {})
            for cid, text, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(
        self,
        collection: str | None = None,
        where: dict[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> Iterator[tuple[Chunk, list[float] | None]]:
        """Every chunk of a collection (the active one by default), page by page."""
        col = self._collection(collection or self.require_manifest().collection)
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        offset = 0
        while True:
            res = col.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = res["ids"]
            if not ids:
                return
            embs = res.get("embeddings") if with_embeddings else None
            for i, cid in enumerate(ids):
                chunk = Chunk.from_metadata(cid, res["documents"][i] or "", res["metadatas"][i])
                yield chunk, (list(map(float, embs[i])) if embs is not None else None)
            offset += len(ids)

    def all_chunks(self) -> list[Chunk]:
        return [c for c, _ in self.iter_chunks()]

    def keyword_dir(self, collection: str) -> Path:
        return self.settings.path / "keyword" / collection

    def windows_dir(self, collection: str) -> Path:
        """The sentence windows of a generation (``assistant.windows``), next to its
        keyword index."""
        return self.settings.path / "windows" / collection

    # -- the writer lease (a Chroma server shared by replicas) --------------------------------
    @property
    def _lease_name(self) -> str:
        return f"{self.settings.collection}-writer"

    @contextlib.contextmanager
    def writer_lease(
        self, owner: str, *, wait: bool = False, ttl_s: float = LEASE_TTL_S, poll_s: float = 0.5
    ) -> Iterator[WriterLease]:
        """Be the one writer of this index, across every replica that shares the server.

        The lease is a collection ``<base>-writer`` whose metadata names the holder and when
        the lease expires. Creating a collection is atomic on the server (a unique name), so
        of two replicas that try at once exactly one succeeds. A holder that died leaves the
        lease until it expires; one replica then breaks it, and only one can (the break is
        itself a uniquely named collection). The holder renews it while it works
        (``WriterLease.renew``). Raises ``LeaseBusy`` when held and not ``wait``.
        """
        lease = WriterLease(self, owner, ttl_s)
        while not lease.try_acquire():
            if not wait:
                raise LeaseBusy(lease.holder)
            time.sleep(poll_s)
        try:
            yield lease
        finally:
            lease.release()

    # -- writing (ingest only; one writer at a time is ingest's job) ---------------------------
    def new_generation(self) -> Generation:
        current = self.manifest(max_age_s=0)
        number = (current.generation + 1) if current else 1
        name = f"{self.settings.collection}-g{number}"
        try:  # an orphan of a failed run with the same number
            self.client.delete_collection(name)
        except Exception:
            pass
        col = self.client.create_collection(name, configuration={"hnsw": {"space": "cosine"}})
        return Generation(self, name, number, col, current)

    def publish(self, manifest: Manifest, *, expect: int | None = -1) -> None:
        """Make ``manifest`` (and its collection) the active index, atomically.

        ``expect``: the generation the writer started from (None: there was none); when the
        active one is another, somebody else published in between and this one is refused
        (``IndexConflict``) instead of silently replacing their documents. ``-1``: no check.
        Under the writer lease this never fires; it is the check that the lease holds.

        The generation it replaces is kept until the next publish: a reader that read the old
        manifest a moment earlier (it is cached for ``max_age_s``; other replicas have their
        own cache) can still finish its query there instead of failing on a dropped collection.
        """
        previous = self.manifest(max_age_s=0)
        active = previous.generation if previous else None
        if expect != -1 and active != expect:
            raise IndexConflict(
                "Een andere replica heeft de index intussen bijgewerkt; deze bijwerking is "
                "niet gepubliceerd.",
                hint="start de indexering opnieuw (op één plek)",
            )
        payload = {"manifest": manifest.to_json()}
        meta_col = self.client.get_or_create_collection(self._manifest_name, metadata=payload)
        meta_col.modify(metadata=payload)
        self._manifest_cache = None
        self._write_local_copy(manifest)
        keep = {manifest.collection}
        if previous is not None:
            keep.add(previous.collection)
        self._drop_other_generations(keep=keep)

    def _write_local_copy(self, manifest: Manifest) -> None:
        """A readable copy next to the index, for `make` (is there an index?) and people.

        Chroma's copy stays the one that counts; this one may lag on other replicas.
        """
        self.settings.path.mkdir(parents=True, exist_ok=True)
        tmp = self.settings.path / "manifest.json.tmp"
        tmp.write_text(json.dumps(json.loads(manifest.to_json()), ensure_ascii=False, indent=2))
        os.replace(tmp, self.settings.path / "manifest.json")

    def _drop_other_generations(self, keep: str | set[str]) -> None:
        keep = {keep} if isinstance(keep, str) else set(keep)
        prefix = f"{self.settings.collection}-g"
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(prefix) and name not in keep:
                try:
                    self.client.delete_collection(name)
                except Exception as exc:  # a reader may still hold it; next run retries
                    log.warning("could not drop old generation %s: %s", name, exc)
        for root in (self.settings.path / "keyword", self.settings.path / "windows"):
            if not root.is_dir():
                continue
            for d in root.iterdir():
                # KeywordIndex.save makes ``<name>`` a symlink to a hidden sibling
                # ``.<name>.v-*`` (and ``.<name>.tmp-*`` while saving): those belong to ``keep``.
                if d.name not in keep and not any(d.name.startswith(f".{k}.") for k in keep):
                    _remove_path(d)


class LeaseBusy(AssistantError):
    """Another replica holds the writer lease."""

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"Er loopt al een indexering ({holder or 'onbekende replica'}); probeer het straks "
            "opnieuw.",
            hint="wacht tot die klaar is, of gebruik `python -m ingest --wait`",
        )
        self.holder = holder


class IndexConflict(AssistantError):
    """The active generation changed under a writer, or its lease was lost."""


class WriterLease:
    """One try at, and the upkeep of, the writer lease (see ``Store.writer_lease``)."""

    def __init__(self, store: Store, owner: str, ttl_s: float) -> None:
        self.store = store
        self.owner = owner
        self.ttl_s = ttl_s
        self.token = uuid.uuid4().hex
        self.holder = ""
        self._renewed = 0.0

    def _meta(self) -> dict[str, Any]:
        return {"owner": self.owner, "token": self.token, "expires": time.time() + self.ttl_s}

    def _held(self) -> dict[str, Any] | None:
        try:
            return dict(self.store.client.get_collection(self.store._lease_name).metadata or {})
        except Exception:  # gone: released in between
            return None

    def try_acquire(self) -> bool:
        client, name = self.store.client, self.store._lease_name
        try:
            client.create_collection(name, metadata=self._meta())  # atomic: unique name
            self._renewed = time.monotonic()
            return True
        except Exception:  # it exists (the error type differs between client kinds)
            pass
        held = self._held()
        if held is None:
            return False  # released a moment ago: the caller tries again
        self.holder = str(held.get("owner", ""))
        if float(held.get("expires", 0)) < time.time():
            self._break(str(held.get("token", "")))
        return False

    def _break(self, stale: str) -> None:
        """Remove an expired lease; the uniquely named break collection lets only one do it."""
        client, name = self.store.client, self.store._lease_name
        breaker = f"{name}-break-{stale}"
        try:
            client.create_collection(breaker)
        except Exception:
            return  # another replica is breaking it
        try:
            held = self._held()
            if held is not None and str(held.get("token", "")) == stale:
                log.warning("breaking the expired writer lease of %s", held.get("owner"))
                client.delete_collection(name)
        finally:
            client.delete_collection(breaker)

    def renew(self) -> None:
        """Push the expiry on (at most every tenth of the lease time; cheap to call often)."""
        if time.monotonic() - self._renewed < self.ttl_s / 10:
            return
        held = self._held()
        if held is None or held.get("token") != self.token:
            raise IndexConflict(
                "De schrijfrechten op de index zijn verlopen; deze bijwerking is afgebroken.",
                hint="start de indexering opnieuw",
            )
        self.store.client.get_collection(self.store._lease_name).modify(metadata=self._meta())
        self._renewed = time.monotonic()

    def release(self) -> None:
        held = self._held()
        if held is not None and held.get("token") == self.token:
            try:
                self.store.client.delete_collection(self.store._lease_name)
            except Exception as exc:  # it expires on its own
                log.warning("could not release the writer lease: %s", exc)


class Generation:
    """A collection being filled by one ingest run; published or discarded at the end."""

    def __init__(self, store: Store, name: str, number: int, col: Any, base: Manifest | None):
        self.store = store
        self.name = name
        self.number = number
        self._col = col
        self.base = base
        self._vector_store: Any = None

    def copy_from_active(self, sources: Iterable[str]) -> int:
        """Copy the chunks (with their vectors) of ``sources`` from the active generation."""
        sources = sorted(set(sources))
        if not sources or self.base is None:
            return 0
        copied = 0
        rows = self.store.iter_chunks(
            self.base.collection, where={"source": {"$in": sources}}, with_embeddings=True
        )
        batch: list[tuple[Chunk, list[float] | None]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _PAGE:
                copied += self._upsert(batch)
                batch = []
        copied += self._upsert(batch)
        return copied

    def add(self, chunks: list[Chunk], vectors: list[list[float]] | None = None) -> int:
        """Upsert ``chunks``; embeds them (as passages) unless ``vectors`` are given."""
        if not chunks:
            return 0
        if vectors is None:
            # Through LangChain's Chroma wrapper: it embeds with our ``Embeddings`` (e5
            # "passage: ") and upserts, the same path a LangChain retriever reads back.
            if self._vector_store is None:
                self._vector_store = self.store.vector_store(self.name)
            ids = self._vector_store.add_texts(
                [c.text for c in chunks],
                metadatas=[c.to_metadata() for c in chunks],
                ids=[c.id for c in chunks],
            )
            return len(ids)
        return self._upsert(list(zip(chunks, vectors, strict=True)))

    def _upsert(self, rows: list[tuple[Chunk, list[float] | None]]) -> int:
        if not rows:
            return 0
        self._col.upsert(
            ids=[c.id for c, _ in rows],
            documents=[c.text for c, _ in rows],
            metadatas=[c.to_metadata() for c, _ in rows],
            embeddings=[v for _, v in rows],
        )
        return len(rows)

    def count(self) -> int:
        return self._col.count()

    def discard(self) -> None:
        try:
            self.store.client.delete_collection(self.name)
        except Exception as exc:
            log.warning("could not remove unfinished generation %s: %s", self.name, exc)
        for folder in (self.store.keyword_dir(self.name), self.store.windows_dir(self.name)):
            _remove_path(folder)
            if folder.parent.is_dir():  # hidden version/temp siblings (keyword.py, windows.py)
                for d in folder.parent.glob(f".{self.name}.*"):
                    _remove_path(d)


def _remove_path(path: Path) -> None:
    """Remove a file, a symlink (not its target) or a directory tree; ignore errors."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
