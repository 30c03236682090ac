"""Browser test in headless Chromium (Debian's /usr/bin/chromium through Playwright): an
investigator enters a patient and an assessment, a statistician assigns it, two blinded
adjudicators disagree and reach consensus, and the dashboard shows the update. Screenshots
are saved in the test's tmp directory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

import regmed.registry as reg
from regmed.web import WebSettings, create_app

from .conftest import KEY, PASSWORD, SECRETS, seed

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(tmp_path: Path, name: str, **options: object) -> Iterator[int]:
    """A seeded SQLite registry served by uvicorn on a free loopback port (yields the port);
    ``options`` are :class:`WebSettings` fields."""
    url = f"sqlite:///{tmp_path / name}"
    engine = reg.make_engine(url)
    reg.upgrade(engine)
    seed(engine)
    settings = WebSettings(secret_key="browser-test-secret-0123456789", database_url=url,
                           pseudonym_key=KEY, **options)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(5)
        engine.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, "browser.sqlite", secure_cookies=False) as port:
        yield f"http://127.0.0.1:{port}"


def _launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking"])


def _login(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")


def _logout(page: Page) -> None:
    page.click("#logout")
    page.wait_for_url("**/login")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_enter_assess_adjudicate_dashboard(server: str, screenshots: Path) -> None:
    shots = screenshots
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page()
        _login(page, server, "stat")
        page.goto(f"{server}/dashboard")
        assert page.inner_text("#total-enrolled") == "2"
        _logout(page)

        _login(page, server, "inv1")
        page.goto(f"{server}/patients")
        form = page.locator("#enroll")
        form.locator("[name=patient_ref]").fill("WEB-1")
        form.locator("[name=birth_year]").fill("1975")
        form.locator("[name=index_on]").fill("2026-01-10")
        form.locator("[name=enrolled_on]").fill("2026-01-12")
        form.locator("button").click()
        page.wait_for_url("**/patients/*")
        page.screenshot(path=str(shots / "1_patient.png"))
        form = page.locator("#assess")
        form.locator("[name=endpoint]").select_option("ais_grade")
        form.locator("[name=assessed_on]").fill("2026-02-28")
        form.locator("[name=value_text]").select_option("C")
        form.locator("[name=assessor]").fill("Dr. Treating")
        form.locator("button").click()
        page.wait_for_selector("#assessments >> text=2026-02-28")
        page.screenshot(path=str(shots / "2_assessment.png"))
        patient_url = page.url
        _logout(page)

        _login(page, server, "stat")
        page.goto(patient_url)
        page.locator("form.assign [name=reviewer][value=adj1]").check()
        page.locator("form.assign [name=reviewer][value=adj2]").check()
        page.locator("form.assign button").click()
        page.wait_for_load_state()
        _logout(page)

        for who, verdict in (("adj1", "C"), ("adj2", "D")):
            _login(page, server, who)
            page.goto(f"{server}/adjudication")
            html = page.content()
            assert not [w for w in SECRETS if w in html]
            row = page.locator("#assignments tr").last  # the newest assignment
            row.locator("[name=value_text]").select_option(verdict)
            row.locator("[name=reason]").select_option("source_clear")
            row.locator("button").click()
            page.wait_for_url(f"{server}/adjudication")
            page.screenshot(path=str(shots / f"3_{who}.png"))
            if who == "adj2":
                assert "consensus needed" in page.content()
                assert "record consensus" not in page.content()  # a reviewer cannot settle
            _logout(page)

        _login(page, server, "stat")  # a third adjudicator settles the disagreement
        page.goto(patient_url)
        page.locator("form.assign [name=reviewer][value=adj3]").check()
        page.locator("form.assign [name=kind]").select_option("consensus")
        page.locator("form.assign button").click()
        page.wait_for_load_state()
        _logout(page)
        _login(page, server, "adj3")
        page.goto(f"{server}/adjudication")
        row = page.locator("#assignments tr").last
        row.locator("[name=value_text]").select_option("C")
        row.locator("[name=reason]").select_option("majority")
        row.locator("button").click()
        page.wait_for_url(f"{server}/adjudication")
        assert "consensus C" in page.content()
        _logout(page)

        _login(page, server, "stat")
        page.goto(f"{server}/dashboard")
        assert page.inner_text("#total-enrolled") == "3"
        assert page.inner_text("#awaiting-consensus") == "0"
        assert "ais_grade" in page.inner_text("#agreement")
        page.screenshot(path=str(shots / "4_dashboard.png"), full_page=True)
        browser.close()
    assert len(list(shots.glob("*.png"))) == 5


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_patient_forms_and_a_data_query(server: str, screenshots: Path) -> None:
    shots = screenshots
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page()
        _login(page, server, "inv1")
        page.goto(f"{server}/patients")
        page.locator("#patients a").first.click()
        page.wait_for_url("**/patients/*")
        patient_url = page.url
        form = page.locator("#adverse-event")
        form.locator("[name=term]").fill("headache")
        form.locator("[name=onset_on]").fill("2026-01-15")
        form.locator("[name=grade]").select_option("2")
        form.locator("button").click()
        page.wait_for_selector("#adverse-events >> text=headache")
        form = page.locator("#administer")
        form.locator("[name=lot_code]").select_option("LOT-002")
        form.locator("[name=administered_on]").fill("2026-01-22")
        form.locator("[name=dose]").fill("1.2")
        form.locator("[name=dose_unit]").fill("1e8 cells")
        form.locator("button").click()
        assert "needs the documented request" in page.inner_text("#errors")
        form = page.locator("#administer")
        form.locator("[name=lot_code]").select_option("LOT-002")
        form.locator("[name=administered_on]").fill("2026-01-22")
        form.locator("[name=dose]").fill("1.2")
        form.locator("[name=dose_unit]").fill("1e8 cells")
        form.locator("[name=oos_request_documented]").check()
        form.locator("button").click()
        page.wait_for_selector("#administrations >> text=LOT-002")
        page.screenshot(path=str(shots / "1_patient_forms.png"), full_page=True)
        _logout(page)

        _login(page, server, "stat")
        page.goto(patient_url)
        form = page.locator("#raise-query")
        record = form.locator("[name=record] option[value^=assessments]").first
        form.locator("[name=record]").select_option(record.get_attribute("value"))
        form.locator("[name=field]").select_option("value_text")
        form.locator("[name=question]").fill("Source document for the grade?")
        form.locator("button").click()
        page.wait_for_url(f"{server}/queries")
        assert "Source document for the grade?" in page.inner_text("#queries")
        _logout(page)

        _login(page, server, "inv1")
        page.goto(f"{server}/queries")
        page.locator("form.answer [name=answer]").fill("Checked against the chart")
        page.locator("form.answer button").click()
        page.wait_for_url(f"{server}/queries")
        assert "answered" in page.inner_text("#queries")
        page.screenshot(path=str(shots / "2_queries.png"), full_page=True)
        browser.close()
    assert len(list(shots.glob("*.png"))) == 2
