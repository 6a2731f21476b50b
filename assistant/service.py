"""The assistant: question → retrieval → prompting → llm → citations, each visited once.

One object holds the explicit dependencies (settings, store, retriever, chat model,
embeddings, prompts); the page and the CLI build it once and call ``ask``. ``ask`` returns an
``AnswerStream`` at once: retrieval has run, ``tokens()`` streams the model's raw text for the
page to show while it is written, and ``result()`` returns the checked answer (sentences that
no passage supports removed, markers corrected and renumbered, a quote-only fallback or an
honest refusal where the model failed). The checked answer replaces the streamed draft.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.chunks import Chunk, chunk_id
from assistant.citations import CheckedAnswer, Passage, check_answer, quote_fallback
from assistant.citations.lists import SourceList, list_answer, pick_list, source_lists
from assistant.citations.quotes import missing_names
from assistant.dates import documents_of, supersede
from assistant.dutch.text import fold
from assistant.embeddings import embeddings_label, make_embeddings
from assistant.errors import AssistantError, BackendUnavailable
from assistant.evidence import asks_for_list
from assistant.llm import ChatModel, Message, make_chat_model
from assistant.prompting import Prompts, build_messages, model_history, pipeline_texts
from assistant.question import Question
from assistant.retrieval import Retrieval, Retriever
from assistant.safety import shingles, strip_active_markup, strip_control_tokens
from assistant.screening import Screened
from assistant.settings import Settings
from assistant.sourcenotes import annotate, asks_across
from assistant.store import Store

log = logging.getLogger(__name__)

# most documents searched one by one for the sources block (each search is one Chroma query
# with a ``where`` on the source): the first documents of the fused candidates
PER_DOCUMENT_MAX_DOCUMENTS = 8
VECTOR_CACHE_SIZE = 2000  # e5 vectors of passage sentences and quotes kept between questions
PAGE_OPENING_CHARS = 200  # a news item names its source in its first lines
# Quotes in a quote answer: a third one added a key fact to 1 in 60-75 real answers and cited a
# passage without the evidence more often (bench/README.md, "quotes.py").
SHOWN_QUOTES = 2
LIST_CANDIDATES = 10  # fused candidates a list question's source list may come from


@dataclass
class Answer:
    question: str
    query: str  # the standalone question that was searched
    text: str
    mode: str  # "answer" | "quotes" | "refusal" | "unavailable"
    checked: CheckedAnswer | None
    passages: list[Chunk]  # the passages given to the model, numbered from 1
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    raw: str = ""  # the model's unchecked text
    notice: str = ""  # a Dutch remark for the user (e.g. backend unavailable)

    @property
    def citations(self) -> list[Any]:
        return list(self.checked.citations) if self.checked else []

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "mode": self.mode,
            "citations": [
                {
                    "n": c.n,
                    "source": c.chunk.source,
                    "page": c.chunk.page,
                    "quote": c.quote,
                    "title": c.chunk.title,
                    "chunk_id": c.chunk.id,
                }
                for c in self.citations
            ],
            "sources": [
                {
                    "n": i,
                    "source": c.source,
                    "page": c.page,
                    "title": c.title,
                    "organisation": c.organisation,
                    "date": c.date,
                    "heading": c.heading,
                    "chunk_id": c.id,
                    "passage": c.text,
                }
                for i, c in enumerate(self.passages, start=1)
            ],
            "sentences": [
                {"text": s.text, "passage": s.passage, "quote": s.quote, "status": s.status}
                for s in (self.checked.sentences if self.checked else ())
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "model": self.model,
        }


class AnswerStream:
    """An answer in progress: ``tokens()`` while it is written, then ``result()``."""

    missing: tuple[str, ...] = ()  # names of the question that no passage mentions

    def __init__(
        self,
        assistant: Assistant,
        question: Question,
        retrieval: Retrieval,
        history: list[Message],
        t0: float,
        on_wait: Callable[[int], None] | None,
        *,
        collections: set[str] | None,
        sources: set[str] | None,
    ) -> None:
        self._assistant = assistant
        # what the user may read and asked to search (no default: a stream must say so);
        # the per-document candidates of the sources block keep to it
        self.collections, self.sources = collections, sources
        self.analysed = question
        self.question = question.asked
        self.retrieval = retrieval
        self.query = retrieval.query
        self._history = history
        self._t0 = t0
        self._on_wait = on_wait
        self._parts: list[str] = []
        self._done = False
        self._inner: Iterator[str] | None = None
        self._closed_early = False
        self._error: AssistantError | None = None
        self.timings: dict[str, float] = dict(retrieval.timings)
        self.messages: list[Message] = []
        self.passages: list[Chunk] = []
        # requests to switch language, drop citations, use own knowledge ... were taken out
        # by ``Question.of`` and are declined in a Dutch note (prompts/guard.md)
        self.screened: Screened = question.screened or Screened(question.query)
        if retrieval.relevant:
            a = assistant
            self.messages, self.passages = build_messages(
                a.prompts,
                self.screened.question or self.query or self.question,
                [p.chunk for p in retrieval.passages],
                history=model_history(a.prompts, history),
                context_window=a.chat.context_window,
                max_answer_tokens=a.settings.llm.max_answer_tokens,
                passage_tokens=min(
                    a.settings.retrieval.context_tokens, a.settings.llm.prompt_passage_tokens
                ),
                summary=retrieval.summary,
            )
            if not self.screened.question:
                self.messages = []  # nothing legitimate to ask the model; quotes or refusal
            # a name the question asks about that no passage mentions: refused before the
            # model runs ("Duitse werknemers" when the passages speak of Dutch ones)
            numbered = [Passage(i, c) for i, c in enumerate(self.passages, start=1)]
            asked_now = self.screened.question or self.query
            if missing_names(asked_now, numbered):  # the store is read only then
                openings = assistant._page_openings(self.passages)
                self.missing = tuple(missing_names(asked_now, numbered, openings))

    @property
    def refused(self) -> bool:
        return not self.retrieval.relevant or not self.passages or bool(self.missing)

    def tokens(self) -> Iterator[str]:
        if self._done or self.refused or not self.messages:
            self._done = True
            return
        start = time.perf_counter()
        self._inner = self._assistant.chat.stream(self.messages, on_wait=self._on_wait)
        try:
            for part in self._inner:
                if not self._parts:
                    self.timings["first_token_s"] = time.perf_counter() - self._t0
                    self.timings["model_wait_s"] = time.perf_counter() - start
                self._parts.append(part)
                yield part
        except AssistantError as exc:
            self._error = exc
        except Exception as exc:  # a backend bug must not lose the passages
            log.exception("model backend failed")
            self._error = BackendUnavailable(f"Het taalmodel gaf een fout ({type(exc).__name__}).")
        except BaseException:  # the page stopped reading (rerun, closed tab): not a result
            self._closed_early = True
            raise
        finally:
            self._done = True
            self.close()

    def close(self) -> None:
        """Stop the model now and give its place in the queue up (a tab closed or reran).

        Closing the backend's generator runs its ``finally``, which passes the gate on; it
        does not wait for garbage collection of a frame a traceback may still hold.
        """
        inner, self._inner = self._inner, None
        if inner is not None and not self._done:
            self._closed_early = True
        close = getattr(inner, "close", None)
        if close is not None:
            close()

    @property
    def partial(self) -> str:
        """The model's text so far (all of it once the stream is done)."""
        return "".join(self._parts)

    @property
    def interrupted(self) -> bool:
        """Started writing, then stopped before the model finished (``close`` mid-answer)."""
        return self._closed_early

    def result(self) -> Answer:
        for _ in self.tokens():
            pass
        return self._assistant._finish(self)


