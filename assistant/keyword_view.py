"""A per-generation view on the keyword index: weighted search, collection masks, document
routing by name, unknown names and the question's coverage (for the relevance floor).

Trade-off: it scores weighted term lists on the index's precomputed BM25 postings
(``KeywordIndex.postings``) instead of asking bm25s again, so a query can weigh its terms
(carried-over words of a follow-up weigh less) and restrict itself to some documents without
a second analysis pass; it is rebuilt only when the index generation changes.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from assistant.chunks import Chunk
from assistant.keyword import KeywordIndex
from assistant.question import META_WORDS

NAME_MAX_DF = 0.08  # a name term occurs in at most this share of all chunks ...
NAME_MIN_DF = 3  # ... (or in at most this many chunks: in a tiny corpus every word is "common")
NAME_MIN_LIFT = 3.0  # ... and this many times more often in its document than elsewhere
ROUTE_MAX_DOCS = 4  # a question that "names" more documents than this names none
_QUOTED_RE = re.compile(r"[‘'\"“„][^‘’'\"“”„]{3,}[’'\"”]")  # a quoted title


def _name_words(text: str, skip_first: bool = False) -> list[str]:
    """Words written as names: acronyms ("HRM", "KPN") and capitalised words ("Integron").

    With ``skip_first`` the first word is ignored (a title starts with a capital anyway).
    Hyphenated words count per part: "AI-toepassingen" gives "AI", not "toepassingen".
    """
    out = []
    for i, word in enumerate(re.findall(r"[^\W_]+", text)):
        if (word.isupper() and len(word) > 1) or any(ch.isupper() for ch in word[1:]):
            out.append(word)
        elif word[:1].isupper() and not (skip_first and i == 0):
            out.append(word)
    return out


class KeywordView:
    """Per-generation helpers around a ``KeywordIndex``.

    Scores weighted term lists directly on the index's precomputed BM25 matrix (``bm25s``
    stores per-term posting lists with the BM25 weight of each chunk), so a query can weigh
    its terms and restrict itself to some documents without a second analysis pass. Falls back
    to ``index.search`` (no weights, no routing) when the matrix is not available.
    """

    def __init__(self, index: KeywordIndex, documents: dict[str, Any] | None = None) -> None:
        self.index = index
        self.n = len(index.ids)
        postings = index.postings()
        self.ok = postings is not None
        self.vocab: dict[str, int] = {}
        if postings is not None:
            self.vocab = postings.vocab
            self.data = postings.data
            self.indices = postings.indices
            self.indptr = postings.indptr
            self.df = np.diff(self.indptr)
        self.sources = sorted(set(index.sources))
        self.source_code = {s: i for i, s in enumerate(self.sources)}
        self.codes = np.array([self.source_code[s] for s in index.sources], dtype=np.int32)
        self.per_source = np.bincount(self.codes, minlength=len(self.sources))
        self.source_collections: dict[str, set[str]] = {}
        for source, collection in zip(index.sources, index.collections, strict=True):
            self.source_collections.setdefault(source, set()).add(collection)
        self.collections = sorted(set(index.collections))
        self.collection_code = {c: i for i, c in enumerate(self.collections)}
        self.ccodes = np.array([self.collection_code[c] for c in index.collections], dtype=np.int32)
        self._masks: dict[frozenset[str], np.ndarray] = {}
        self._order: np.ndarray | None = None  # chunk positions sorted by source (rows_of)
        self._starts: np.ndarray | None = None
        self._lock = threading.Lock()
        self.name_terms: dict[str, dict[str, str]] = {}  # term -> {source: strong|weak}
        self.doc_terms: dict[str, set[str]] = {}  # source -> its metadata terms
        if documents:
            self._build_names(documents)

    # ---- analysis and statistics -----------------------------------------------------

    def analyse(self, text: str) -> list[str]:
        return self.index.analyse(text)

    def unknown_names(self, question: str) -> list[str]:
        """Names in ``question`` of which no term occurs in the corpus or its documents' titles.

        A name is a word written as one: a capital not at the start of a sentence
        ("Frankrijk", "Eurostat"), capitals or digits inside ("G20", "IMF"). Ordinary words are
        left alone: questions paraphrase ("strijken", "voortouw", "mkb" for words the reports
        put otherwise), but a name the sources never mention means another subject.
        """
        if not self.ok:
            return []
        known_meta = set().union(*self.doc_terms.values()) if self.doc_terms else set()
        out = []
        for m in re.finditer(r"[^\W_]+(?:-[^\W_]+)*", question):
            word = m.group(0)
            before = question[: m.start()].rstrip()
            at_start = not before or before[-1] in ".?!:;\"'(“‘"
            is_name = (
                any(ch.isupper() for ch in word[1:])
                or (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))
                or (word[0].isupper() and not at_start)
            )
            if not is_name or word in out:
                continue
            terms = [t for t in self.analyse(word) if t not in self.meta_terms]
            if terms and not any(t in self.vocab or t in known_meta for t in terms):
                out.append(word)
        return out

    @property
    def meta_terms(self) -> frozenset[str]:
        """The terms of ``META_WORDS``: they say nothing about the topic of a question."""
        terms = getattr(self, "_meta_terms", None)
        if terms is None:
            terms = self._meta_terms = frozenset(self.analyse(" ".join(sorted(META_WORDS))))
        return terms

    def _terms_of(self, words: frozenset[str]) -> frozenset[str]:
        """The analysed terms of a fixed word list, analysed once per view."""
        cache: dict[frozenset[str], frozenset[str]] = self.__dict__.setdefault("_word_terms", {})
        if words not in cache:
            cache[words] = frozenset(self.analyse(" ".join(sorted(words))))
        return cache[words]

    def idf(self, term: str) -> float:
        """BM25 IDF; a term the corpus has never seen gets the IDF of a one-off term."""
        df = int(self.df[self.vocab[term]]) if self.ok and term in self.vocab else 0
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def _build_names(self, documents: dict[str, Any]) -> None:
        """Name terms of each document, from its title, organisation and kind.

        *Strong* terms name a document on their own: words of the organisation and the kind,
        and title words written as names (acronyms, capitals after the first word: "HRM",
        "Work"). *Weak* terms are the other title words; a question must use two of them
        ("social profit", "mensgerichte ... werkomgeving") to name the document. Either kind
        must be rare in the corpus (``NAME_MAX_DF``) and concentrated in the document
        (``NAME_MIN_LIFT``), so generic title words ("ai", "zorg", "werkvloer" alone) name
        nothing.
        """
        strong_by_doc: dict[str, set[str]] = {}
        for source, doc in documents.items():
            title = str(getattr(doc, "title", "") or "")
            organisation = str(getattr(doc, "organisation", "") or "")
            kind = str(getattr(doc, "kind", "") or "")
            names = _name_words(title, skip_first=True) + _name_words(organisation)
            strong = {t for t in self.analyse(" ".join([*names, kind])) if not t.isdigit()}
            every = {t for t in self.analyse(f"{title} {organisation} {kind}") if not t.isdigit()}
            self.doc_terms[source] = every
            strong_by_doc[source] = strong
        if self.n == 0:
            return
        counts: dict[str, int] = {}
        for terms in self.doc_terms.values():
            for t in terms:
                counts[t] = counts.get(t, 0) + 1
        for term in counts:
            tid = self.vocab.get(term) if self.ok else None
            having = [s for s, ts in self.doc_terms.items() if term in ts]
            if tid is None:  # only in the metadata: unique to the documents that have it
                named = set(having) if len(having) <= ROUTE_MAX_DOCS else set()
            else:
                df = int(self.df[tid])
                if df > max(NAME_MAX_DF * self.n, NAME_MIN_DF):
                    continue
                rows = self.indices[self.indptr[tid] : self.indptr[tid + 1]]
                per_doc = np.bincount(self.codes[rows], minlength=len(self.sources))
                named = set()
                for source in having:
                    code = self.source_code.get(source)
                    if code is None:
                        continue
                    n_doc = int(self.per_source[code])
                    in_doc = int(per_doc[code])
                    rest = self.n - n_doc
                    rate_rest = (df - in_doc) / rest if rest else 0.0
                    if in_doc and in_doc / max(n_doc, 1) >= NAME_MIN_LIFT * rate_rest:
                        named.add(source)
            for source in named:
                kind = "strong" if term in strong_by_doc[source] else "weak"
                self.name_terms.setdefault(term, {})[source] = kind

    # ---- routing ---------------------------------------------------------------------

    def named_documents(self, text: str) -> tuple[list[str], set[str]]:
        """(sources ``text`` names, best first; the name terms it used).

        Counted per word of ``text``, so the parts of one compound ("werkomgeving" ->
        "werkomgeving", "omgeving") are one weak match, not two.
        """
        strength: dict[str, float] = {}
        strong: dict[str, int] = {}
        weak: dict[str, int] = {}
        used: dict[str, set[str]] = {}
        for word in dict.fromkeys(re.findall(r"[^\W_]+(?:-[^\W_]+)*", text)):
            best_kind: dict[str, str] = {}
            best_idf: dict[str, float] = {}
            for t in self.analyse(word):
                for source, kind in self.name_terms.get(t, {}).items():
                    if best_kind.get(source) != "strong":
                        best_kind[source] = kind
                    best_idf[source] = max(best_idf.get(source, 0.0), self.idf(t))
                    used.setdefault(source, set()).add(t)
            for source, kind in best_kind.items():
                strength[source] = strength.get(source, 0.0) + best_idf[source]
                counter = strong if kind == "strong" else weak
                counter[source] = counter.get(source, 0) + 1
        valid = {s for s in strength if strong.get(s, 0) >= 1 or weak.get(s, 0) >= 2}
        if not valid:
            return [], set()
        best = max(strength[s] for s in valid)
        named = sorted(
            (s for s in valid if strength[s] >= 0.5 * best), key=lambda s: (-strength[s], s)
        )
        if len(named) > ROUTE_MAX_DOCS or len(named) >= len(self.sources):
            return [], set()
        return named, set().union(*(used[s] for s in named))

    def asks_more(self, query: str, name_terms: set[str], words: Iterable[str]) -> bool:
        """Whether a word of ``query`` is more than a document's name (``name_terms``, from
        ``named_documents``), a word about sources (``META_WORDS``) or one of ``words``:
        something to search for. A title word names the document only as routing counts it,
        two or more together ("het rapport over de social profit"); one alone is a topic
        ("Wat concludeert het VIVO-rapport over robotisering?"). A quoted title names it
        whatever its words."""
        strong = {t for t in name_terms if "strong" in self.name_terms.get(t, {}).values()}
        known = strong | self.meta_terms | self._terms_of(frozenset(words))
        title_words = 0
        for word in re.findall(r"[^\W_]+(?:-[^\W_]+)*", _QUOTED_RE.sub(" ", query)):
            terms = self.analyse(word)
            if not terms or any(t in known for t in terms):
                continue
            if not any(t in name_terms for t in terms):
                return True
            title_words += 1
        return title_words == 1

    def readable(self, source: str, collections: set[str] | None) -> bool:
        """Does ``source`` have chunks in the index that ``collections`` allows?"""
        have = self.source_collections.get(source, set())
        return bool(have) and (collections is None or bool(have & collections))

    # ---- searching -------------------------------------------------------------------

    def mask(self, collections: set[str] | None) -> np.ndarray | None:
        """Chunks of ``collections`` (``None``: all), cached: access groups are few."""
        if collections is None:
            return None
        key = frozenset(collections)
        with self._lock:
            m = self._masks.get(key)
            if m is None:
                codes = [self.collection_code[c] for c in key if c in self.collection_code]
                m = np.isin(self.ccodes, np.asarray(codes, dtype=np.int32))
                if len(self._masks) > 64:
                    self._masks.clear()
                self._masks[key] = m
        return m

    def share(self, collections: set[str] | None) -> float:
        """Share of the index's chunks that ``collections`` allows (1.0 for ``None``)."""
        if collections is None or self.n == 0:
            return 1.0
        mask = self.mask(collections)
        return float(mask.mean()) if mask is not None else 1.0

    def rows_of(self, sources: list[str]) -> np.ndarray:
        """Index positions of the chunks of ``sources``."""
        order, starts = self._order, self._starts
        if order is None or starts is None:
            order = np.argsort(self.codes, kind="stable")
            starts = np.searchsorted(self.codes[order], np.arange(len(self.sources) + 1))
            self._order, self._starts = order, starts
        parts = []
        for source in sources:
            code = self.source_code.get(source)
            if code is not None:
                parts.append(order[starts[code] : starts[code + 1]])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def search(
        self,
        terms: dict[str, float],
        k: int,
        mask: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, weighted BM25), best first, score > 0.

        ``mask``: only chunks where it is true (collections); ``rows``: only these chunks
        (the documents a question names). Both apply before the top-k cut.
        """
        ids = [(self.vocab[t], w) for t, w in terms.items() if t in self.vocab and w > 0]
        if not ids or k <= 0:
            return []
        postings = np.concatenate(
            [self.indices[self.indptr[t] : self.indptr[t + 1]] for t, _ in ids]
        )
        weights = np.concatenate(
            [self.data[self.indptr[t] : self.indptr[t + 1]] * w for t, w in ids]
        )
        scores = np.bincount(postings, weights=weights, minlength=self.n)
        if rows is not None:
            candidates = rows[scores[rows] > 0]
        else:
            candidates = np.flatnonzero(scores > 0)
        if mask is not None:
            candidates = candidates[mask[candidates]]
        if candidates.size > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = np.lexsort((candidates, -scores[candidates]))
        return [(self.index.ids[i], float(scores[i])) for i in candidates[order]]


def coverage(question: str, passages: list[Chunk], view: KeywordView) -> float:
    """IDF-weighted share of the question's content words found in ``passages``.

    Counted per word of the question (stop words and ``META_WORDS`` left out), in the Dutch
    analysis of the passages' text and headings and of their documents' title, organisation
    and kind. A compound counts as found when at least half of its terms are (its parts:
    "wervingsbureaus" is found in a text about "werving" by "bureaus"); a word's weight is the
    mean IDF of its terms, so rare words weigh most and a word the corpus never saw weighs as
    a one-off term.
    """
    words: list[list[str]] = []
    for word in dict.fromkeys(re.findall(r"[^\W_]+(?:-[^\W_]+)*", question)):
        terms = [t for t in dict.fromkeys(view.analyse(word)) if t not in view.meta_terms]
        if terms:
            words.append(terms)
    if not words:
        return 1.0  # nothing to check: a question of only stop words
    found: set[str] = set()
    seen_docs: set[str] = set()
    for c in passages:
        found.update(view.analyse(f"{c.heading}\n{c.text}"))
        if c.source not in seen_docs:
            seen_docs.add(c.source)
            found.update(
                view.doc_terms.get(c.source) or view.analyse(f"{c.title} {c.organisation} {c.kind}")
            )
    total = hit = 0.0
    for terms in words:
        weight = sum(view.idf(t) for t in terms) / len(terms)
        total += weight
        if 2 * sum(t in found for t in terms) >= len(terms):
            hit += weight
    return hit / total if total else 1.0
