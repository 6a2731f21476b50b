"""What the user asks, analysed once into a ``Question`` value.

``Assistant.ask`` builds the ``Question`` (``Question.of``) and hands the same value to
retrieval, the prompt and the answer check; nothing downstream re-derives it. It holds:

* the **standalone question** (``query``): a follow-up that leans on the conversation ("En in
  de zorg?", "Wat zeggen ze daarover?", "En de tweede?") is rewritten into a question that
  stands on its own (``rewrite_question``), and sentences that are requests to decline
  are left out of the search (``screening.strip_instructions``). A rule, not a model call: the
  0.5B model rewrites poorly and costs seconds. The result is what is searched *and* what the
  page shows ("Gezocht op"). Risk: a new question that merely contains a pronoun ("... die AI
  gebruiken") is only treated as a follow-up when it is short; weak signals alone never
  trigger it.
* the **kind of fact asked** (``asked``: a figure with its unit, a name, a date) and the
  **topic** of "wat zeggen de bronnen over X?" (``topic_phrase``);
* the **requests to decline** (``assistant.screening``; one vocabulary, ``prompts/guard.md``):
  asks to switch language, drop citations, use own knowledge ... are taken out before the
  model sees the question and declined in a Dutch note, and kept out of the search.

Trade-off: cheap Dutch pattern matches instead of a model. They are explainable and instant,
and they miss phrasings nobody wrote a pattern for; misses are caught downstream (the
retrieval floor and the citation check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from assistant.dutch.sentences import split_sentences
from assistant.dutch.text import (
    MONTH_NAMES,
    YEAR_RE,
    content_stems,
    content_words,
    fold,
    light_stem,
    names_of,
    numbers_of,
    stem_found,
    terms_of,
    words_of,
)
from assistant.figures import PERCENT_RE, SHARE, UNITS, figures_in, same_terms
from assistant.keyword import default_splitter
from assistant.llm import Message
from assistant.screening import Guard, Screened, default_guard, screen_question, strip_instructions

if TYPE_CHECKING:
    from assistant.prompting import Prompts

MAX_QUERY_CHARS = 600  # a chain of follow-ups must not grow the query without bound
CARRY_WEIGHT = 0.5  # weight of words a follow-up carries over from the previous question


def carry_weight(own: int, carried: int) -> float:
    """Weight of each word a follow-up carries over: ``CARRY_WEIGHT``, scaled down when the
    carried words outnumber its own, so together they never outweigh them ("En bij
    directieleden?" is about directieleden first)."""
    return CARRY_WEIGHT * min(1.0, max(own, 1) / max(carried, 1))


@dataclass(frozen=True)
class Question:
    """One question, analysed once (see the module docstring)."""

    asked: str  # as the user wrote it (control tokens stripped)
    query: str  # the standalone question: searched and shown to the user
    focus: str  # the new question's own words (without what was carried over)
    followup: bool = False  # resolved against the conversation
    refers_back: bool = False  # points at the previous answer ("daarover", "de tweede")
    screened: Screened | None = None  # requests to decline taken out (None: not screened)

    @classmethod
    def of(cls, asked: str, history: list[Message], prompts: Prompts | None = None) -> Question:
        """Rewrite against ``history``; screen for requests to decline with ``prompts``.

        The note on declined requests reads the question as asked (the rewrite may already
        have left such a request out); the question for the model is the screened query.
        """
        rw = rewrite_question(asked, history, prompts.guard if prompts else default_guard())
        screened = None
        if prompts is not None:
            as_asked = screen_question(prompts, asked)
            searched = screen_question(prompts, rw.query or asked)
            screened = (
                searched
                if searched.declined or not as_asked.declined
                else Screened(
                    searched.question if as_asked.question else "",
                    as_asked.declined,
                    as_asked.note,
                )
            )
        return cls(asked, rw.query, rw.focus, rw.followup, rw.refers_back, screened)

    @property
    def text(self) -> str:
        """What the model is asked and the answer check reads: the screened query."""
        if self.screened is None:
            return self.query
        return self.screened.question or self.query

    @property
    def kind(self) -> Asked:
        """The kind of fact the standalone question asks for."""
        return asked(self.query)

    @property
    def topic(self) -> str:
        """X of "wat zeggen de bronnen over X?" in the standalone question, or ""."""
        return topic_phrase(self.query)


# --------------------------------------------------------------------------- what is asked

# Words of a question that say how to answer, not what about: never key terms.
QUESTION_WORDS = frozenset(
    """zeg zegg zegt bronn bron rapport rapporten document documenten noem noemt genoemd
    essay whitepaper artikel beschrijft beschrijven beschreven
    vertel vertellen beschrijf geef lat waarin waarom wat welke welk hoe wie waar wanneer
    belangrijk belangrijkste verschil verschill verschillen samen elkaar naast eens
    volgens gemiddeld ongeveer precies vooral daarover hierover erover""".split()
)
_ASK_NUMBER_RE = re.compile(
    r"\b(?:hoeveel|hoe\s+(?:groot|hoog|veel|lang|oud|duur|snel)|"
    r"welke?\s+(?:percentage|aandeel|deel|bedrag|aantal|getal|cijfer|score|omvang|salaris)|"
    r"wat\s+(?:is|was|zijn|waren)\s+(?:het|de)\s+(?:percentage|aandeel|aantal|bedrag|omvang|"
    r"salaris)|wat\s+(?:verdien\w*|kost\w*)|"
    r"how\s+(?:many|much)|what\s+(?:percentage|share|proportion|number|amount))\b"
)
_ASK_NAME_RE = re.compile(
    r"^(?:\W*)(?:(?:en|maar)\s+)?(?:wie|who)\b|\b(?:door|van|namens|bij)\s+wie\b|"
    r"\bwelke?\s+(?:bureau|onderzoeksbureau|organisatie|bedrijf|instantie|auteur|persoon)\b|"
    r"\bwhich\s+(?:company|organisation|organization|agency)\b"
)
# money asked by what is paid, earned or spent; not "kostenbesparing", "hoeveel bedrijven"
_ASK_MONEY_RE = re.compile(
    r"\b(?:verdien\w*|salaris\w*|loon|lonen|kost(?:t|en|te|ten)?|gekost|prijs|betaal\w*|"
    r"budget\w*|uitgegeven|uitgeven|geven\s+\w+\s+uit|hoeveel\s+investe\w*)\b"
)
# "wanneer" asks a date where a clause starts ("Wanneer ...", "en wanneer", "sinds wanneer");
# inside a clause it is the conjunction "when": "ze stoppen wanneer de subsidie afloopt"
_ASK_DATE_RE = re.compile(
    r"(?:^\W*|[,;:]\s*|\b(?:en|of|maar|sinds|vanaf|tot|per)\s+)wanneer\b"
    r"|\b(?:weet|weten|vertel|zeg)\w*(?:\s+\w+){0,2}\s+wanneer\b"  # "Weet je wanneer ...?"
    r"|\b(?:in\s+welk\s+jaar|welke\s+(?:datum|periode|maand)|when)\b"
)
# what a document says as a whole: "Vat het VIVO-rapport samen", "Wat zijn de belangrijkste
# conclusies trekt ...?", "Geef de kern van ...", "Waar gaat het essay over?", "Wat zegt X?"
_SUMMARY_RE = re.compile(
    r"\bvat\b.{0,80}\bsamen\b|\bsamenvat\w*|\bsamengevat\b|\bconclu\w+|\bkern\s+van\b|"
    r"\bkernboodschap\w*|\bhoofd(?:lijnen|punten|boodschap)\b|\bin\s+een\s+notendop\b|"
    r"\b(?:belangrijkste|voornaamste)\s+(?:bevindingen|uitkomsten|resultaten|boodschap\w*|"
    r"punten|inzichten|lessen)\b|\bwaar\s+(?:gaat|ging)\b.{0,80}\bover\b|\bsummar\w*|"
    r"^wat\s+(?:zegt|zeggen|vertelt|staat|stond|meldt)\b"
)
# the words of such a request and of the kind of document: with the document's name they
# leave nothing else to search for
SUMMARY_WORDS = frozenset(
    """vat samen samenvatting samenvatten samengevat kort korte conclusie conclusies
    concludeert concluderen kern kernboodschap hoofdlijnen hoofdpunten hoofdboodschap
    notendop belangrijkste voornaamste bevindingen uitkomsten resultaten boodschap punten
    inzichten lessen trekt trekken getrokken gaat ging over whitepaper essay nieuwsbericht
    bericht stuk verslag paper zegt zeggen vertelt staat stond meldt er in""".split()
)

# "Wat zeggen de bronnen over X?": X is the topic; an answer must be about it
_TOPIC_RE = re.compile(  # X of "wat zeggen de bronnen over X?"
    r"\b(?:zeg\w*|zei|vertel\w*|meld\w*|schrijf\w*|schrijv\w*|stel\w*|say\w*|tell\w*)\b"
    r"[^?]*?\b(?:over|about)\s+(.+?)\s*(?:\?|[.!](?:\s|$)|$)",  # to the end of its sentence
    re.IGNORECASE,
)
_MONTHS_RE = re.compile(rf"\b(?:{MONTH_NAMES}|voorjaar|najaar|zomer|winter)\b")


# who someone is or did it: a role after a name ("X, Managing Director van Y", "Authors: X,
# Senior Economist"), in Dutch or in an English byline
_AGENT_RE = re.compile(
    r"auteur|author|schrijver|geschreven|ondertekend|directeur|director|voorzitter|"
    r"econo(?:om|mist)|uitgevoerd|opgesteld|in\s+opdracht|uit\s*(?:te\s+)?beste\w*|"
    r"onder\s+leiding\s+van"
)
# "door" before a name ("door Motivaction", "door de VIVO-werkgroep"), not "door de opkomst
# van AI": case matters, so this reads the text as written
_BY_NAME_RE = re.compile(r"\b(?:[Dd]oor|[Bb]y)\s+(?:(?:de|het|the)\s+)?[A-Z]")
_PARTICIPLE_RE = re.compile(r"^(?:ge|uitge|opge|vastge|onderge)\w{3,}(?:d|t|en)$")


def _names_agent(question: str, text: str, folded_text: str) -> bool:
    """For a name question: the text names someone *as* the one who did it ("door X",
    "uitgevoerd", "X, directeur"), or it uses the question's own participle."""
    if _AGENT_RE.search(folded_text) or _BY_NAME_RE.search(text):
        return True
    verbs = {light_stem(w) for w in words_of(question) if _PARTICIPLE_RE.match(w)}
    stems = content_stems(folded_text)
    return any(stem_found(v, stems) for v in verbs)


@dataclass(frozen=True)
class Asked:
    """What kind of fact a question asks for, when it asks for a specific one."""

    number: bool = False  # "hoeveel", "welk percentage", "hoe groot"
    unit: str = ""  # "hoeveel minuten": the figure must come with the unit
    name: bool = False  # "wie", "welk bureau", "door wie"
    date: bool = False  # "wanneer", "in welk jaar"
    topic: tuple[str, ...] = ()  # stems of X in "wat zeggen de bronnen over X"
    counted: str = ""  # "hoeveel ziekenhuizen": the figure must count hospitals
    part: str = ""  # "zorg" of "procent van de zorgprofessionals": the figure's group too
    summary: bool = False  # "Vat het rapport samen", "welke conclusies trekt X"
    sample: bool = False  # "hoeveel respondenten": a survey's size, which no share gives

    @property
    def specific(self) -> bool:
        return self.number or self.name or self.date


def last_question(text: str) -> str:
    """The question ``text`` asks last, when it holds several and the last one has a question
    word of its own; else ``text``. A follow-up searched as "previous question? new question?"
    asks what the new one asks ("Hoeveel ...? Wat is er volgens hen nodig ...?" asks no
    figure), except "Hoe zit dat bij X?", which asks the previous question again for X."""
    parts = re.split(r"(?<=\?)\s+", text.strip())
    last = parts[-1]
    if len(parts) > 1 and last.endswith("?") and _QUESTION_WORD.search(last):
        if not _SAME_AGAIN.match(last):
            return last
    return text


# "wat is het aandeel", "hoe groot was het aandeel", "hoe hoog is het percentage"
_IS_THE = r"(?:wat|hoe\s+(?:groot|hoog))\s+(?:is|was)\s+het"


@lru_cache(maxsize=1024)
def asked(question: str) -> Asked:
    """The kind of fact ``question`` asks for (a cheap Dutch/English pattern match); of
    several questions, the last one's (``last_question``)."""
    question = last_question(question)
    q = fold(question)
    number = bool(_ASK_NUMBER_RE.search(q))
    unit = ""
    m = re.search(r"\bhoeveel\s+(\w+)", q)
    if m and m.group(1) in UNITS:
        unit = m.group(1)
    elif re.search(rf"\b(?:welk|{_IS_THE})\s+percentage\b|\bhoeveel\s+procent\b", q):
        unit = "procent"
    elif re.search(rf"\b(?:welke?|{_IS_THE})\s+(?:aandeel|deel)\b", q):
        unit = "aandeel"
    elif _ASK_MONEY_RE.search(q) and number:
        unit = "euro"
    topic_terms = tuple(
        sorted(s for s in content_stems(topic_phrase(question)) if s not in QUESTION_WORDS)
    )
    return Asked(
        number=number,
        unit=unit,
        counted="" if unit else counted_noun(q),
        part=group_part(q),
        name=bool(_ASK_NAME_RE.search(q)),
        date=bool(_ASK_DATE_RE.search(q)),
        topic=topic_terms,
        summary=bool(_SUMMARY_RE.search(q)),
        sample=number and not unit and bool(_SAMPLE_RE.search(q)),
    )


# how many took part in a survey: "hoeveel respondenten", "onder hoeveel mensen", "hoeveel
# ... deden mee / ondervraagd". A share ("26% maakt ...") is a finding, never the sample's size
_SAMPLE_RE = re.compile(
    r"\bonder\s+hoeveel\b|\bhoeveel\b.*\b(?:respondent\w*|deelnemer\w*|ondervraag\w*|"
    r"bevraag\w*|deelgenomen|(?:deden|doen)\s+(?:er\s+)?mee|meegedaan|namen\s+(?:er\s+)?deel)"
)


# who takes part in a survey may be named any way ("920 professionals" answers "hoeveel
# deelnemers"): these count nothing in particular
_ANY_PEOPLE = frozenset("mensen personen deelnemers respondenten ondervraagden".split())
_COUNTED_RE = re.compile(r"\bhoeveel\s+(?:van\s+(?:de|het|alle)\s+)?(?:\d[\d.,]*\s+)?([^?,;:]+)")


def counted_noun(folded_question: str) -> str:
    """The plural noun a "hoeveel" question counts ("hoeveel Vlaamse ziekenhuizen" ->
    "ziekenhuizen"; the last part of "AI-gebruikers"), or "" when it counts no particular
    thing: a unit, "hoeveel sneller", "hoeveel tijdwinst", people in general."""
    m = _COUNTED_RE.search(folded_question)
    if not m or folded_question.count("hoeveel") > 1:
        return ""
    return _group_word(m.group(1)).split("-")[-1]


def _group_word(phrase: str) -> str:
    """The plural noun of ``phrase`` (what follows "hoeveel" or "procent van de") that a
    figure counts, whole ("ai-gebruikers"), or "" when it names no particular group."""
    for word in phrase.split()[:3]:
        word = word.strip("\"'()")
        tail = word.split("-")[-1]
        if len(tail) <= 3 or (tail.endswith("e") and tail.isalpha()):
            continue  # "nl", "Vlaamse", "jonge": a qualifier before the noun
        plural = tail.isalpha() and len(tail) >= 5 and tail.endswith(("s", "en"))
        return word if plural and tail not in _ANY_PEOPLE else ""
    return ""


# whom a share is of: "procent van de zorgprofessionals" (a count: ``_COUNTED_RE``)
_SHARE_OF_RE = re.compile(
    r"\b(?:procent|percentage|deel|aandeel)\s+van\s+(?:de|het|alle)\s+([^?,;:]+)"
)


def group_part(folded_question: str) -> str:
    """The first part of the compound that names whom a share or count question is about
    ("zorg" of "zorgprofessionals", "hr" of "HR-managers"), or "" when that is one word.
    "60 procent van alle docenten" is no share of ICT teachers: reports give many figures for
    a whole group and few for its parts."""
    m = _SHARE_OF_RE.search(folded_question) or _COUNTED_RE.search(folded_question)
    if not m or folded_question.count("hoeveel") > 1:
        return ""
    word = _group_word(m.group(1))
    if "-" in word:
        first, _, rest = word.partition("-")
        return first if first.isalnum() and len(rest) >= 4 else ""
    parts = default_splitter().split(word) if word else None
    return parts[0] if parts else ""


def names_part(part: str, text: str) -> bool:
    """Whether ``text`` names ``part`` as a word or as a part of a compound ("zorg", "de
    zorgsector", "ouderenzorg", "HR-afdeling"), not merely a word that begins with it
    ("zorgen", worries, is no care)."""
    for word in re.findall(r"[\w-]+", fold(text)):
        if word.startswith(part):
            rest = word[len(part) :]
        elif word.endswith(part):
            rest = word[: -len(part)]
        else:
            continue
        if not rest or rest.startswith("-") or rest.endswith("-") or len(rest) >= 4:
            return True
    return False


def _part_of_figure(part: str, question: str, text: str) -> bool:
    """Whether a sentence of ``text`` with a new amount names ``part`` (or the sentence
    before it does): a quote that speaks of care in one sentence and gives a share of all
    professionals in another gives no share of care professionals."""
    sentences = split_sentences(text)
    for i, sentence in enumerate(sentences):
        if _new_amounts(sentence, question):
            if names_part(part, sentence) or (i > 0 and names_part(part, sentences[i - 1])):
                return True
    return False


def _new_amounts(text: str, question: str) -> set[float]:
    """The numbers of ``text`` that the question does not already give, years left out (a
    year, "in 2025", is no answer to "hoeveel" or "welk aandeel")."""
    return numbers_of(YEAR_RE.sub(" ", text), words=True) - numbers_of(question, words=True)


def counts(noun: str, text: str) -> bool:
    """Whether a figure of ``text`` may count ``noun``: the text speaks of it (its stem, or a
    word reports use for it: "organisaties" for "bedrijven"), or gives a share of a group it
    leaves unnamed ("Slechts 26% maakt ...": the group is in the sentence before). "29
    vertegenwoordigers" or "een kwart van de organisaties" count something else."""
    if stem_found(light_stem(noun), terms_of(text)) or same_terms(noun) & same_terms(text):
        return True
    return any(not fig.group for fig in figures_in(text))


def topic_phrase(question: str) -> str:
    """X of "wat zeggen de bronnen over X?" as the user wrote it, or ""."""
    m = _TOPIC_RE.search(" ".join(question.split()))
    return m.group(1).strip() if m else ""


def provides(ask: Asked, question: str, text: str) -> bool:
    """Whether ``text`` gives a fact of the kind ``ask`` describes (any of the kinds asked)
    and is about the question's topic ("over X": at least half of X's content words)."""
    if ask.topic:
        terms = terms_of(text)
        if 2 * sum(stem_found(t, terms) for t in ask.topic) < len(ask.topic):
            return False
    return not ask.specific or any(kinds_given(ask, question, text))


def kinds_given(ask: Asked, question: str, text: str) -> list[bool]:
    """Per kind of fact ``ask`` asks for (figure, name, date): whether ``text`` gives one."""
    new_numbers = numbers_of(text, words=True) - numbers_of(question, words=True)
    folded = fold(text)
    checks = []
    if ask.number:
        unit = UNITS.get(ask.unit)
        # a year ("in 2025") is no answer to "hoeveel" / "welk aandeel", unless years are asked
        # a survey's size is a count: its shares are findings, not amounts (``Asked.sample``)
        countable = PERCENT_RE.sub(" ", text) if ask.sample else text
        amounts = (
            new_numbers if ask.unit in ("jaar", "jaren") else _new_amounts(countable, question)
        )
        # for "welk aandeel" a fraction word ("de helft") is an amount too
        amount = bool(amounts) or (ask.unit == "aandeel" and bool(re.search(SHARE, folded)))
        checks.append(
            amount
            and (unit is None or bool(re.search(unit, folded)))
            and (not ask.counted or counts(ask.counted, text))
            and (not ask.part or _part_of_figure(ask.part, question, text))
        )
    if ask.name:
        new_name = bool(names_of(text) - names_of(question) - {fold(w) for w in words_of(question)})
        checks.append(new_name and _names_agent(question, text, folded))
    if ask.date:
        checks.append(bool(new_numbers) or bool(_MONTHS_RE.search(folded)))
    return checks


# --------------------------------------------------------------------------- follow-ups

_CONNECTIVE = re.compile(
    r"^(?:en|maar|ook|dus|oké|ok|verder|tot slot|en verder|en wat|wat dan|hoe zit het"
    r"(?: dan)?(?: met)?|hoe dan|waarom dan|en hoe|en waarom)\b[\s,]*",
    re.I,
)
# Pronominal adverbs and the like: they point at something said before.
_STRONG_REF = re.compile(
    r"\b(?:daar(?:over|van|bij|in|mee|voor|door|op|uit|aan|naar|om|tegen|onder|naast|na)?|"
    r"hier(?:over|van|bij|in|mee|voor|door|op|uit|aan|naar|om)|"
    r"er(?:over|van|bij|in|mee|voor|door|op|uit|aan|naar|om|tegen|onder|naast)|"
    r"hetzelfde|dezelfde|zo'n|zulke|diezelfde|datzelfde|eerstgenoemde|laatstgenoemde|"
    r"bovenstaande|voornoemde)\b",
    re.I,
)
# "in deze sector", "van die drie", "uit dat onderzoek"
_DEMONSTRATIVE_NP = re.compile(
    r"\b(?:van|in|bij|uit|over|voor|met|op|onder|tussen|aan|naar|volgens)\s+"
    r"(?:die|deze|dat|dit)\s+\w+",
    re.I,
)
_START_DEMONSTRATIVE = re.compile(r"^(?:die|deze|dat|dit|welke van (?:die|deze))\b", re.I)
# "die drie", "deze twee": the items of the previous answer
_COUNT_REF = re.compile(r"\b(?:die|deze)\s+(?:twee|drie|vier|vijf|zes|zeven)\b", re.I)
# "dat" / "dit" as a pronoun: "Waarom is dat zo?", "Hoe komt dat?", "Geldt dat ook ...?"
_PRONOUN = re.compile(
    r"\b(?:dat|dit)\s*(?:[?.!]|$)|\b(?:dat|dit)\s+(?:zo|ook|dan|precies|eigenlijk|concreet)\b|"
    r"\b(?:is|komt|geldt|betekent|zit|kan|moet|zou|wordt|waarom|hoe) (?:dat|dit)\b",
    re.I,
)
_WEAK_REF = re.compile(r"\b(?:ze|zij|hen|hem)\b", re.I)  # not "hun": "AI in hun werk"
_ORDINALS = {
    "eerste": 1,
    "tweede": 2,
    "derde": 3,
    "vierde": 4,
    "vijfde": 5,
    "zesde": 6,
    "laatste": -1,
}
_ORDINAL = re.compile(
    r"\b(?:de|het|die|dat)\s+(eerste|tweede|derde|vierde|vijfde|zesde|laatste)\b", re.I
)
_PREPOSITIONS = (
    "in",
    "bij",
    "onder",
    "voor",
    "op",
    "met",
    "van",
    "over",
    "tijdens",
    "volgens",
    "binnen",
    "buiten",
    "tussen",
    "na",
    "sinds",
    "vanuit",
    "zonder",
    "tegen",
    "per",
    "rond",
)
_QUESTION_WORD = re.compile(
    r"\b(?:wat|wie|welke?|waar\w*|wanneer|waarom|hoe\w*|hoeveel|in hoeverre)\b", re.I
)
# "Hoe zit dat bij X?", "En hoe staat het met X?": the previous question again, for X
_SAME_AGAIN = re.compile(r"^(?:en\s+)?hoe\s+(?:zit|staat)\s+(?:het|dat|dit)\b", re.I)
_CITATION = re.compile(r"\[[^\]]{1,80}\]")
_CAPITALISED = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][a-z]*[A-Z]\w*|[A-Z]{2,}\w*|[A-Z][a-z]+)\b")


