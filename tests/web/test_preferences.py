"""Each user's language and date style: stored with the account (audited), set on the account
page or by the language switch (`regmed users`: test_users_cli.py); the order is the user's
choice, then the browser's cookie, then Accept-Language, then Japanese."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

import regmed.registry as reg
from regmed.web.i18n import DATES_COOKIE, LANG_COOKIE

from .conftest import login
from .test_dictionary_forms import _session as session_of


def _lang(page: str) -> str:
    m = re.search(r'<html lang="(\w+)"', page)
    assert m, "a page with its language"
    return m.group(1)


def _prefs(app: Any, username: str) -> tuple[str | None, str | None]:
    with session_of(app) as s:
        row = s.execute(select(reg.User.language, reg.User.date_style)
                        .where(reg.User.username == username)).one()
        return row[0], row[1]


def _set(client: TestClient, **data: str) -> Any:
    page = client.get("/account").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return client.post("/preferences", data={**data, "next": "/account",
                                             "csrf_token": token.group(1)},
                       follow_redirects=False)


def test_the_order_is_user_then_cookie_then_accept_language(app: Any) -> None:
    with TestClient(app) as c:
        assert _lang(c.get("/login").text) == "ja"  # nothing asked: Japanese
        assert _lang(c.get("/login", headers={"Accept-Language": "en"}).text) == "en"
        c.cookies.set(LANG_COOKIE, "ja")
        assert _lang(c.get("/login", headers={"Accept-Language": "en"}).text) == "ja"
        login(c, "inv1")
        assert _lang(c.get("/account", headers={"Accept-Language": "en"}).text) == "ja"
        # the user's stored choice outranks the cookie and the header
        with session_of(app) as s:
            reg.update_record(s.scalars(select(reg.User).where(
                reg.User.username == "inv1")).one(), {"language": "en"}, session=s,
                actor="admin", reason="asked for English")
            s.commit()
        c.cookies.set(LANG_COOKIE, "ja")
        assert _lang(c.get("/account", headers={"Accept-Language": "ja"}).text) == "en"
        assert _lang(c.get("/patients", headers={"Accept-Language": "ja"}).text) == "en"
        # error pages too
        missing = c.get("/patients/999999", headers={"Accept-Language": "ja",
                                                     "Accept": "text/html"})
        assert missing.status_code == 404 and _lang(missing.text) == "en"


def test_the_account_page_and_the_switch_store_the_choice_audited(app: Any) -> None:
    with TestClient(app, headers={"Accept-Language": "en"}) as c:
        login(c, "inv1")
        page = c.get("/account").text
        assert "Kept with your account" in page
        assert re.search(r'<option value=""\s+selected>As the browser asks', page)
        r = _set(c, lang="ja", dates="wareki")
        assert r.status_code == 303 and r.headers["location"] == "/account"
        assert _prefs(app, "inv1") == ("ja", "wareki")
        c.cookies.clear()  # another browser: the account's choice holds
        login(c, "inv1")
        page = c.get("/account").text
        assert _lang(page) == "ja" and 'value="wareki" selected' in page
        pid = re.search(r'<a href="/patients/(\d+)">', c.get("/patients").text)
        assert pid
        patient = c.get(f"/patients/{pid.group(1)}").text
        assert "令和" in patient  # the dates in the account's style
        with session_of(app) as s:
            log = [e for e in reg.audit_log(s, "users") if e["action"] == "update"]
        assert [(e["actor"], e["reason"], e["new_values"]["language"],
                 e["new_values"]["date_style"]) for e in log] == [
            ("inv1", "language and date preference", "ja", "wareki")]
        # the switch of every page posts only the language: the date style stays
        assert _set(c, lang="en").status_code == 303
        assert _prefs(app, "inv1") == ("en", "wareki")
        # an empty choice gives the browser its say again
        assert _set(c, lang="", dates="").status_code == 303
        assert _prefs(app, "inv1") == (None, None)
        c.cookies.set(LANG_COOKIE, "ja")
        c.cookies.set(DATES_COOKIE, "western")
        assert _lang(c.get("/account").text) == "ja"
        assert "令和" not in c.get(f"/patients/{pid.group(1)}").text  # the cookie's western
        # a value that is not offered is refused, nothing stored
        r = _set(c, lang="fr")
        assert r.status_code == 422 and "'fr' is not one of ja, en" in html.unescape(r.text)
        assert _prefs(app, "inv1") == (None, None)


def test_visitors_choice_is_a_cookie_only(app: Any) -> None:
    with TestClient(app) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        r = c.post("/preferences", data={"lang": "en", "dates": "wareki", "next": "/login",
                                         "csrf_token": token.group(1)},
                   follow_redirects=False)
        assert r.status_code == 303 and c.cookies.get(LANG_COOKIE) == "en"
        assert _lang(c.get("/login").text) == "en"
