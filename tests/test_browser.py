"""The app in a real browser: ask, click a citation, see the highlighted passage; no request
leaves the machine.

Starts ``streamlit run app.py`` on a free loopback port with the fake backends and a tiny
index in ``tmp_path``, then drives Debian's headless Chromium with Playwright (Playwright's
own browser download is not possible here; ``make test`` installs /usr/bin/chromium).
Every request the page makes is recorded; anything but 127.0.0.1/localhost (or data:/blob:)
fails the test. Screenshots go to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
QUESTION = "Hoeveel procent van de werknemers gebruikt AI actief?"

DOCS = {
    "werk_ai.txt": (
        {"title": "AI op de werkvloer", "organisation": "Integron", "date": "2025-03-01"},
        "26 procent van de Nederlandse werknemers gebruikt AI actief in het dagelijkse werk. "
        "De aanleiding voor dit onderzoek naar AI op de werkvloer is de snelle opkomst van "
        "chatbots. Vooral jongere werknemers gebruiken chatbots voor het schrijven van teksten. "
        "Werkgevers bieden nog weinig training aan over verantwoord gebruik van AI.\n\n"
        "Het rapport beveelt werkgevers aan om duidelijke richtlijnen op te stellen voor het "
        "gebruik van AI.",
    ),
    "zorg_personeel.txt": (
        {
            "title": "Zorgen in de zorgsector",
            "organisation": "KPN en Motivaction",
            "date": "2025-09-04",
        },
        "In de zorgsector liggen professionals vooral wakker van het aantrekken en behouden "
        "van personeel. 85 procent van de ondervraagde professionals pleit voor meer "
        "ondersteuning bij digitale vaardigheden.",
    ),
}

if not CHROMIUM.is_file():
    pytest.skip(
        "/usr/bin/chromium ontbreekt (installeer met `make chromium`)", allow_module_level=True
    )
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit stopped with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url}")


@pytest.fixture
def app_url(tmp_settings, tmp_path: Path) -> Iterator[str]:  # noqa: ANN001
    yield from _serve(tmp_settings, tmp_path, DOCS)


def _serve(  # noqa: ANN001 - settings, make_pdf
    settings, tmp_path: Path, docs: dict, pdfs: dict | None = None, make_pdf=None
) -> Iterator[str]:
    """Index ``docs`` (name -> (meta, text)) and ``pdfs`` (name -> (meta, pages)), then run
    the app on a free port until the test ends."""
    from assistant.embeddings import make_embeddings
    from assistant.store import Store
    from ingest.sync import sync

    corpus = settings.ingest.corpus
    for name, (_meta, text) in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    for name, (_meta, pages) in (pdfs or {}).items():
        make_pdf(corpus / name, pages)
    for name, (meta, _) in {**docs, **(pdfs or {})}.items():
        (corpus / f"{Path(name).stem}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    sync(settings, Store(settings.store, make_embeddings(settings.embeddings)), corpus)
    port = _free_port()
    env = {
        **os.environ,  # holds the sandbox RAG_* values of tmp_settings
        "RAG_RETRIEVAL__RELEVANCE_FLOOR": "0.05",  # the hashing test embedder scores low
        "RAG_RETRIEVAL__RELEVANCE_FLOOR_STRONG": "0.05",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "ANONYMIZED_TELEMETRY": "False",
    }
    log_file = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log_file.close()
        log = (tmp_path / "streamlit.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]


def _settle(page) -> None:  # noqa: ANN001 - playwright Page
    """Wait until Streamlit has finished the script run and no element is stale."""
    page.wait_for_timeout(300)
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
    )
    page.wait_for_function(
        '!document.querySelector(\'[data-stale="true"], [data-testid^="stSkeleton"]\')',
        timeout=30_000,
    )


def _full_screenshot(page, path: Path) -> None:  # noqa: ANN001
    """Streamlit scrolls inside its main block, so grow the viewport to the content."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"] *')]"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1366, "height": min(max(900, int(height) + 80), 4000)})
    page.screenshot(path=path)
    page.set_viewport_size({"width": 1366, "height": 900})


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in ("127.0.0.1", "localhost", "::1")