# Words about the sources or the shape of the answer, not about a topic ("Wat zeggen de
# bronnen ...", "Zet de onderzoeken naast elkaar"): they do not count for the relevance floor's
# coverage. (They stay in the search: they do steer e5 towards the passages that report.)
META_WORDS: frozenset[str] = frozenset(
    """bron bronnen onderzoek onderzoeken rapport rapporten document documenten tekst teksten
    artikel artikelen studie studies publicatie zeggen zegt zeg vertellen vertelt staat staan
    vermeld vermelden noemen noemt geef geven zet leg uit vat samen kort overzicht lijst
    punten tabel vergelijk vergelijken naast elkaar verschillende eens even gewoon graag
    alsjeblieft aub svp volgens schrijven schrijft beschrijf beschrijven""".split()
)


@dataclass
class Rewrite:
    """A question resolved against the conversation."""

    query: str  # the standalone question: searched and shown to the user
    focus: str  # the new question's own words (without what was carried over)
    followup: bool = False
    refers_back: bool = False  # points at the previous answer ("daarover", "de tweede")
    carried: str = ""  # the previous question (and answer items) carried into ``query``


def _has_name(text: str) -> bool:
    """A proper name or acronym after the first word ("NLQF", "Integron", "SD Worx")."""
    return bool(_CAPITALISED.search(text.strip()))