class Assistant:
    today: Callable[[], date] = staticmethod(date.today)  # issue #17: tests set a fixed date

    def __init__(
        self,
        settings: Settings,
        store: Store,
        chat: ChatModel,
        embeddings: Embeddings,
        prompts: Prompts,
    ) -> None:
        self.settings = settings
        self.store = store
        self.chat = chat
        self.embeddings = embeddings
        self.prompts = prompts
        self._system_shingles = shingles(prompts.system)  # never shown: see ``_blocked``
        self.retriever = Retriever(store, settings.retrieval)
        self._vector_cache: dict[str, list[float]] = {}
        self._vector_lock = threading.Lock()
        self._lists: dict[tuple[str, str], list[SourceList]] = {}  # (source, doc hash)
        self._pipeline_texts = pipeline_texts(prompts)

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        embeddings = make_embeddings(settings.embeddings)
        return cls(
            settings,
            Store(settings.store, embeddings),
            make_chat_model(settings.llm),
            embeddings,
            Prompts.load(settings.prompts_dir),
        )

    @property
    def embedding_label(self) -> str:
        return embeddings_label(self.embeddings)

    def warm(self) -> None:
        """Load the model and evaluate the fixed system prompt once (prefix cache)."""
        self.chat.warm(
            [
                {"role": "system", "content": self.prompts.system},
                {"role": "user", "content": "Vraag: test"},
            ]
        )

    def ask(
        self,
        question: str,
        history: list[Message] | None = None,
        *,
        collections: set[str] | None = None,
        on_wait: Callable[[int], None] | None = None,
        previous: list[Chunk] | None = None,
        sources: set[str] | None = None,
    ) -> AnswerStream:
        """Analyse the question once, retrieve, and start the answer.

        ``previous``: the passages of the previous answer; a follow-up that refers back to
        them ("Wat zeggen ze daarover?") gets them as extra candidates (access-checked).
        ``sources``: only passages of these documents (a briefing limited to some reports).
        """
        question = strip_control_tokens(question).strip()
        history = [{**t, "content": strip_control_tokens(t["content"])} for t in history or []]
        if not question:
            raise AssistantError("Stel een vraag.")
        limit = self.settings.app.max_question_chars
        if len(question) > limit:
            raise AssistantError(
                f"Uw vraag is te lang ({len(question)} tekens; maximaal {limit}). "
                "Stel een kortere vraag; plak geen hele documenten in het vak."
            )
        t0 = time.perf_counter()
        analysed = Question.of(question, history, self.prompts)
        retrieval = self.retriever.retrieve(
            analysed, collections=collections, previous=previous, sources=sources
        )
        if self.settings.sources.supersede and not sources:
            # issue #17: a newer version replaces an older one (documents chosen by the user,
            # as for a briefing, stay as chosen)
            documents = documents_of(self.store.manifest())
            retrieval = supersede(retrieval, question, documents, self.store.get_chunks)
        return AnswerStream(
            self,
            analysed,
            retrieval,
            history,
            t0,
            on_wait,
            collections=collections,
            sources=sources,
        )

    def answer(self, question: str, history: list[Message] | None = None, **kw: Any) -> Answer:
        return self.ask(question, history, **kw).result()

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        """Passage-style e5 vectors, cached: the same passages recur across questions."""
        with self._vector_lock:  # sessions share this assistant
            missing = [t for t in dict.fromkeys(texts) if t not in self._vector_cache]
            if missing:
                vectors = self.embeddings.embed_documents(missing)
                self._vector_cache.update(zip(missing, vectors, strict=True))
            out = [self._vector_cache[t] for t in texts]
            # evict the oldest only after reading: a full cache must not drop what was asked
            while len(self._vector_cache) > VECTOR_CACHE_SIZE:
                self._vector_cache.pop(next(iter(self._vector_cache)))
            return out

    def similarity(self, a: list[str], b: list[str]) -> list[list[float]]:
        """Cosine similarities (vectors are normalised) between two lists of texts."""
        va, vb = self._vectors(a), self._vectors(b)
        return [[sum(x * y for x, y in zip(u, v, strict=True)) for v in vb] for u in va]

    def _finish(self, stream: AnswerStream) -> Answer:
        raw = strip_active_markup("".join(stream._parts)).strip()
        passages = [Passage(n=i, chunk=c) for i, c in enumerate(stream.passages, start=1)]
        base: dict[str, Any] = dict(
            question=stream.question,
            query=stream.query,
            passages=stream.passages,
            model=self.chat.label,
            raw=raw,
        )
        note = stream.screened.note  # the Dutch note on declined requests goes first

        def noted(text: str) -> str:
            return f"{note}\n\n{text}".strip() if note else text

        if stream.refused:
            checked: CheckedAnswer | None = None
        elif stream._error is not None:
            return self._unavailable(stream, passages, base)
        else:
            checked = self._check(stream, raw, passages)
            checked, added = self._list(stream, raw, checked, passages)
            base["passages"] = [*stream.passages, *(p.chunk for p in added)]
        if checked is None or checked.mode == "refusal":
            text = noted(self._refusal_text(stream))
            return self._timed(Answer(text=text, mode="refusal", checked=checked, **base), stream)
        answer = Answer(text=noted(checked.text), mode=checked.mode, checked=checked, **base)
        # issue #17: figures or statements of several sources side by side (also from the
        # next fused candidates: a second source often ranks just below the passages), and a
        # note when all sources are old
        more = self._more_candidates(stream)
        annotated = annotate(
            answer,
            self.settings.sources,
            self.today(),
            more,
            self.store.get_chunks,
            self._question_similarity,
        )
        return self._timed(annotated, stream)

    def _page_openings(self, chunks: list[Chunk]) -> list[str]:
        """The heading and first lines of the page each chunk stands on, for chunks that do
        not open their page: a report that collects news items names each item's source
        once, above it ("McKinsey - 18 juni 2024"), not in every chunk of the item."""
        firsts = [chunk_id(c.stem, c.page, 0) for c in chunks if c.index > 0]
        found = self.store.get_chunks(list(dict.fromkeys(firsts))) if firsts else []
        return [f"{c.heading} {c.text[:PAGE_OPENING_CHARS]}" for c in found]

    def _more_candidates(self, stream: AnswerStream) -> list[Chunk]:
        """Chunks the sources block may quote beyond the passages: the next fused candidates
        and, for a question asked across the sources, each document's own best chunks."""
        given = {c.id for c in stream.passages}
        extra = [i for i in stream.retrieval.fused if i not in given][: self.settings.sources.more]
        more = self.store.get_chunks(extra) if extra else []
        if self.settings.sources.per_document and asks_across(stream.query, stream.passages):
            seen = given | {c.id for c in more}
            more += [c for c in self._per_document(stream) if c.id not in seen]
        return more

    def _per_document(self, stream: AnswerStream) -> list[Chunk]:
        """The ``per_document`` chunks of each readable document (those among the fused
        candidates first) closest to the question, by a dense search inside each document:
        another source's answer often ranks far below the first source's passages in the
        fused list, or not at all, while inside its own document it comes first.
        Trade-off: one Chroma query with a ``where`` on the source per document (cheap on
        this corpus; ~0.2-0.3 s each at 100,000 chunks, hence at most
        ``PER_DOCUMENT_MAX_DOCUMENTS``), run after the answer."""
        manifest = self.store.manifest()
        readable = [
            d.source
            for d in (manifest.documents.values() if manifest else [])
            if (stream.collections is None or d.collection in stream.collections)
            and (not stream.sources or d.source in stream.sources)
        ]
        # the documents of the fused candidates first, then the others the user may read
        first: dict[str, int] = {}
        for n, cid in enumerate(stream.retrieval.fused):
            first.setdefault(cid.split(":", 1)[0], n)
        documents = sorted(readable, key=lambda d: first.get(d.rsplit(".", 1)[0], len(first)))
        if not documents:
            return []
        vector = self._query_vector(stream.query)
        k = self.settings.sources.per_document
        out: list[Chunk] = []
        for source in documents[:PER_DOCUMENT_MAX_DOCUMENTS]:
            hits = self.store.query(vector, k, stream.collections, sources=[source])
            out += [chunk for chunk, _ in hits]
        return out

    def _checks(self) -> dict[str, Any]:
        """What the answer check may use: e5 similarities and the never-show rule."""
        return dict(
            similarity=self.similarity,
            question_similarity=self._question_similarity,
            blocked=self._blocked,
        )

    def _check(self, stream: AnswerStream, raw: str, passages: list[Passage]) -> CheckedAnswer:
        """The model's answer checked against its passages, or quotes when the whole
        question was a request to decline (the model was not asked)."""
        summary = stream.retrieval.summary
        if not stream.messages:
            return quote_fallback(
                stream.query,
                passages,
                intro=self.prompts.quotes_intro,
                line=self.prompts.quote_line,
                max_quotes=SHOWN_QUOTES,
                summary=summary,
                **self._checks(),
            )
        return check_answer(
            raw,
            passages,
            question=stream.analysed.text,
            fallback_intro=self.prompts.fallback_intro,
            evidence_intro=self.prompts.evidence_intro,
            max_quotes=SHOWN_QUOTES,
            earlier=[
                *self._pipeline_texts,
                *(t["content"] for t in stream._history if t["role"] == "assistant"),
            ],
            quote_line=self.prompts.quote_line,
            summary=summary,
            focus=stream.analysed.focus if stream.analysed.followup else "",
            **self._checks(),
        )

    def _list(
        self, stream: AnswerStream, raw: str, checked: CheckedAnswer, passages: list[Passage]
    ) -> tuple[CheckedAnswer, list[Passage]]:
        """A list question gets the source's list (``citations.lists``), when one answers it;
        else ``checked`` stays. Returns the extra passages the list adds."""
        question = stream.analysed.text
        if not stream.messages or not passages:
            return checked, []
        if stream.analysed.followup and not asks_for_list(stream.analysed.focus):
            return checked, []  # "En wat zeggen ze over de zorg?" after a list question
        chunks = [p.chunk for p in passages]
        given = {c.id for c in chunks}
        # the list may sit just below the passages: a heading with its items shares few words
        # with the question ("De top 5 zorgen van organisaties:" and five short lines)
        near = [i for i in stream.retrieval.fused[:LIST_CANDIDATES] if i not in given]
        chunks += self.store.get_chunks(near) if near else []
        plist = pick_list(question, self._source_lists(chunks), chunks)
        if plist is None:
            return checked, []
        return list_answer(
            raw, plist, passages, line=self.prompts.quote_line, intro=self.prompts.list_intro
        )

    def _source_lists(self, chunks: list[Chunk]) -> list[SourceList]:
        """The lists of the documents these chunks come from, read once per document version
        (the chunks the model got rarely hold a whole list)."""
        out: list[SourceList] = []
        for source, doc_hash in dict.fromkeys((c.source, c.doc_hash) for c in chunks):
            key = (source, doc_hash)
            if key not in self._lists:
                doc = [c for c, _ in self.store.iter_chunks(where={"source": source})]
                self._lists[key] = source_lists(doc)
            out.extend(self._lists[key])
        return out

    def _unavailable(
        self, stream: AnswerStream, passages: list[Passage], base: dict[str, Any]
    ) -> Answer:
        """The model failed: quotes from the passages (or only the notice) instead."""
        assert stream._error is not None
        checked = quote_fallback(
            stream.analysed.text,
            passages,
            intro=self.prompts.backend_down,
            line=self.prompts.quote_line,
            summary=stream.retrieval.summary,
            **self._checks(),
        )
        notice = stream._error.message
        text = notice if checked.mode == "refusal" else checked.text
        return self._timed(
            Answer(text=text, mode="unavailable", checked=checked, notice=notice, **base),
            stream,
        )

    def _refusal_text(self, stream: AnswerStream) -> str:
        """The Dutch refusal: what was searched and, if any, where the nearest passages were."""
        if not stream.screened.question and stream.screened.declined:
            return self.prompts.refusal_declined  # do not echo a request that was declined
        text = self.prompts.refusal.format(searched=stream.screened.question or stream.query)
        if stream.missing and self.prompts.refusal_missing:
            text += " " + self.prompts.refusal_missing.format(
                names=", ".join(f'„{n}"' for n in _as_written(stream.missing, stream.query))
            )
            return text
        titles = list(
            dict.fromkeys((p.chunk.title or p.chunk.source) for p in stream.retrieval.passages[:3])
        )
        if titles and self.prompts.refusal_nearest:
            text += " " + self.prompts.refusal_nearest.format(
                titles="; ".join(f'„{t}"' for t in titles)
            )
        return text

    def _query_vector(self, question: str) -> list[float]:
        """The question embedded as an e5 query, cached beside the passage vectors."""
        key = "query: " + question
        with self._vector_lock:
            if key not in self._vector_cache:
                self._vector_cache[key] = self.embeddings.embed_query(question)
            return self._vector_cache[key]

    def _question_similarity(self, question: str, texts: list[str]) -> list[float]:
        """Cosines between the question embedded as an e5 query and passage-style texts."""
        q = self._query_vector(question)
        return [sum(x * y for x, y in zip(q, v, strict=True)) for v in self._vectors(texts)]

    def _blocked(self, text: str) -> bool:
        """Text never to show: an instruction (prompts/guard.md) or a piece of the system
        prompt (a 6-word overlap), wherever it came from."""
        return any(p.search(text) for _, p in self.prompts.guard) or bool(
            shingles(text) & self._system_shingles
        )

    def _timed(self, answer: Answer, stream: AnswerStream) -> Answer:
        answer.timings = {**stream.timings, "total_s": time.perf_counter() - stream._t0}
        return answer


def _as_written(names: Sequence[str], text: str) -> list[str]:
    """Folded names as the user wrote them in ``text`` ("wallonie" -> "Wallonië")."""
    written = {fold(w): w for w in re.findall(r"[^\W\d_]+", text)}
    return [written.get(n, n) for n in names]
