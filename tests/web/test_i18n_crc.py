"""Japanese-first pages and a coordinator's day through the HTTP interface: language
negotiation (Accept-Language, the visitor's choice), 和暦 dates, inline errors that keep what
was typed, search by the site's own patient id, due and overdue visits, fixed lists, and HTML
error pages for browsers (JSON for the API)."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from regmed.web import WebSettings, create_app
from regmed.web.i18n import format_date, load_catalogues, negotiate

from .conftest import KEY, Clock, login, patient_id

HTML = {"Accept": "text/html"}


def _token(client: TestClient, url: str, **headers: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url, headers=headers).text)
    assert m, "the page has a form with a CSRF token"
    return m.group(1)


def _post(client: TestClient, url: str, page: str, headers: dict[str, str] | None = None,
          **form: str) -> Any:
    token = _token(client, page, **(headers or {}))
    return client.post(url, data={**form, "csrf_token": token}, headers=headers or {},
                       follow_redirects=False)


def _lang(text: str) -> str:
    m = re.search(r'<html lang="([a-z]+)"', text)
    assert m
    return m.group(1)


@pytest.mark.parametrize(("header", "expected"), [
    (None, "ja"), ("ja-JP,ja;q=0.9,en;q=0.8", "ja"), ("en-US,en;q=0.9", "en"),
    ("en;q=0.4, ja;q=0.6", "ja"), ("fr-FR, en;q=0.5", "en"), ("de", "ja")])
def test_the_language_follows_accept_language_japanese_by_default(
        client: TestClient, header: str | None, expected: str) -> None:
    headers = {"Accept-Language": header} if header else {"Accept-Language": ""}
    page = client.get("/login", headers=headers).text
    assert _lang(page) == expected
    assert ("regmed にログイン" in page) is (expected == "ja")
    assert ("Log in to regmed" in page) is (expected == "en")


def test_the_visitors_choice_wins_over_the_browser(client: TestClient) -> None:
    r = _post(client, "/preferences", "/login", lang="ja", next="/login")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login").text  # the client asks for English
    assert _lang(page) == "ja" and "ユーザー名" in page
    r = _post(client, "/preferences", "/login", lang="en", next="//evil.example/")
    assert r.headers["location"] == "/"  # no open redirect
    assert _lang(client.get("/login", headers={"Accept-Language": "ja"}).text) == "en"


def test_api_errors_speak_the_requested_language(client: TestClient) -> None:
    r = client.get("/api/me", headers={"Accept-Language": "ja"})
    assert r.status_code == 401 and r.json() == {"detail": "ログインしていません"}
    assert client.get("/api/me").json() == {"detail": "not logged in"}
    h = login(client, "inv1")
    r = client.get("/api/patients/999999", headers={"Accept-Language": "ja"})
    assert r.status_code == 404 and r.json()["detail"] == "見つかりません"
    ids = [p["id"] for p in client.get("/api/patients").json()]
    r = client.post(f"/api/patients/{ids[0]}/adverse-events", headers={
        **h, "Accept-Language": "ja"}, json={"term": "rash", "onset_on": "2025-12-01",
                                            "serious": False})
    assert r.status_code == 422, r.text
    problem = next(p for p in r.json()["problems"] if p["field"] == "onset_on")
    assert "before the patient's index date" in problem["message"]  # machine-readable
    assert problem["text"] == "患者の起算日より前の日付です"


def test_schema_refusals_speak_the_requested_language(client: TestClient) -> None:
    """A body the API's schema refuses: pydantic's sentences stay, with each field's key
    path and a text in the request's language (all problems at once)."""
    h = login(client, "inv1")
    body = {"patient_ref": "", "sex": "X", "birth_year": 1800, "indication_code": "SCI",
            "cohort": "treated", "direction": "prospective", "index_on": "2025/13/01"}
    r = client.post("/api/patients", headers={**h, "Accept-Language": "ja"}, json=body)
    assert r.status_code == 422, r.text
    got = {p["field"]: p["text"] for p in r.json()["problems"]}
    assert got == {"patient_ref": "1 文字より短いです",
                   "sex": "選択肢（'F' or 'M'）から選んでください",
                   "birth_year": "1900 より小さい値です",
                   "index_on": "日付（年-月-日）として読めません",
                   "enrolled_on": "入力してください"}
    assert {d["type"] for d in r.json()["detail"]} >= {"missing", "literal_error"}
    r = client.post("/api/patients", headers=h, json=body)
    texts = {p["field"]: p["text"] for p in r.json()["problems"]}
    assert texts["birth_year"] == "below the minimum 1900"
    assert texts["enrolled_on"] == "required value is missing"
    assert "1800" not in r.text  # the input values are not echoed