def says_little(question: str) -> bool:
    """At most two content words and no name: "Waarom is dat zo?", "Wat zeggen ze daarover?"."""
    n_content = len(content_words(question))
    return n_content == 0 or (n_content <= 2 and not _has_name(question))


@dataclass(frozen=True)
class _Signals:
    followup: bool  # leans on the conversation
    refers: bool  # points back at what was said ("daarover", "die drie", "Waarom?")
    connective: bool  # starts with "En", "Maar", "Hoe zit het met" ...


def _signals(question: str) -> _Signals:
    """What the question alone says about being a follow-up (see the module docstring)."""
    q = question.strip()
    n_content = len(content_words(q))
    connective = bool(_CONNECTIVE.match(q))
    strong = bool(
        _STRONG_REF.search(q)
        or _DEMONSTRATIVE_NP.search(q)
        or _START_DEMONSTRATIVE.match(q)
        or _COUNT_REF.search(q)
        or _PRONOUN.search(q)
    )
    ordinal = bool(_ORDINAL.search(q)) and (connective or n_content <= 3)
    weak = bool(_WEAK_REF.search(q)) and n_content <= 4
    short = says_little(q)
    first = q.split()[0].lower() if q.split() else ""
    fragment = first in _PREPOSITIONS and not _QUESTION_WORD.search(q)  # "Bij directieleden?"
    refers = strong or ordinal or weak or (short and not connective and not fragment)
    # "En wie heeft de enquête voor KPN opgesteld?": an opening "En" before a question
    # with its own question word, name and subject stands alone
    whole = bool(_QUESTION_WORD.search(q)) and _has_name(q) and n_content >= 3
    return _Signals((connective and not whole) or refers or short, refers, connective)


