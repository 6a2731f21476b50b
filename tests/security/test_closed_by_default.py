"""Point 2 of issue #15: without ``RAG_APP__AUTH`` the page is closed to everyone but the
person at this machine.

Attacks: a request that reaches a loopback page through a reverse proxy on the same machine
(``X-Forwarded-For`` and friends), a page started on a network address without a login
(``make run HOST=0.0.0.0``), and a privacy check that shows green for either. The page is
driven with ``AppTest``; its browser connection is given by ``as_browser`` (AppTest has none).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import as_browser
from streamlit.testing.v1 import AppTest
from test_browser import app_url  # noqa: F401 - the real server fixture

from assistant.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture
def page_env(tmp_settings, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    from streamlit import config

    previous = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield tmp_settings
    config.set_option("server.address", previous)


def _errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error).replace("\\", "")


@pytest.mark.parametrize(
    "headers",
    [
        {"X_Forwarded_For": "10.0.0.9"},
        {"Forwarded": "for=10.0.0.9;proto=https"},
        {"X_Real_IP": "10.0.0.9"},
    ],
)
def test_request_through_a_proxy_gets_no_access(page_env, monkeypatch, headers) -> None:  # noqa: ANN001
    as_browser(monkeypatch, "127.0.0.1", **headers)  # nginx on this machine forwards
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert not at.chat_input  # no chat, no Beheer, nothing
    assert "RAG_APP__AUTH" in _errors(at)
    at.switch_page("ui/page_beheer.py").run()  # a direct link to Beheer
    assert not at.exception and not at.dataframe
    assert "Beheer" not in [t.value for t in at.title]


def test_browser_on_another_machine_gets_no_access(page_env, monkeypatch) -> None:  # noqa: ANN001
    as_browser(monkeypatch, "192.168.1.20")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.chat_input and "RAG_APP__AUTH" in _errors(at)


def test_browser_on_this_machine_is_the_local_beheerder(page_env, monkeypatch) -> None:  # noqa: ANN001
    as_browser(monkeypatch, "127.0.0.1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.chat_input
    at.switch_page("ui/page_beheer.py").run()
    assert at.title[0].value == "Beheer"


def test_network_address_without_login_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_APP__AUTH")}
    env["RAG_APP__AUTH"] = "none"
    refused = subprocess.run(
        ["make", "--no-print-directory", "check-host", "HOST=0.0.0.0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "RAG_APP__AUTH" in refused.stderr and "HOST=0.0.0.0" in refused.stderr
    env["RAG_APP__AUTH"] = "local"
    allowed = subprocess.run(
        ["make", "--no-print-directory", "check-host", "HOST=0.0.0.0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert allowed.returncode == 0, allowed.stderr
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    run_line = next(line for line in makefile.splitlines() if line.startswith("run:"))
    assert "check-host" in run_line  # `make run` checks before it starts the page


def test_privacy_check_is_not_green_for_an_open_door(tmp_settings) -> None:  # noqa: ANN001
    from streamlit import config

    from ui.beheer import privacy_checks

    previous = config.get_option("server.address")
    try:
        config.set_option("server.address", "0.0.0.0")
        checks = {c.name: c for c in privacy_checks(tmp_settings)}
        assert not checks["Toegang"].ok and "RAG_APP__AUTH" in checks["Toegang"].detail
        config.set_option("server.address", "127.0.0.1")
        checks = {c.name: c for c in privacy_checks(tmp_settings)}
        assert checks["Toegang"].ok and "proxy" in checks["Toegang"].detail
    finally:
        config.set_option("server.address", previous)


@pytest.mark.browser
def test_real_server_refuses_a_browser_behind_a_proxy(app_url: str) -> None:  # noqa: F811
    """The same attack against a real ``streamlit run`` on loopback and headless Chromium:
    a proxy on this machine (the connection comes from 127.0.0.1) adds X-Forwarded-For."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            direct = browser.new_page()
            direct.goto(app_url + "/")
            direct.get_by_placeholder("Stel een vraag over de rapporten…").wait_for(
                timeout=30_000
            )  # the person at this machine gets in
            proxied = browser.new_context(extra_http_headers={"X-Forwarded-For": "10.0.0.9"})
            page = proxied.new_page()
            page.goto(app_url + "/")
            page.get_by_text("RAG_APP__AUTH", exact=False).first.wait_for(timeout=30_000)
            assert page.get_by_placeholder("Stel een vraag over de rapporten…").count() == 0
        finally:
            browser.close()