def test_wareki_dates_on_request(client: TestClient) -> None:
    login(client, "inv1")
    assert "2026-01-05" in client.get("/patients").text
    _post(client, "/preferences", "/account", dates="wareki", lang="ja", next="/account")
    page = client.get("/patients").text
    assert "令和8年1月5日" in page and "2026-01-05" not in page


def test_era_boundaries() -> None:
    assert format_date("1989-01-07", "wareki") == "昭和64年1月7日"
    assert format_date("1989-01-08", "wareki") == "平成元年1月8日"
    assert format_date("2019-04-30", "wareki") == "平成31年4月30日"
    assert format_date("2019-05-01", "wareki") == "令和元年5月1日"
    assert format_date("1926-12-25", "wareki") == "昭和元年12月25日"
    assert format_date("1912-07-29", "wareki") == "明治45年7月29日"
    assert format_date("2024-04-01", "wareki", "en") == "2024-04-01 (Reiwa 6)"
    assert format_date("2024-04-01") == "2024-04-01" and format_date(None) == ""
    assert format_date("not a date", "wareki") == "not a date"
    assert negotiate("en", "xx") == "en"


def test_every_template_text_has_a_japanese_translation() -> None:
    ja = load_catalogues()["ja"]
    folder = Path(__file__).resolve().parents[2] / "src" / "regmed" / "web" / "templates"
    missing = set()
    for f in folder.glob("*.html"):
        text = f.read_text(encoding="utf-8")
        ids = set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', text))
        ids |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", text))
        ids |= set(re.findall(r'm\.(?:input|select)\((?:"[^"]*"|none), "[^"]*", "([^"]*)"', text))
        missing |= {i for i in ids if i not in ("%", "n") and ja.gettext(i) == i}
    assert not missing, sorted(missing)


def _enroll_form(**changes: str) -> dict[str, str]:
    form = {"patient_ref": "NEW-7", "sex": "F", "birth_year": "3000",
            "indication_code": "SCI", "cohort": "treated", "direction": "prospective",
            "index_on": "2026-02-01", "enrolled_on": "2027-01-01"}
    form.update(changes)
    return form


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_refused_enrollment_shows_errors_beside_the_fields_and_keeps_the_list(
        client: TestClient, lang: str) -> None:
    login(client, "inv1")
    headers = {"Accept-Language": lang}
    before = re.findall(r'<a href="/patients/(\d+)">', client.get("/patients").text)
    assert before
    r = _post(client, "/patients", "/patients", headers, **_enroll_form())
    assert r.status_code == 422
    page = r.text
    errors = {m[0]: html.unescape(m[1]) for m in re.findall(
        r'<small class="field-error" id="err-enroll-([a-z_]+)">(.*?)</small>', page)}
    assert set(errors) >= {"birth_year", "enrolled_on"}, errors
    if lang == "ja":
        assert "未来の日付は入力できません" in errors["enrolled_on"]
    else:
        assert errors["enrolled_on"] == "is in the future"
    assert 'name="patient_ref" type="text" value="NEW-7"' in page  # what was typed is kept
    assert '<option value="treated" selected>' in page
    assert "form, row" not in page and "datetime.date" not in page
    assert re.findall(r'<a href="/patients/(\d+)">', page) == before  # the list stays
    # the importer's own problems are shown in plain words too
    r = _post(client, "/patients", "/patients", headers,
              **_enroll_form(birth_year="1970", enrolled_on="2026-01-15"))
    assert r.status_code == 422
    err = re.search(r'id="err-enroll-enrolled_on">(.*?)</small>', r.text)
    assert err and ("起算日" in html.unescape(err[1]) if lang == "ja"
                    else "is before Index date" in html.unescape(err[1]))