def is_followup(question: str, history: list[Message]) -> bool:
    """Does ``question`` lean on the conversation (see the module docstring)?"""
    if not any(t.get("role") == "user" for t in history):
        return False
    return _signals(question).followup


def answer_items(answer: str) -> list[str]:
    """The items of a list in an answer: numbered/bulleted lines, or "A, B en C" inline."""
    text = _CITATION.sub("", answer)
    items = []
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\d{1,2}[.)]|[-•*])\s+(.+?)\s*$", line)
        if m:
            # a quote line ("Volgens X: „…" [1]") states its item in the quoted words
            items.append(_clause(m.group(1).split("„", 1)[-1]))
    if len(items) >= 2:
        return [_trim_item(i) for i in items if i]
    for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
        part = sentence.split(":", 1)[1] if ":" in sentence else sentence
        part = _clause(part)
        pieces = [p.strip() for p in re.split(r",\s*|\s+en\s+|\s+of\s+", part) if p.strip()]
        if len(pieces) >= 3 and all(len(p.split()) <= 6 for p in pieces):
            return [_trim_item(p) for p in pieces]
    return []


def _clause(text: str) -> str:
    """``text`` up to the first colon, full stop or subordinate clause ("..., zoals ...")."""
    return re.split(r"[:.;]|,?\s+(?:zoals|waarbij|maar|want|omdat)\b|,\s*(?:die|dat)\b", text)[
        0
    ].strip()


