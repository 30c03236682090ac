"""Each role's main job in headless Chromium, in Japanese and in English, on a desktop
(1280×800) and a phone (390×844): screenshots are kept in ``tests/artifacts/screenshots/``
and axe-core (``tests/web/assets/axe.min.js``, MPL-2.0) runs on every page, which must have no
serious or critical accessibility violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, sync_playwright

from .conftest import PASSWORD, SECRETS
from .test_browser import CHROMIUM, _launch, server  # noqa: F401  (the server fixture)

AXE = Path(__file__).parent / "assets" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
WORDS = {"ja": {"enroll": "登録する", "logout": "ログアウト", "due": "来院予定と期限超過"},
         "en": {"enroll": "enroll", "logout": "log out", "due": "My due and overdue visits"}}


def _axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page (WCAG 2.1 A and AA rules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


class _Tour:
    """Visits pages as one user; each page is screenshotted and checked with axe-core."""

    def __init__(self, context: BrowserContext, base: str, lang: str, size: str) -> None:
        self.page = context.new_page()
        self.base, self.lang, self.size = base, lang, size
        self.violations: dict[str, list[dict[str, Any]]] = {}
        self.shots: list[Path] = []

    def check(self, name: str) -> None:
        page = self.page
        assert page.get_attribute("html", "lang") == self.lang
        assert page.locator("meta[name=viewport]").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"] + 1, f"{name}: wider than the screen"
        path = SHOTS / f"{self.lang}_{self.size}_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        found = _axe(page)
        if found:
            self.violations[name] = found

    def login(self, user: str) -> None:
        page = self.page
        page.goto(f"{self.base}/login")
        self.check("login") if user == "inv1" else None
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(f"{self.base}/")

    def logout(self) -> None:
        self.page.click("#logout")
        self.page.wait_for_url("**/login")


def _investigator(t: _Tour) -> str:
    page, base = t.page, t.base
    t.login("inv1")
    t.check("inv_home")
    page.goto(f"{base}/patients")
    form = page.locator("#enroll")
    form.locator("[name=patient_ref]").fill("WEB-9")
    form.locator("[name=birth_year]").fill("1975")
    form.locator("[name=index_on]").fill("2026-01-10")
    form.locator("[name=enrolled_on]").fill("2030-01-12")  # in the future: refused inline
    form.locator("#enroll-save").click()
    page.wait_for_selector("#err-enroll-enrolled_on")
    assert page.locator("#enroll [name=patient_ref]").input_value() == "WEB-9"
    assert page.locator("#patients tbody tr").count() >= 1
    t.check("inv_enroll_error")
    page.locator("#enroll [name=enrolled_on]").fill("2026-01-12")
    page.locator("#enroll-save").click()
    page.wait_for_url("**/patients/*")
    patient_url = page.url
    form = page.locator("#assess")
    form.locator("[name=endpoint]").select_option("ais_grade")
    form.locator("[name=assessed_on]").fill("2026-02-28")
    form.locator("[name=value_text]").select_option("C")
    form.locator("[name=assessor]").fill("Dr. Treating")
    form.locator("button").click()
    page.wait_for_selector("#assessments >> text=2026-02-28")
    t.check("inv_patient")
    page.goto(f"{base}/patients")
    page.locator("#search [name=q]").fill("web-9")
    page.locator("#search button").click()
    page.wait_for_selector("#search-result")
    assert "WEB-9" in page.inner_text("#search-result")
    t.check("inv_search")
    page.goto(f"{base}/visits/due")
    assert WORDS[t.lang]["due"] in page.inner_text("h1")
    t.check("inv_due")
    t.logout()
    return patient_url


def _statistician(t: _Tour, patient_url: str) -> None:
    page = t.page
    t.login("stat")
    page.goto(patient_url)
    page.locator("form.assign [name=reviewer][value=adj1]").check()
    page.locator("form.assign [name=reviewer][value=adj2]").check()
    page.locator("form.assign button").click()
    page.wait_for_load_state()
    form = page.locator("#raise-query")
    record = form.locator("[name=record] option[value^=assessments]").first
    form.locator("[name=record]").select_option(record.get_attribute("value"))
    form.locator("[name=field]").select_option("value_text")
    form.locator("[name=question]").fill("Source?")
    form.locator("button").click()
    page.wait_for_url("**/queries")
    t.check("stat_queries")
    page.goto(f"{t.base}/dashboard")
    t.check("stat_dashboard")
    t.logout()


def _adjudicator(t: _Tour) -> None:
    page = t.page
    t.login("adj1")
    page.goto(f"{t.base}/adjudication")
    assert not [w for w in SECRETS if w in page.content()]  # blinded, in either language
    row = page.locator("#assignments tr").last
    row.locator("[name=value_text]").select_option("C")
    row.locator("[name=reason]").select_option("source_clear")
    row.locator("button").click()
    page.wait_for_url(f"{t.base}/adjudication")
    t.check("adj_verdict")
    t.logout()


def _others(t: _Tour, patient_url: str) -> None:
    page = t.page
    t.login("mon")
    page.goto(patient_url)
    t.check("monitor_patient")
    t.logout()
    t.login("admin")
    page.goto(f"{t.base}/users")
    t.check("admin_users")
    page.goto(f"{t.base}/audit")
    t.check("admin_audit")
    page.goto(f"{t.base}/patients/123456")  # not for an administrator: the 403 page
    t.check("admin_403")
    page.goto(f"{t.base}/nothing-here")
    t.check("admin_404")
    page.goto(f"{t.base}/account")
    t.check("admin_account")
    _admin_lots(t)
    t.logout()


def _fill(form: Locator, **values: str) -> None:
    """Type ``values`` into the form's fields by name (a select gets the option)."""
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def _admin_lots(t: _Tour) -> None:
    """The administrator enters a lot (a date in the future is refused beside its field, what
    was typed is kept), continues to its page and records its shipment."""
    page = t.page
    page.goto(f"{t.base}/lots")
    assert page.locator("#lots tbody tr").count() >= 6
    t.check("admin_lots")
    _fill(page.locator("#new-lot"), lot_code="LOT-WEB", process_version="v3",
          manufactured_on="2030-01-05")
    page.locator("#save-lot-continue").click()
    page.wait_for_selector("#err-new-lot-manufactured_on")
    assert page.locator("#new-lot [name=lot_code]").input_value() == "LOT-WEB"
    t.check("admin_lot_error")
    page.locator("#new-lot [name=manufactured_on]").fill("2026-01-05")
    page.locator("#new-lot #save-lot-continue").click()
    page.wait_for_url("**/lots/*")
    _fill(page.locator("#shipment"), shipment_code="SH-WEB", site_code="S01",
          shipped_on="2026-01-06", received_on="2026-01-07", receipt_temperature_c="4")
    page.locator("#save-shipment").click()
    page.wait_for_selector("#shipments >> text=SH-WEB")
    t.check("admin_lot")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_each_roles_main_job(server: str, lang: str, size: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{lang}_{size}_*.png"):
        old.unlink()
    width, height = VIEWPORTS[size]
    with sync_playwright() as pw:
        browser = _launch(pw)
        context = browser.new_context(
            locale="ja-JP" if lang == "ja" else "en-US", bypass_csp=True,  # to inject axe
            viewport={"width": width, "height": height},
            is_mobile=size == "phone", has_touch=size == "phone")
        tour = _Tour(context, server, lang, size)
        patient_url = _investigator(tour)
        _statistician(tour, patient_url)
        _adjudicator(tour)
        _others(tour, patient_url)
        browser.close()
    assert not tour.violations, json.dumps(tour.violations, ensure_ascii=False, indent=1)
    assert all(p.stat().st_size > 0 for p in tour.shots) and len(tour.shots) == 18


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_keyboard_reaches_the_content_first(server: str) -> None:  # noqa: F811
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page(locale="ja-JP")
        page.goto(f"{server}/login")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        for _ in range(8):  # the form is reached by Tab alone
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "username":
                break
        assert page.evaluate("document.activeElement.id") == "username"
        browser.close()


@pytest.fixture
def secure_server(tmp_path: Path) -> Any:
    """The app as `regmed serve` runs it by default: secure cookies, plain HTTP on loopback."""
    from .test_browser import live_server

    with live_server(tmp_path, "secure.sqlite") as port:
        yield port


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_login_on_localhost_over_http_with_secure_cookies(secure_server: int) -> None:
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page(locale="en-US")
        base = f"http://localhost:{secure_server}"
        page.goto(f"{base}/login")
        assert page.locator("#cookie-notice").count() == 0
        page.fill("#username", "inv1")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(f"{base}/")
        assert "Welcome, inv1" in page.inner_text("h1")
        browser.close()
