"""Pure retrieval logic: rank fusion, diversity, follow-up rewriting."""

import pytest

from assistant.chunks import Chunk, ScoredChunk
from assistant.retrieval import diversify, is_followup, near_duplicate, rrf, standalone_question


def test_rrf_rewards_agreement() -> None:
    fused = rrf({"dense": ["a", "b", "c"], "keyword": ["b", "d"]})
    assert fused[0][0] == "b"
    assert fused[0][2] == {"dense": 2, "keyword": 1}
    assert {cid for cid, _, _ in fused} == {"a", "b", "c", "d"}


def _sc(cid: str, text: str) -> ScoredChunk:
    stem = cid.split(":")[0]
    return ScoredChunk(Chunk(id=cid, text=text, source=f"{stem}.txt", page=1, index=0), 1.0)


def test_diversify_drops_near_duplicates_and_caps_per_document() -> None:
    same = "De KPN-enquête onder 920 professionals toont zorgen over AI en cybersecurity."
    items = [
        _sc("kpn1:1:0", same),
        _sc("kpn2:1:0", same + " Ook"),
        _sc("kpn1:1:1", "Digitale stress komt in de zorg vaker voor."),
        _sc("kpn1:2:0", "Weerstand tegen verandering is groot."),
        _sc("other:1:0", "Integron meldt dat 26% AI actief gebruikt."),
    ]
    chosen = diversify(items, top_k=4, max_per_document=2)
    ids = [c.chunk.id for c in chosen]
    assert "kpn2:1:0" not in ids  # near-duplicate of the first
    assert sum(i.startswith("kpn1") for i in ids) == 2
    assert "other:1:0" in ids


def test_near_duplicate() -> None:
    survey = "Uit het onderzoek van KPN onder 920 professionals blijkt dat AI en cybersecurity"
    assert near_duplicate(survey + " de grootste zorgen zijn.", survey + " zorgen baren.")
    assert not near_duplicate("werkgelegenheid in de zorg", "robotisering in de industrie")


HISTORY = [
    {"role": "user", "content": "Hoeveel werknemers gebruiken AI in hun werk?"},
    {"role": "assistant", "content": "26% gebruikt AI actief [1]."},
]


@pytest.mark.parametrize(
    ("question", "expected_followup"),
    [
        ("En in de zorg?", True),
        ("Waarom is dat zo?", True),
        ("Wat zijn de aanbevelingen van het VIVO-rapport voor de social profit sector?", False),
    ],
)
def test_followup_detection(question: str, expected_followup: bool) -> None:
    assert is_followup(question, HISTORY) is expected_followup
    assert not is_followup(question, [])


def test_standalone_question_carries_topic() -> None:
    rewritten = standalone_question("En in de zorg?", HISTORY)
    assert "AI" in rewritten and "zorg" in rewritten
    assert not rewritten.lower().startswith("en ")
    assert standalone_question("Wat is NLQF?", []) == "Wat is NLQF?"