def test_search_by_the_sites_own_patient_id(client: TestClient) -> None:
    login(client, "inv1")
    page = client.get("/patients").text
    assert "P1" not in re.sub(r"<[^>]+>", " ", page).split()  # no clear id in the list
    r = _post(client, "/patients/search", "/patients", q="ｐ１")  # full-width, lower case
    found = re.search(r'id="search-result".*?</section>', r.text, re.S)
    assert found and "P1" in found[0] and "/patients/" in found[0]
    assert "<strong>P1</strong>" in r.text  # shown in the list for this answer only
    r = _post(client, "/patients/search", "/patients", q="Q1")  # another site's patient
    assert "No patient with the id Q1" in r.text
    login(client, "stat")
    r = _post(client, "/patients/search", "/patients", q="Q1", site="S02")
    assert "site S02, patient id Q1" in r.text
    r = _post(client, "/patients/search", "/patients", q="Q1", site="S01")
    assert "No patient with the id Q1" in r.text


def test_due_and_overdue_visits(client: TestClient, clock: Clock) -> None:
    login(client, "inv1")
    assert 'id="no-due"' in client.get("/visits/due").text  # day49 done, day180 far off
    pid = patient_id(client, "S01", login(client, "stat"))
    clock.now = dt.datetime(2026, 7, 15, tzinfo=dt.UTC).timestamp()
    login(client, "inv1")
    page = client.get("/visits/due").text
    rows = re.findall(r'<tr class="(\w+)"><td[^>]*>[^<]*</td><td><a href="/patients/(\d+)">'
                      r'.*?</td><td>(\w+)</td><td>(\w+)</td>', page)
    assert rows == [("due", str(pid), "S01", "day180")], rows
    assert "15 days left" in page  # window closes 2026-07-30
    clock.now = dt.datetime(2026, 8, 10, tzinfo=dt.UTC).timestamp()
    login(client, "inv1")
    page = client.get("/visits/due", headers={"Accept-Language": "ja"}).text
    assert "期限超過" in page and "11 日超過" in page
    login(client, "inv2")  # the other site's investigator sees only their patient
    assert f'href="/patients/{pid}"' not in client.get("/visits/due").text


def test_fixed_lists_and_web_checks_on_the_patient_page(client: TestClient) -> None:
    pid = patient_id(client, "S01", login(client, "stat"))
    page = client.get(f"/patients/{pid}").text
    assert re.search(r'<select name="field" required>', page)
    assert 'type="checkbox" name="reviewer" value="adj1"' in page
    login(client, "inv1")
    url = f"/patients/{pid}"
    page = client.get(url).text
    assert re.search(r'<select name="endpoint" required>\s*<option value="ais_grade"', page)
    assert all(f'<option value="{g}">' in page for g in "ABCDE")
    r = _post(client, f"{url}/assessments", url, visit="day180", endpoint="ais_grade",
              assessed_on="2026-02-27", value_text="Z", assessor="Dr. Treating",
              assessor_role="treating_physician", blinded="false")
    assert r.status_code == 422 and 'id="err-assess-value_text"' in r.text
    assert 'name="assessor" type="text" value="Dr. Treating"' in r.text
    r = _post(client, f"{url}/assessments", url, visit="day180", endpoint="ais_grade",
              assessed_on="2027-02-27", value_text="C", assessor="Dr. Treating",
              assessor_role="treating_physician", blinded="false")
    assert r.status_code == 422 and 'id="err-assess-assessed_on"' in r.text
    r = _post(client, f"{url}/assessments", url, visit="day49", endpoint="ais_grade",
              assessed_on="2026-02-20", value_text="C", assessor="Dr. Treating",
              assessor_role="treating_physician", blinded="false")  # seeded already
    assert r.status_code == 422 and 'id="err-assess-visit"' in r.text
    assert "this assessor has assessed this endpoint at this visit already" in r.text
    r = _post(client, f"{url}/assessments", url, headers={"Accept-Language": "ja"},
              visit="day49", endpoint="ais_grade", assessed_on="2026-02-20", value_text="C",
              assessor="Dr. Treating", assessor_role="treating_physician", blinded="false")
    assert r.status_code == 422 and "この評価者はこの来院のこの評価項目を評価済みです" in r.text
    # a second assessor of the same visit is the registry's rule too: accepted, as on import
    r = _post(client, f"{url}/assessments", url, visit="day49", endpoint="ais_grade",
              assessed_on="2026-02-20", value_text="C", assessor="Dr. Second",
              assessor_role="treating_physician", blinded="false")
    assert r.status_code == 303, r.text
    r = _post(client, f"{url}/adverse-events", url, term="sepsis", onset_on="2026-02-01",
              serious="true", grade="5", outcome="recovered")
    assert r.status_code == 422 and 'id="err-adverse-event-outcome"' in r.text
    assert 'name="term" type="text" value="sepsis"' in r.text
    assert 'id="err-assess-' not in r.text  # only the refused form is marked