def test_ask_click_citation_and_nothing_leaves(app_url: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="nl-NL")
            page.on("request", lambda r: requests.append(r.url))

            page.goto(app_url + "/")
            box = page.get_by_placeholder("Stel een vraag over de rapporten…")
            box.wait_for(timeout=30_000)
            page.get_by_text("Probeer bijvoorbeeld:").wait_for(timeout=30_000)
            _settle(page)
            page.screenshot(path=ARTIFACTS / "chat_start.png")

            box.fill(QUESTION)
            box.press("Enter")
            card = page.locator(".oa-bron").first
            card.wait_for(timeout=30_000)
            page.get_by_role("button", name="Gesprek als Word").wait_for(timeout=10_000)
            _settle(page)
            page.screenshot(path=ARTIFACTS / "chat_answer.png")

            marker = page.locator("a[href^='#bron-']").first
            target = marker.get_attribute("href")
            assert target and target.startswith("#bron-")
            assert marker.inner_text() == "[1]"
            marker.click()
            page.wait_for_function("h => location.hash === h", arg=target, timeout=5_000)
            source = page.locator(target)
            mark = source.locator("mark").first
            assert mark.is_visible()
            assert "26 procent" in mark.inner_text()
            assert page.evaluate(
                "id => { const r = document.getElementById(id).getBoundingClientRect();"
                " return r.top >= 0 && r.top < window.innerHeight; }",
                target[1:],
            )
            page.screenshot(path=ARTIFACTS / "citation_open.png")

            page.get_by_role("link", name="Briefing").click()
            page.get_by_label("Onderwerp").fill("AI op de werkvloer")
            page.get_by_text("kort", exact=True).click()
            page.get_by_role("button", name="Maak briefing").click()
            page.get_by_text("Briefing klaar").wait_for(timeout=60_000)
            page.locator(".oa-bron mark").first.wait_for(timeout=10_000)
            _settle(page)
            _full_screenshot(page, ARTIFACTS / "briefing.png")

            page.get_by_role("link", name="Beheer").click()
            page.get_by_text("Documenten toevoegen").first.wait_for(timeout=30_000)
            _settle(page)
            page.screenshot(path=ARTIFACTS / "beheer.png")
            page.get_by_role("tab", name="Privacy").click()
            page.get_by_text("Streamlit-gebruiksstatistiek").wait_for(timeout=10_000)
            page.screenshot(path=ARTIFACTS / "beheer_privacy.png")

            content = page.content()
            assert "Traceback" not in content
        finally:
            browser.close()
    assert requests, "no requests recorded"
    outside = sorted({u for u in requests if not _is_local(u)})
    assert not outside, f"requests left the machine: {outside}"


PDF_DOCS = {
    "vivo_rapport.pdf": (
        {"title": "Digitalisering en jobs", "organisation": "VIVO", "date": "2019"},
        [
            "Inhoud\n1. Inleiding\n2. Gebruik van AI",
            "Gebruik van AI\n\nRobotisering en digitalisering veranderen de jobs in de sector. "
            "In 2019 gebruikte 12 procent van de werknemers AI actief in het dagelijkse werk. "
            "Vooral administratieve taken worden geautomatiseerd.",
        ],
    )
}


@pytest.fixture
def pdf_app_url(tmp_settings, tmp_path: Path, make_pdf) -> Iterator[str]:  # noqa: ANN001
    docs = {"werk_ai.txt": DOCS["werk_ai.txt"]}
    yield from _serve(tmp_settings, tmp_path, docs, PDF_DOCS, make_pdf)


def _yellow_pixels(png: Path) -> int:
    from PIL import Image

    image = Image.open(png).convert("RGB")
    small = image.resize((image.width // 2, image.height // 2))
    return sum(1 for r, g, b in small.get_flattened_data() if r > 220 and 170 < g < 235 and b < 150)


def test_pdf_citation_opens_the_page_with_the_quote_highlighted(pdf_app_url: str) -> None:
    """A question whose sources disagree: both figures side by side, each cited; the PDF
    citation opens its printed page with the quote highlighted (screenshot for a human)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="nl-NL")
            page.on("request", lambda r: requests.append(r.url))
            page.goto(pdf_app_url + "/")
            box = page.get_by_placeholder("Stel een vraag over de rapporten…")
            box.wait_for(timeout=30_000)
            _settle(page)
            # the sidebar lists each document with its date, the old one flagged
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Documenten in gebruik: 2").click()
            old = sidebar.locator("p", has_text="Digitalisering en jobs")
            old.wait_for(timeout=10_000)
            assert "2019" in old.inner_text() and "ouder dan 3 jaar" in old.inner_text()
            new = sidebar.locator("p", has_text=DOCS["werk_ai.txt"][0]["title"])
            assert "ouder dan" not in new.inner_text()
            page.wait_for_timeout(600)  # the expander's opening animation
            page.screenshot(path=ARTIFACTS / "sidebar_document_dates.png")
            box.fill(QUESTION)
            box.press("Enter")
            page.locator(".oa-bron").first.wait_for(timeout=30_000)
            _settle(page)
            page.get_by_text("De bronnen noemen verschillende cijfers hierover").wait_for()
            card = page.locator(".oa-bron", has_text="Digitalisering en jobs")
            assert "2019" in card.inner_text() and "ouder dan 3 jaar" in card.inner_text()
            card_id = card.get_attribute("id")
            page.locator(f"a[href='#{card_id}']").first.click()
            page.wait_for_function("h => location.hash === h", arg=f"#{card_id}", timeout=5_000)
            page.get_by_text("Originele pagina 2").click()
            image = page.locator('[data-testid="stExpander"] img').first
            image.wait_for(timeout=15_000)
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )
            page.get_by_text("het citaat is geel gemarkeerd").wait_for(timeout=5_000)
            # tall enough for the whole rendered page (Streamlit scrolls inside its main block)
            page.set_viewport_size({"width": 1366, "height": 2600})
            image.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            shot = ARTIFACTS / "pdf_citation_page.png"
            image.screenshot(path=shot)
            page.screenshot(path=ARTIFACTS / "pdf_citation_answer.png")
            assert _yellow_pixels(shot) > 200, "no highlighted quote on the rendered page"

            page.set_viewport_size({"width": 1366, "height": 900})
            page.get_by_role("link", name="Beheer").click()
            page.get_by_role("tab", name="Index").click()
            page.get_by_text("Documenten van nieuw naar oud").wait_for(timeout=30_000)
            _settle(page)
            page.screenshot(path=ARTIFACTS / "beheer_index_dates.png")
        finally:
            browser.close()
    outside = sorted({u for u in requests if not _is_local(u)})
    assert not outside, f"requests left the machine: {outside}"
