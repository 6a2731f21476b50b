"""Dutch keyword search: an analyser tuned for Dutch and a BM25 index (``bm25s``) over chunks.

Why not whitespace BM25: Dutch glues words together (``personeelstekort``,
``digitaliseringsproject``) and inflects them (``werknemers``, ``gebruikte``), so a question
phrased with ``personeel`` or ``tekort`` never meets a chunk that only says ``personeelstekort``.

The analyser (``analyse``) does, in order:

1. accent folding and lower case (``efficiënt`` -> ``efficient``), via ``unicodedata``;
2. tokenising on letters and digits; numbers stay (``26``, ``2025``, ``26%`` -> ``26``,
   ``3,5`` and ``3.5`` -> ``3,5``, ``1.000`` -> ``1000``); ``auto's`` -> ``auto``;
3. dropping about 210 Dutch stop words (``INDEX_STOP_WORDS`` of ``assistant.dutch.text``),
   question words and auxiliaries included (``hoeveel``, ``welke``, ``wordt``, ``hebben`` ...);
4. compound splitting: a word yields its own stem *and* the stems of its parts, so
   ``personeelstekort`` -> ``personeelstekort personeel tekort``; hyphenated words yield their
   parts and the joined word (``AI-toepassingen`` -> ``ai toepas aitoepas`` once stemmed); and
   two adjacent words that spell a known word also yield it (``te kort`` -> ``kort tekort``),
   because questions write apart what reports write together;
5. stemming with the Snowball ``dutch`` stemmer of PyStemmer (``werknemers`` = ``werknemer``,
   ``gebruikt`` = ``gebruiken`` = ``gebruik``), with "ge" kept for a few roots where the
   stemmer's ``ge-`` stripping would conflate unrelated words (``gezondheid`` vs ``zon``).

Compound splitter: our own, vocabulary driven. PyPI was checked: ``compound-split`` (the only
Dutch-capable splitter) is a 19 MB GPL wheel last released in 2020 that ships its n-gram model
as a 15 MB Python literal; ``dutch-words`` is a 10,000-word frequency list from 2019 whose
short everyday words would cause more false splits than they fix. Neither is "good and small",
so ``CompoundSplitter`` tries every split point with the linking elements
``"", s, e, en, er`` and accepts a split only when every part is a known word: a built-in list
of some 470 word parts for work, HR, care, education and technology, plus the words of the
indexed corpus that occur on their own (>= 4 letters, at least twice). Splitting is recursive
(three-part compounds) and prefers fewer, then longer, parts.

Trade-offs, stated plainly:

* Recall over precision. A false split (a word that merely *contains* two known words) adds a
  stray term to a chunk; the whole-word stem is always kept, so exact matches still rank
  highest. Guards: parts are >= 4 letters (a short list of 3-letter parts such as ``ict`` or
  ``zzp`` excepted), stop words and suffix-like words (``heid``, ``lijk``, ``schap``) are never
  parts, and only words of >= 7 letters are split.
* The corpus vocabulary is frozen at build time and saved with the index, so a query is split
  exactly as the chunks were. A new document's words reach the splitter on the next rebuild.
* The Snowball ``dutch`` stemmer (Snowball 3) is aggressive (it strips ``ge-``: ``gelegenheid`` ->
  ``legen``), which gives good recall across inflections at the price of some conflation.
  Compounds are split on the surface form *before* stemming, so this does not hurt splitting.
* Query terms are de-duplicated: a compound in a question counts its parts once each, rather
  than letting a long compound outweigh the rest of the question.
* Scoring is plain BM25 (Lucene variant, k1=1.5, b=0.75) from the precomputed sparse matrix of
  ``bm25s``; a query touches only the posting lists of its own terms, and the collection filter is
  a numpy mask applied before the top-k cut, so access groups never leak and never cost a loop.
* Saving writes a complete new version directory and then swaps a symlink onto it (an atomic
  ``rename``), keeping the previous version for readers that are still loading it. A reader
  resolves the link once, so it never mixes files of two versions or sees half an index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from assistant.chunks import Chunk, indexed_text
from assistant.dutch.text import INDEX_STOP_WORDS, fold
from assistant.errors import IndexMissing

# Bump when the analysis changes: an index built with another analyser must be rebuilt,
# because its terms would no longer match the terms of a query.
ANALYSER_VERSION = 2  # 2: chunks indexed with their section heading
FORMAT_VERSION = 1

# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------

# Common Dutch word parts for work, HR, care, education, government and technology
# (accent-folded surface forms). The corpus vocabulary is added per index; this list makes
# the usual compounds split even in a small corpus and in questions.
BUILTIN_PARTS: frozenset[str] = frozenset(
    """
    werk werker werkers werknemer werknemers werkgever werkgevers werkgelegenheid werkplek
    werkdruk werkomgeving werkwijze arbeid arbeidsmarkt markt baan banen beroep beroepen functie
    functies taak taken personeel medewerker medewerkers mens mensen collega collegas
    zorg ziekenhuis huis verpleging verpleegkundige verpleegkundigen patient patienten client
    clienten thuis ouderen jeugd kind kinderen opvang onderwijs school scholen opleiding
    opleidingen leren student studenten docent docenten leraar leraren vaardigheid
    vaardigheden kennis scholing training ontwikkeling loopbaan talent talenten tekort tekorten
    krapte vraag aanbod vacature vacatures werving selectie instroom uitstroom doorstroom
    verloop verzuim ziekte gezondheid welzijn druk tijd uren deeltijd voltijd contract
    contracten loon lonen salaris kosten geld budget financiering subsidie investering
    investeringen beleid plan plannen strategie doel doelen maatregel maatregelen regel regels
    wetgeving overheid gemeente gemeenten provincie regio sector sectoren branche bedrijf
    bedrijven organisatie organisaties instelling instellingen team teams afdeling leiding
    leider leiders manager managers management bestuur directie project projecten programma
    proces processen systeem systemen techniek technologie technologieen digitalisering
    automatisering robot robots data gegevens informatie software platform applicatie
    toepassing toepassingen model modellen algoritme algoritmes netwerk internet computer
    online digitaal digitale cyber security veiligheid beveiliging privacy risico risicos
    kwaliteit productiviteit efficientie innovatie onderzoek onderzoeker onderzoekers rapport
    resultaat resultaten analyse evaluatie monitor meting cijfers aantal groei daling stijging
    toename afname verandering veranderingen transitie energie klimaat duurzaamheid omgeving
    zekerheid inkomen uitkering pensioen leeftijd jongeren vrouwen mannen migrant migranten
    diversiteit inclusie gelegenheid mogelijkheid mogelijkheden ervaring ervaringen
    ondersteuning steun hulp advies begeleiding coaching gesprek gesprekken overleg
    samenwerking partner partners keten dienst diensten dienstverlening klant klanten product
    producten productie industrie bouw logistiek transport vervoer handel landbouw horeca
    retail cultuur sport recht rechten plicht vergunning toezicht controle inspectie
    handhaving norm normen eisen standaard protocol richtlijn richtlijnen niveau positie taal
    tekst document documenten dossier registratie administratie planning rooster locatie
    gebouw ruimte kantoor afstand hybride reis wonen woning jaar maand week begin einde
    toekomst scenario prognose verwachting aanpak methode instrument middel middelen kans
    kansen knelpunt knelpunten probleem problemen oplossing oplossingen uitdaging uitdagingen
    effect effecten impact gevolg gevolgen oorzaak factor factoren bijdrage waarde prijs
    lasten belasting premie fonds concurrentie vergrijzing bevolking burger burgers inwoner
    inwoners samenleving maatschappij sociaal sociale zorgverlener zorgverleners huisarts arts
    artsen specialist verpleeghuis apotheek ambulance preventie behandeling diagnose
    medicijn medicijnen wijk buurt zelfstandige zelfstandigen ondernemer ondernemers kunstmatige
    intelligentie chatbot chatbots taalmodel taalmodellen sensor sensoren camera ethiek
    professional professionals expert experts specialist specialisten vakman vakmensen
    stage stages leerling leerlingen examen diploma certificaat bijscholing omscholing
    herscholing leven levenslang ontslag reorganisatie functioneren beoordeling gesprek
    zoeker zoekers baanzoeker uitzend uitzendkracht flex flexibel flexibiliteit vast vaste
    pakket pakketten tool tools dashboard cloud server servers netwerk apparaat apparaten
    telefoon scherm account wachtwoord gebruiker gebruikers gebruik beheer beheerder onderhoud
    storing storingen incident incidenten aanval aanvallen dreiging dreigingen bescherming
    wet ict zzp mbo hbo app dag rol cao mkb
    overzicht verslag nota brief advies adviezen rapportage monitoring meting peiling enquete
    vragenlijst respondent respondenten steekproef percentage procent gemiddelde
    groep groepen doelgroep kosten baten opbrengst opbrengsten omzet winst verlies
    agenda visie missie ambitie ambities afspraak afspraken akkoord regeling regelingen
    """.split()
)

# Three-letter parts are too ambiguous in general ("bestuur" is not "best" + "uur"); these
# few are common, unambiguous modifiers in the reports.
SHORT_PARTS: frozenset[str] = frozenset("ict zzp mbo hbo wet app dag rol cao mkb".split())

# Words that are also derivational suffixes: as a "part" they would split plain derivations
# ("mogelijkheden" is not "mogelijk" + "heden").
NOT_PARTS: frozenset[str] = frozenset(
    """heid heden lijk lijke lijks baar bare zaam zame schap schappen isch ische achtig
    atie aties ingen ering tje tjes""".split()
)

LINKING = ("", "s", "e", "en", "er")  # Dutch linking elements ("tussenklanken")
MIN_PART = 4  # shortest part, SHORT_PARTS excepted
MIN_SPLIT_WORD = 7  # shorter words are never split: the few real ones aren't worth the noise
MAX_SPLIT_WORD = 40  # longer "words" are OCR junk or URLs; don't search them
VOCAB_MIN_COUNT = 2  # a corpus word must be seen this often to become a part (drops OCR junk)
VOCAB_MIN_LEN = 4
CACHE_LIMIT = 1_000_000  # per-splitter word caches are cleared past this (queries bring new words)

# --------------------------------------------------------------------------------------------
# Normalising and tokenising
# --------------------------------------------------------------------------------------------

# "auto's", "zzp'ers", "cao’s": the part before the apostrophe is the word.
_APOSTROPHE_SUFFIX = re.compile(r"(?<=[^\W\d_])['’](?:s|en|ers?|t?jes?|e)\b")
# A number with decimal or thousands separators, or a run of letters/digits joined by hyphens.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:-[^\W_]+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def normalise_number(token: str) -> str:
    """'1.000' -> '1000' (Dutch thousands), '3.5' and '3,5' -> '3,5' (one decimal form)."""
    if _THOUSANDS.fullmatch(token):
        return token.replace(".", "")
    return token.replace(".", ",")


def prepare(text: str) -> str:
    """Folded text with apostrophe endings removed: what the token pattern runs on."""
    folded = fold(text)
    if "'" in folded or "’" in folded:
        folded = _APOSTROPHE_SUFFIX.sub("", folded)
    return folded


def raw_tokens(prepared: str) -> list[str]:
    """Tokens of prepared text: plain words, numbers, or hyphenated words still joined."""
    return _TOKEN.findall(prepared)


def pieces_of(token: str) -> list[str]:
    """A raw token as the pieces to analyse: hyphen parts, or a normalised number."""
    if "-" in token:
        return token.split("-")
    if token[0].isdigit() and ("," in token or "." in token):
        return [normalise_number(token)]
    return [token]


def tokenise(text: str) -> list[list[str]]:
    """Each word of ``text`` as its hyphen-separated pieces (one piece for most words).

    Folds first, so the pattern sees ASCII for Dutch text. Percent signs and other punctuation
    fall away, leaving the number ("26%" -> "26").
    """
    return [pieces_of(token) for token in raw_tokens(prepare(text))]


def is_word(token: str) -> bool:
    """A token that can be stemmed and split: letters only."""
    return token.isalpha()


_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe (Streamlit serves requests on threads).
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("dutch")
    return stemmer


# Words whose "ge" belongs to the root. Snowball 3's 'dutch' strips a "ge-" prefix, which for
# these conflates unrelated words ("gezondheid" -> "zon" = sun, "gebouw" -> "bouw" =
# construction, "gemeente" -> "meen"); for them "ge" is kept and the rest is stemmed.
_GE_ROOTS = re.compile(r"ge(?:zond|meente|bouw|lijk|zin|bied|volg|luk)")


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """Snowball 'dutch' stem of a folded word; numbers and mixed tokens stay as they are."""
    if not is_word(word):
        return word
    if _GE_ROOTS.match(word):
        return "ge" + _stemmer().stemWord(word[2:])
    return _stemmer().stemWord(word)


# --------------------------------------------------------------------------------------------
# Compound splitting
# --------------------------------------------------------------------------------------------


class CompoundSplitter:
    """Splits Dutch compounds into known parts.

    ``words`` are accent-folded surface forms. A non-final part must be a known word as it
    stands (after removing a linking element); the final part (the head, which carries the
    inflection) may also be known by its stem, so ``zorgmedewerkers`` splits on ``medewerker``.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.corpus_words: frozenset[str] = frozenset(words)
        # Known words as they stand; also used to join "te kort" into "tekort".
        self.known_words = (BUILTIN_PARTS | self.corpus_words) - INDEX_STOP_WORDS - NOT_PARTS
        self._stems = frozenset(stem(w) for w in self.known_words)
        self._best: dict[str, tuple[str, ...] | None] = {}
        self._expanded: dict[str, tuple[str, ...]] = {}
        self.terms_cache: dict[str, tuple[str, ...]] = {}  # word -> its terms (see analyse)

    def clear_caches(self) -> None:
        self._best.clear()
        self._expanded.clear()
        self.terms_cache.clear()

    def _part_ok(self, part: str) -> bool:
        return len(part) >= MIN_PART or part in SHORT_PARTS

    def _is_modifier(self, part: str) -> bool:
        return self._part_ok(part) and part in self.known_words

    def _is_head(self, part: str) -> bool:
        return self._part_ok(part) and (part in self.known_words or stem(part) in self._stems)

    def split(self, word: str) -> tuple[str, ...] | None:
        """Best split of ``word`` into >= 2 known parts (linking elements dropped), or None."""
        if not (MIN_SPLIT_WORD <= len(word) <= MAX_SPLIT_WORD) or not word.isalpha():
            return None
        return self._split(word)

    def _split(self, word: str) -> tuple[str, ...] | None:
        if word in self._best:
            return self._best[word]
        best: tuple[str, ...] | None = None
        best_key: tuple[int, int, int] | None = None
        for cut in range(3, len(word) - 2):
            left = word[:cut]
            if not self._is_modifier(left):
                continue
            for link in LINKING:
                if not word.startswith(link, cut):
                    continue
                rest = word[cut + len(link) :]
                candidates: list[tuple[tuple[str, ...], bool]]
                if self._is_head(rest):
                    candidates = [((left, rest), len(link) > 0)]
                else:
                    tail = self._split(rest) if len(rest) >= 6 else None
                    candidates = [((left, *tail), len(link) > 0)] if tail else []
                for parts, linked in candidates:
                    # Fewer parts, then longer parts (sum of squares), then no linking element.
                    key = (len(parts), -sum(len(p) ** 2 for p in parts), int(linked))
                    if best_key is None or key < best_key:
                        best, best_key = parts, key
        self._best[word] = best
        return best

    def expand(self, word: str) -> tuple[str, ...]:
        """``word`` and, recursively, the parts of its parts: all surface forms to index."""
        if word in self._expanded:
            return self._expanded[word]
        out = [word]
        for part in self.split(word) or ():
            for sub in self.expand(part):
                if sub not in out:
                    out.append(sub)
        result = tuple(out)
        self._expanded[word] = result
        return result