def test_html_error_pages_for_browsers_json_for_the_api(client: TestClient) -> None:
    login(client, "inv1")
    r = client.get("/patients/999999", headers=HTML)
    assert r.status_code == 404 and "This page does not exist" in r.text
    assert r.headers["content-type"].startswith("text/html")
    r = client.get("/no-such-page", headers={**HTML, "Accept-Language": "ja"})
    assert r.status_code == 404 and "このページは存在しません" in r.text
    assert client.get("/api/patients/999999").json() == {"detail": "not found"}
    r = client.get("/audit", headers=HTML)
    assert r.status_code == 403 and "You may not open this page" in r.text
    assert "investigator" in r.text and 'id="logout"' in r.text  # still logged in
    assert client.get("/api/audit").status_code == 403
    assert client.get("/api/audit").headers["content-type"].startswith("application/json")


def test_server_errors_are_a_page_not_a_traceback(app: Any) -> None:
    def boom() -> None:
        raise RuntimeError("internal detail that must not be shown")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={**HTML, "Accept-Language": "ja"})
        assert r.status_code == 500 and "問題が発生しました" in r.text
        assert "internal detail" not in r.text


def test_audit_trail_and_users_as_pages(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/audit", params={"table": "users"}).text
    assert '<table id="audit">' in page and "inv1" in page
    page = client.get("/users").text
    assert re.search(r"<td>inv1</td><td>investigator</td><td>S01</td>", page)
    login(client, "reg")
    page = client.get("/audit", params={"table": "users"}).text
    assert '<table id="audit">' in page and ">seed<" not in page  # names pseudonymized


def test_login_over_plain_http_with_secure_cookies_says_what_to_do(app: Any) -> None:
    settings = WebSettings(secret_key="web-test-secret-0123456789", pseudonym_key=KEY)
    assert settings.secure_cookies
    secure = create_app(settings, engine=app.state.engine)
    with TestClient(secure, base_url="http://192.0.2.10") as c:
        assert 'id="cookie-notice"' in c.get("/login").text  # said before the first try
        token = _token(c, "/login")
        r = c.post("/login", data={"username": "inv1", "password": "x", "csrf_token": token},
                   headers=HTML)
        assert r.status_code == 403
        assert "--insecure-cookies" in html.unescape(r.text) and "CSRF" not in r.text


def test_no_cookie_notice_where_the_cookie_is_kept(app: Any) -> None:
    settings = WebSettings(secret_key="web-test-secret-0123456789", pseudonym_key=KEY)
    secure = create_app(settings, engine=app.state.engine)
    for base in ("http://localhost:8000", "https://registry.example.jp"):
        with TestClient(secure, base_url=base) as c:
            assert 'id="cookie-notice"' not in c.get("/login").text, base


def test_the_web_today_is_the_app_clock_for_enrollment_and_table_imports(
        client: TestClient, clock: Clock) -> None:
    """A date after the app clock's day is in the future on every web path (the clock is
    2026-03-01; the machine's date does not decide)."""
    h = login(client, "inv1")
    body = {"patient_ref": "CLOCK-1", "sex": "F", "birth_year": 1980, "indication_code": "SCI",
            "cohort": "treated", "direction": "prospective", "index_on": "2026-02-20",
            "enrolled_on": "2026-03-05"}
    r = client.post("/api/patients", headers=h, json=body)
    assert r.status_code == 422, r.text
    assert any(p["field"] == "enrolled_on" and "future" in p["message"]
               for p in r.json()["problems"])
    clock.now = dt.datetime(2026, 3, 10, tzinfo=dt.UTC).timestamp()
    h = login(client, "inv1")  # the idle session ended with the clock's move
    assert client.post("/api/patients", headers=h, json=body).status_code == 201