def _trim_item(item: str) -> str:
    words = item.strip(" ,.'\"‘’“”").split()
    return " ".join(words[:6])


def _merge_fragment(previous: str, fragment: str) -> str:
    """Put an elliptical fragment ("in de zorg") into the previous question.

    A sentence-final phrase with the same preposition is replaced ("... AI in hun werk?" +
    "in de zorg" -> "... AI in de zorg?"); otherwise the fragment is appended.
    """
    prev = previous.strip().rstrip("?.! ")
    frag = fragment.strip().rstrip("?.! ")
    if len(frag) > 1 and frag[0].isupper() and frag[1].islower():
        frag = frag[0].lower() + frag[1:]  # "Bij directieleden" inside a sentence
    prep = frag.split()[0].lower() if frag.split() else ""
    if prep in _PREPOSITIONS:
        m = re.search(rf"\s{re.escape(prep)}\s+[^,;:?]{{1,40}}$", prev, re.I)
        if m and len(m.group(0).split()) <= 5:
            return f"{prev[: m.start()]} {frag}?"
    return f"{prev}, {frag}?"


def rewrite_question(
    question: str, history: list[Message], guard: Guard | None = None, _depth: int = 0
) -> Rewrite:
    """Resolve ``question`` against ``history`` (see the module docstring); requests to
    decline (``guard``, see ``strip_instructions``) are left out."""
    q = strip_instructions(question, guard)
    if not is_followup(q, history):
        return Rewrite(query=q, focus=q)
    last_user = max(i for i, t in enumerate(history) if t.get("role") == "user")
    answer = next(
        (t["content"] for t in history[last_user + 1 :] if t.get("role") == "assistant"), ""
    )
    prev_q = _previous_question(history, last_user, guard, _depth)
    sig = _signals(q)
    refers = sig.refers
    connective = _CONNECTIVE.match(q)
    rest = q[connective.end() :].strip() if connective else q
    items = answer_items(answer) if answer else []
    insert = ""
    anchor = _ORDINAL.search(q)
    if items and anchor:
        n = _ORDINALS[anchor.group(1).lower()]
        if n == -1 or n <= len(items):
            insert = items[n - 1 if n > 0 else -1]
    elif items and _COUNT_REF.search(q):
        anchor = _COUNT_REF.search(q)
        insert = ", ".join(items)
    if insert and anchor is not None:
        focus = f"{q[: anchor.end()]} ({insert}){q[anchor.end() :]}"
        query = f"{_ensure_q(prev_q)} {focus}"
        return Rewrite(
            query=_cap(query), focus=focus, followup=True, refers_back=True, carried=prev_q
        )
    words = rest.split()
    first = words[0].lower() if words else ""
    elliptical = (
        not refers
        and 0 < len(words) <= 10
        and (connective is not None or first in _PREPOSITIONS)
        and (first in _PREPOSITIONS or not _QUESTION_WORD.search(rest))
    )
    if elliptical:
        if first not in _PREPOSITIONS and connective and " met" in connective.group(0).lower():
            rest = "wat betreft " + rest  # "Hoe zit het met de overheid?"
        query = _merge_fragment(prev_q, rest)
        return Rewrite(
            query=_cap(query), focus=rest, followup=True, refers_back=False, carried=prev_q
        )
    query = f"{_ensure_q(prev_q)} {q}"
    return Rewrite(query=_cap(query), focus=q, followup=True, refers_back=True, carried=prev_q)


