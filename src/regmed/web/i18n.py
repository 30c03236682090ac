"""Languages of the web application: the message catalogue (gettext, Babel), the language of a
request, and dates as the user prefers them (西暦 or 和暦).

The catalogue is ``locale/<lang>/LC_MESSAGES/messages.po``; the message ids are the English
texts, so English needs no catalogue. The ``.po`` file is compiled in memory when the app is
built (:func:`load_catalogues`; no build step at install). A request's language is the
logged-in user's stored choice (``users.language``, set on the account page or by the language
switch), else the visitor's choice (cookie ``regmed_lang``), else the first of Japanese and
English that ``Accept-Language`` prefers, else Japanese; the date style likewise
(``users.date_style``, cookie ``regmed_dates``, else western).
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "DATE_STYLES", "LANG_COOKIE", "DATES_COOKIE", "Translator",
           "load_catalogues", "negotiate", "format_date", "era_of", "translator_for"]

#: Languages offered, first the default.
LANGUAGES = ("ja", "en")
#: Date styles: ``western`` (西暦, 2024-04-01) and ``wareki`` (和暦, 令和6年4月1日).
DATE_STYLES = ("western", "wareki")
LANG_COOKIE = "regmed_lang"
DATES_COOKIE = "regmed_dates"
_LOCALE_DIR = Path(__file__).parent / "locale"

#: Japanese eras (first day, first year), newest first; 明治 counts from 1868 but dates are
#: Gregorian only from 1873-01-01.
_ERAS = ((dt.date(2019, 5, 1), 2019, "令和", "Reiwa", "R"),
         (dt.date(1989, 1, 8), 1989, "平成", "Heisei", "H"),
         (dt.date(1926, 12, 25), 1926, "昭和", "Showa", "S"),
         (dt.date(1912, 7, 30), 1912, "大正", "Taisho", "T"),
         (dt.date(1873, 1, 1), 1868, "明治", "Meiji", "M"))


def load_catalogues(directory: Path = _LOCALE_DIR) -> dict[str, gettext.NullTranslations]:
    """The compiled catalogue of each language (English: the message ids themselves, but
    for the labels of coded values).

    Examples
    --------
    >>> cats = load_catalogues()
    >>> cats["ja"].gettext("Patients")
    '患者'
    """
    out: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
    for lang in LANGUAGES:
        po = directory / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        out[lang] = gettext.GNUTranslations(buf)
    return out


_QUALITY = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language of a request: ``chosen`` if offered, else the offered language that
    ``Accept-Language`` ranks highest, else Japanese.

    Examples
    --------
    >>> negotiate("en-US,en;q=0.9,ja;q=0.8")
    'en'
    >>> negotiate("ja,en;q=0.5"), negotiate("fr"), negotiate(None), negotiate("ja", "en")
    ('ja', 'ja', 'ja', 'en')
    """
    if chosen in LANGUAGES:
        return str(chosen)
    best, best_q = LANGUAGES[0], -1.0
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        m = _QUALITY.match(part)
        if not m:
            continue
        lang = m.group(1).lower()
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        q -= i * 1e-6  # equal weights: the first named wins
        if lang in LANGUAGES and q > best_q and q > 0:
            best, best_q = lang, q
    return best


def era_of(day: dt.date) -> tuple[str, str, str, int]:
    """``(kanji, romaji, letter, year of the era)`` of a date (明治 from 1873, the first
    Gregorian year in Japan).

    Examples
    --------
    >>> era_of(dt.date(2019, 5, 1)), era_of(dt.date(2019, 4, 30))
    (('令和', 'Reiwa', 'R', 1), ('平成', 'Heisei', 'H', 31))
    """
    for start, first, kanji, romaji, letter in _ERAS:
        if day >= start:
            return kanji, romaji, letter, day.year - first + 1
    raise ValueError(f"{day} is before the Gregorian calendar in Japan (1873)")


def format_date(value: Any, style: str = "western", lang: str = "ja") -> str:
    """A date (``datetime.date`` or ISO text) as the user prefers it; anything else as text.

    Examples
    --------
    >>> format_date("2024-04-01"), format_date("2024-04-01", "wareki")
    ('2024-04-01', '令和6年4月1日')
    >>> format_date(dt.date(2019, 5, 1), "wareki"), format_date("2019-05-01", "wareki", "en")
    ('令和元年5月1日', '2019-05-01 (Reiwa 1)')
    """
    if value is None or value == "":
        return ""
    day = value if isinstance(value, dt.date) else None
    if day is None:
        try:
            day = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    if isinstance(day, dt.datetime):
        day = day.date()
    if style != "wareki" or day.year < 1873:
        return day.isoformat()
    kanji, romaji, _, year = era_of(day)
    if lang == "en":
        return f"{day.isoformat()} ({romaji} {year})"
    return f"{kanji}{'元' if year == 1 else year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Translator:
    """The request's language, date style and catalogue: ``t("text", name=value)``."""

    lang: str
    dates: str
    catalogue: gettext.NullTranslations

    def __call__(self, message: str, **values: Any) -> str:
        text = self.catalogue.gettext(message)
        return text % values if values else text

    def date(self, value: Any) -> str:
        return format_date(value, self.dates, self.lang)


def translator_for(catalogues: Mapping[str, gettext.NullTranslations],
                   accept_language: str | None, cookies: Mapping[str, str],
                   user: Any = None) -> Translator:
    """The translator of a request: the user's stored ``language`` and ``date_style`` (an
    object with those attributes, None when nobody is logged in), else the cookies, else the
    ``Accept-Language`` header.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cats = {"ja": gettext.NullTranslations()}
    >>> me = SimpleNamespace(language="en", date_style=None)
    >>> t = translator_for(cats, "ja", {LANG_COOKIE: "ja", DATES_COOKIE: "wareki"}, me)
    >>> t.lang, t.dates
    ('en', 'wareki')
    """
    stored_lang = getattr(user, "language", None)
    lang = stored_lang if stored_lang in LANGUAGES else negotiate(
        accept_language, cookies.get(LANG_COOKIE))
    dates = getattr(user, "date_style", None)
    if dates not in DATE_STYLES:
        dates = cookies.get(DATES_COOKIE)
    return Translator(lang, dates if dates in DATE_STYLES else "western",
                      catalogues.get(lang) or gettext.NullTranslations())