_DEFAULT_SPLITTER: CompoundSplitter | None = None


def default_splitter() -> CompoundSplitter:
    """A splitter with the built-in parts only (for text outside any index)."""
    global _DEFAULT_SPLITTER
    if _DEFAULT_SPLITTER is None:
        _DEFAULT_SPLITTER = CompoundSplitter()
    return _DEFAULT_SPLITTER


def corpus_vocabulary(texts: Iterable[str], prepared: bool = False) -> list[str]:
    """Words seen on their own often enough to serve as compound parts (sorted).

    ``prepared``: the texts already went through ``prepare`` (saves folding twice in a build).
    """
    tokens: Counter[str] = Counter()
    for text in texts:
        tokens.update(raw_tokens(text if prepared else prepare(text)))
    counts: Counter[str] = Counter()
    for token, n in tokens.items():  # per distinct token: cheap
        for piece in token.split("-"):
            counts[piece] += n
    return sorted(
        w
        for w, n in counts.items()
        if n >= VOCAB_MIN_COUNT
        and len(w) >= VOCAB_MIN_LEN
        and w.isalpha()
        and w not in INDEX_STOP_WORDS
    )


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def _analyse_piece(piece: str, splitter: CompoundSplitter) -> tuple[str, ...]:
    # Cached per splitter: a corpus has far fewer distinct words than tokens.
    terms = splitter.terms_cache.get(piece)
    if terms is None:
        if len(splitter.terms_cache) > CACHE_LIMIT:
            splitter.clear_caches()
        if piece in INDEX_STOP_WORDS or (len(piece) < 2 and not piece.isdigit()):
            terms = ()
        elif not is_word(piece):
            terms = (piece,)
        else:
            terms = tuple(dict.fromkeys(stem(part) for part in splitter.expand(piece)))
        splitter.terms_cache[piece] = terms
    return terms