def _previous_question(
    history: list[Message], last_user: int, guard: Guard | None, depth: int
) -> str:
    """The previous question as a follow-up carries it. Two turns back only what it needs to
    stand alone comes along: an ellipsis or a bare "Waarom?" made whole. A question with words
    of its own goes without the older topic, which would outweigh it."""
    prev_q = history[last_user]["content"]
    earlier = history[:last_user]
    if depth < 2 and earlier:
        older = rewrite_question(prev_q, earlier, guard, depth + 1)
        if older.followup and (not older.refers_back or says_little(prev_q)):
            prev_q = older.query
    prev_q = strip_instructions(prev_q, guard)
    if len(prev_q) > MAX_QUERY_CHARS // 2:
        prev_q = prev_q[-(MAX_QUERY_CHARS // 2) :].split(" ", 1)[-1]
    return prev_q


def _ensure_q(text: str) -> str:
    text = text.strip()
    return text if text.endswith(("?", ".", "!")) else text + "?"


def _cap(text: str) -> str:
    return text if len(text) <= MAX_QUERY_CHARS else text[-MAX_QUERY_CHARS:].split(" ", 1)[-1]


def standalone_question(question: str, history: list[Message]) -> str:
    """The question as searched and shown: ``rewrite_question(...).query``."""
    return rewrite_question(question, history).query
