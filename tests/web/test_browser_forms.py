"""A dictionary form in headless Chromium, in Japanese on a phone (390×844): the page's script
shows a field when the answer its branching reads changes (under the app's own CSP), a refused
save shows the error beside the field, and axe-core finds no serious or critical violation; a
screenshot is kept in ``tests/artifacts/screenshots/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import regmed.registry as reg
from regmed.registry.study_dictionary import store_study_dictionary
from regmed.study import read_redcap_csv

from .test_browser import CHROMIUM, _launch, _login, server  # noqa: F401  (the server fixture)
from .test_browser_roles import SHOTS, _axe

FIXTURE = Path(__file__).parents[1] / "study" / "data" / "redcap_30.csv"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_a_dictionary_form_on_a_phone_in_japanese(server: str, tmp_path: Path  # noqa: F811
                                                  ) -> None:
    engine = reg.make_engine(f"sqlite:///{tmp_path / 'browser.sqlite'}")  # the server's file
    with reg.session_scope(engine) as s:
        store_study_dictionary(read_redcap_csv(FIXTURE), session=s, actor="admin",
                               reason="from REDCap")
    engine.dispose()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = _launch(pw)
        for bypass in (False, True):  # the app's CSP runs the script; axe needs it bypassed
            context = browser.new_context(locale="ja-JP", bypass_csp=bypass,
                                          viewport={"width": 390, "height": 844},
                                          is_mobile=True, has_touch=True)
            page = context.new_page()
            _login(page, server, "inv1")
            page.goto(f"{server}/patients")
            page.locator('a[href^="/patients/"]').filter(has_text="1").first.click()
            page.click("#study-forms a[href$='/forms/baseline']")
            other = page.locator(".field[data-var=comorbidity_other]")
            assert other.is_hidden()
            page.check("input[name=comorbidities][value='3']")
            other.wait_for(state="visible")
            page.fill("#f-height_cm", "170")
            page.fill("#f-weight_kg", "68")
            page.locator("#f-bmi").filter(has_text="23.53").wait_for()
            if not bypass:
                context.close()
                continue
            page.fill("#f-age", "130")
            page.click("#save")
            error = page.locator("#err-age")
            assert error.inner_text() == "120 years 以下を入力してください（入力値: 130）。"
            assert page.input_value("#f-age") == "130"
            assert page.get_attribute("html", "lang") == "ja"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, "wider than the screen"
            shot = SHOTS / "ja_phone_dictionary_form.png"
            page.screenshot(path=str(shot), full_page=True)
            found = _axe(page)
            assert not found, json.dumps(found, ensure_ascii=False, indent=1)
            assert shot.stat().st_size > 0
            context.close()
        browser.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_a_visit_form_from_the_patient_page(server: str, tmp_path: Path  # noqa: F811
                                            ) -> None:
    """The patient page lists each visit's forms; a visit form's script asks the visit's
    own visibility (the walking aid shows when walking is answered yes at that visit)."""
    from regmed.study import Visit, read_event_mapping_csv

    d = read_redcap_csv(FIXTURE).model_copy(update={"visits": (
        Visit(name="screening", day=0), Visit(name="day180", day=180, window=30))})
    d = read_event_mapping_csv(FIXTURE.with_name("redcap_30_events.csv"), d)
    engine = reg.make_engine(f"sqlite:///{tmp_path / 'browser.sqlite'}")  # the server's file
    with reg.session_scope(engine) as s:
        store_study_dictionary(d, session=s, actor="admin", reason="with visits")
    engine.dispose()
    with sync_playwright() as pw:
        browser = _launch(pw)
        context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True)
        page = context.new_page()
        _login(page, server, "inv1")
        page.goto(f"{server}/patients")
        page.locator('a[href^="/patients/"]').filter(has_text="1").first.click()
        assert page.locator("#visit-forms li").count() == 2
        page.click("#visit-forms li[data-visit=day180] a[href$='/forms/visit']")
        assert "/visits/day180/forms/visit" in page.url
        assert "day180" in page.inner_text("#visit-name")
        aid = page.locator(".field[data-var=walking_aid]")
        assert aid.is_hidden()
        page.check("input[name=walking][value='1']")
        page.check("input[name=ais_grade_visit][value='C']")
        aid.wait_for(state="visible")
        context.close()
        browser.close()