def analyse(text: str, splitter: CompoundSplitter | None = None) -> list[str]:
    """Dutch index/query terms of ``text``: folded, stop words out, compounds split, stemmed.

    Term frequency is kept (a word twice gives its terms twice). Without ``splitter`` only the
    built-in word parts are known; an index passes its own (built-in + corpus vocabulary).
    """
    return analyse_prepared(prepare(text), splitter or default_splitter())


def analyse_prepared(prepared: str, splitter: CompoundSplitter) -> list[str]:
    """``analyse`` on text that went through ``prepare``; the hot loop of a build."""
    terms: list[str] = []
    cache = splitter.terms_cache
    known = splitter.known_words
    previous = ""  # the word before, stop words included, for joining split compounds
    for token in raw_tokens(prepared):
        if token.isalpha():  # the common case, kept to a few dict/set look-ups
            cached = cache.get(token)
            terms += cached if cached is not None else _analyse_piece(token, splitter)
            # Questions write apart what reports write together ("te kort" / "tekort"):
            # two adjacent words that spell a known word also yield it. Chunks get the same
            # treatment, so this stays symmetric.
            if previous:
                if previous + token in known:
                    terms.append(stem(previous + token))
                elif previous + "s" + token in known:
                    terms.append(stem(previous + "s" + token))
            previous = token
            continue
        previous = ""
        pieces = pieces_of(token)
        if len(pieces) == 1:
            terms += _analyse_piece(pieces[0], splitter)
            continue
        word_terms: list[str] = []
        for piece in pieces:
            word_terms.extend(_analyse_piece(piece, splitter))
        # "e-mail" should meet "email", "zorg-medewerkers" meet "zorgmedewerkers".
        joined = stem("".join(pieces))
        if len(joined) >= 4 and joined not in word_terms:
            word_terms.append(joined)
        terms.extend(word_terms)
    return terms


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postings:
    """The BM25 matrix bm25s precomputes, per term: the rows (chunks) it occurs in and their
    BM25 weights, in compressed sparse column form (``indptr[t]:indptr[t + 1]``)."""

    vocab: dict[str, int]  # term -> column
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray


_META = "meta.json"
_BM25_DIR = "bm25"


class KeywordIndex:
    """BM25 over chunks with the Dutch analyser; see the module docstring for the trade-offs."""

    def __init__(
        self,
        bm25: bm25s.BM25 | None,
        ids: list[str],
        collections: list[str],
        sources: list[str],
        vocabulary: Iterable[str],
    ) -> None:
        self._bm25 = bm25
        self.ids = list(ids)
        self.sources = list(sources)
        self.collections = list(collections)
        self.splitter = CompoundSplitter(vocabulary)
        # Collections as small integer codes, so a filter is one vectorised comparison.
        names = sorted(set(self.collections))
        self._collection_code = {name: i for i, name in enumerate(names)}
        self._codes = np.array([self._collection_code[c] for c in self.collections], dtype=np.int32)
        self._masks: dict[frozenset[str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.ids)

    # ---- building ----------------------------------------------------------------------

    @classmethod
    def build(cls, chunks: list[Chunk], headings: bool = True) -> KeywordIndex:
        # A chunk is indexed with its section heading (``indexed_text``; ``headings`` False:
        # its text alone), not its title: title
        # words in every chunk of a long report would no longer be rare enough to route on.
        texts = [indexed_text(c, title=False) if headings else c.text for c in chunks]
        prepared = [prepare(t) for t in texts]  # fold once, use twice
        vocabulary = corpus_vocabulary(prepared, prepared=True)
        index = cls(
            None,
            [c.id for c in chunks],
            [c.collection for c in chunks],
            [c.source for c in chunks],
            vocabulary,
        )
        term_ids: dict[str, int] = {}
        docs: list[list[int]] = []
        for text in prepared:
            terms = analyse_prepared(text, index.splitter)
            docs.append([term_ids.setdefault(t, len(term_ids)) for t in terms])
        if term_ids:
            # Pre-tokenised ids + vocabulary: skips bm25s' own tokeniser and its progress bars.
            bm25 = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
            bm25.index((docs, term_ids), show_progress=False)
            index._bm25 = bm25
        return index

    # ---- searching ---------------------------------------------------------------------

    def analyse(self, text: str) -> list[str]:
        """The terms this index makes of ``text`` (same splitter as its chunks)."""
        return analyse(text, self.splitter)

    def postings(self) -> Postings | None:
        """The precomputed BM25 matrix (None for an empty index): what ``KeywordView`` scores
        weighted queries on, so nothing outside this module reads bm25s' internals."""
        scores = getattr(self._bm25, "scores", None)
        if not (isinstance(scores, dict) and "indptr" in scores):
            return None
        assert self._bm25 is not None
        return Postings(self._bm25.vocab_dict, scores["data"], scores["indices"], scores["indptr"])

    def _mask(self, collections: set[str]) -> np.ndarray:
        key = frozenset(collections)
        mask = self._masks.get(key)
        if mask is None:
            wanted = [self._collection_code[c] for c in key if c in self._collection_code]
            mask = np.isin(self._codes, np.asarray(wanted, dtype=np.int32))
            if len(self._masks) > 64:  # access groups are few; don't grow without bound
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def _scores(self, term_ids: list[int]) -> np.ndarray:
        """BM25 score of every chunk: the sum of the query terms' precomputed column entries."""
        assert self._bm25 is not None  # callers check
        scores = self._bm25.scores
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
        if len(term_ids) == 1:
            start, end = indptr[term_ids[0]], indptr[term_ids[0] + 1]
            out = np.zeros(len(self.ids), dtype=np.float64)
            out[indices[start:end]] = data[start:end]
            return out
        # bincount over the concatenated posting lists: one C loop, faster than np.add.at.
        spans = [(indptr[t], indptr[t + 1]) for t in term_ids]
        rows = np.concatenate([indices[s:e] for s, e in spans])
        weights = np.concatenate([data[s:e] for s, e in spans])
        return np.bincount(rows, weights=weights, minlength=len(self.ids))

    def search(
        self, query: str, k: int, collections: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` (chunk_id, bm25 score), best first, score > 0.

        ``collections``: only chunks whose collection is in it (``None``: no filter; an empty
        set allows nothing). Filtered before the top-k cut, so k results come back whenever k
        allowed chunks match.
        """
        if self._bm25 is None or k <= 0 or (collections is not None and not collections):
            return []
        vocab = self._bm25.vocab_dict
        term_ids = [vocab[t] for t in dict.fromkeys(self.analyse(query)) if t and t in vocab]
        if not term_ids:
            return []
        scores = self._scores(term_ids)
        if collections is not None:
            scores = np.where(self._mask(collections), scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        if hits.size > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        # Best first; equal scores in index order, so results are stable across runs.
        order = np.lexsort((hits, -scores[hits]))
        return [(self.ids[i], float(scores[i])) for i in hits[order]]

    # ---- persistence -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (see the module docstring).

        ``path`` becomes a symlink to a hidden sibling version directory; the previous version
        is kept for readers still loading it, older ones are removed.
        """
        path = Path(path)
        parent = path.parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
        try:
            tmp.chmod(0o700)  # the index holds passage text: owner-only, like the rest
            self._write(tmp)
            version = parent / f".{path.name}.v-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            os.rename(tmp, version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _swap_link(path, version)
        _prune_versions(path)

    def _write(self, directory: Path) -> None:
        if self._bm25 is not None:
            self._bm25.save(directory / _BM25_DIR, show_progress=False)
        meta = {
            "format": FORMAT_VERSION,
            "analyser": ANALYSER_VERSION,
            "ids": self.ids,
            "collections": self.collections,
            "sources": self.sources,
            "vocabulary": sorted(self.splitter.corpus_words),
        }
        (directory / _META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        try:
            # Resolve the link once: every file below comes from the same version.
            directory = Path(path).resolve(strict=True)
            meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise IndexMissing(
                "Er is nog geen trefwoordindex; bouw eerst de index.", hint=str(path)
            ) from exc
        if meta.get("format") != FORMAT_VERSION or meta.get("analyser") != ANALYSER_VERSION:
            raise IndexMissing(
                "De trefwoordindex is met een andere versie gemaakt; bouw de index opnieuw.",
                hint=str(path),
            )
        bm25 = None
        if (directory / _BM25_DIR).is_dir():
            bm25 = bm25s.BM25.load(directory / _BM25_DIR, show_progress=False)
        return cls(bm25, meta["ids"], meta["collections"], meta["sources"], meta["vocabulary"])


def _swap_link(path: Path, version: Path) -> None:
    link = path.parent / f".{path.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(version.name, link)  # relative: the folder can be moved as a whole
    if path.is_dir() and not path.is_symlink():
        # A plain directory (made by hand or an older layout) can't be replaced atomically by
        # a link; move it aside once, as an old version that pruning will remove later.
        os.rename(path, path.parent / f".{path.name}.v-{0:020d}-{uuid.uuid4().hex[:8]}")
    os.replace(link, path)


def _prune_versions(path: Path, keep_tmp_s: float = 3600.0) -> None:
    current = Path(os.readlink(path)).name if path.is_symlink() else None
    versions = sorted(p for p in path.parent.glob(f".{path.name}.v-*") if p.name != current)
    for old in versions[:-1]:  # keep the newest non-current one: the previous version
        shutil.rmtree(old, ignore_errors=True)
    # Temp dirs of saves that crashed; a recent one may belong to a save in progress.
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        try:
            if time.time() - tmp.stat().st_mtime > keep_tmp_s:
                shutil.rmtree(tmp, ignore_errors=True)
        except FileNotFoundError:
            pass
