"""Reading Japanese-style cell values: NFKC, dates (西暦, 和暦, Excel serials) and yes/no.

Files from Japanese hospitals carry full-width digits and letters (``１２３``, ``Ｒ６``),
dates as Excel in Japan writes them (``2024/4/1``), in the Japanese calendar (``令和6年4月1日``,
``令和元年5月1日``, ``R6.4.1``) or as Excel serial numbers (``45383``), and booleans as
``はい``/``いいえ``, ``有``/``無`` or ``あり``/``なし``. Every cell is NFKC-normalized first; then
:func:`read_date` and :func:`read_boolean` read it or say, in one sentence, why not.

Era boundaries are checked: a date outside its era (``平成31年5月1日``: 平成 ended on
2019-04-30) is refused with the era's dates. Excel serials follow the 1900 date system with
Excel's 1900 leap-year bug: serial 60 is Excel's non-existent 1900-02-29 (refused); serials
above 60 are one day late and are shifted back.

References
----------
Cabinet Office, Government of Japan. 元号を改める政令 (Era Name Ordinance), 2019.
Microsoft. "Excel incorrectly assumes that the year 1900 is a leap year" (KB 214326).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "Era",
    "ERAS",
    "TRUE_WORDS",
    "FALSE_WORDS",
    "DATE_FORMS",
    "nfkc",
    "read_date",
    "read_boolean",
    "excel_serial_date",
    "SERIAL_PLAUSIBLE",
]

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "1.0", "はい", "有", "あり", "有り"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "0.0", "いいえ", "無", "なし", "無し"})
#: How the readable date forms are named in problem messages.
DATE_FORMS = "YYYY-MM-DD, 2024/4/1, 2024年4月1日, 令和6年4月1日, R6.4.1 or an Excel serial"


@dataclass(frozen=True)
class Era:
    """A Japanese era: kanji name, one-letter abbreviation, first and last day."""

    name: str
    letter: str
    start: dt.date
    end: dt.date | None


ERAS: tuple[Era, ...] = (
    Era("明治", "M", dt.date(1868, 1, 25), dt.date(1912, 7, 29)),
    Era("大正", "T", dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    Era("昭和", "S", dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    Era("平成", "H", dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    Era("令和", "R", dt.date(2019, 5, 1), None),
)
_BY_NAME = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}

_SEP = r"\s*[-/.]\s*"
_WESTERN = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})")
_WESTERN_KANJI = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ERA_KANJI = re.compile(r"(明治|大正|昭和|平成|令和)\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月\s*"
                        r"(\d{1,2})\s*日")
_ERA_SHORT = re.compile(rf"(明治|大正|昭和|平成|令和|[MTSHR])\s*(\d{{1,2}}|元){_SEP}"
                        rf"(\d{{1,2}}){_SEP}(\d{{1,2}})")
_SERIAL = re.compile(r"\d{1,7}(?:\.0+)?")
_MIDNIGHT = re.compile(r"(.*?)[ T]0{1,2}:00(?::00(?:\.0+)?)?")
#: Excel's largest serial (9999-12-31).
SERIAL_MAX = 2_958_465
#: Serials a date cell is read as (1927-05-18 … 2099-12-31): a smaller number is more likely
#: a year or a day count than a date, and is refused.
SERIAL_PLAUSIBLE = (10_000, 73_050)


def nfkc(text: str) -> str:
    """NFKC-normalized ``text`` without surrounding spaces (``１２３`` → ``123``).

    Examples
    --------
    >>> nfkc(" Ｒ６．４．１ ")
    'R6.4.1'
    """
    return unicodedata.normalize("NFKC", text).strip()


def _day(y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise ValueError(f"not a date: no such day {y}-{m:02d}-{d:02d}") from None


def _era_date(name: str, year: str, m: str, d: str) -> dt.date:
    era = _BY_NAME[name.upper()]
    n = 1 if year == "元" else int(year)
    if n < 1:
        raise ValueError(f"not a date: {era.name} has no year 0 (its first year is 元年)")
    day = _day(era.start.year + n - 1, int(m), int(d))
    if day < era.start:
        raise ValueError(f"not a date: {era.name} began on {era.start.isoformat()} "
                         f"({day.isoformat()} is before it)")
    if era.end is not None and day > era.end:
        nxt = ERAS[ERAS.index(era) + 1]
        n_next = day.year - nxt.start.year + 1
        label = "元" if n_next == 1 else str(n_next)
        raise ValueError(f"not a date: {era.name} ended on {era.end.isoformat()} "
                         f"({day.isoformat()} is {nxt.name}{label}年)")
    return day


def excel_serial_date(serial: int) -> dt.date:
    """The day of an Excel serial number (1900 date system).

    Excel counts 1900-01-01 as 1 and treats 1900 as a leap year: serial 60 is the
    non-existent 1900-02-29 (refused) and every later serial is one day late.

    Raises
    ------
    ValueError
        For serial 60 and for serials outside 1 … 2958465 (9999-12-31).

    Examples
    --------
    >>> excel_serial_date(45383)
    datetime.date(2024, 4, 1)
    """
    if serial == 60:
        raise ValueError("not a date: Excel serial 60 is 1900-02-29, a day that does not exist")
    if not 1 <= serial <= SERIAL_MAX:
        raise ValueError(f"not a date: Excel serial {serial} is outside 1 … {SERIAL_MAX}")
    base = dt.date(1899, 12, 31) if serial < 60 else dt.date(1899, 12, 30)
    return base + dt.timedelta(days=serial)


def _serial(n: int) -> dt.date:
    low, high = SERIAL_PLAUSIBLE
    if n == 60 or low <= n <= high:
        return excel_serial_date(n)
    raise ValueError(f"not a date: {n} is not a plausible Excel serial ({low} … {high}, "
                     f"{excel_serial_date(low)} … {excel_serial_date(high)}); "
                     f"give a date ({DATE_FORMS})")


def read_date(raw: object) -> dt.date:
    """Read one date cell (text after NFKC, or a number as an Excel serial).

    Accepts ISO ``2024-04-01``, ``2024/4/1``, ``2024/04/01``, ``2024.4.1``, ``2024年4月1日``,
    era dates ``令和6年4月1日``, ``令和元年5月1日``, ``R6.4.1``, ``H31.4.30`` (明治–令和), an Excel
    serial in :data:`SERIAL_PLAUSIBLE` (``45383``) and a time of exactly midnight after the
    day (``2024/4/1 0:00``).

    Raises
    ------
    ValueError
        With a one-line reason (unreadable, no such day, outside its era, serial 60).

    Examples
    --------
    >>> read_date("令和元年5月1日"), read_date("Ｈ３１．４．３０")
    (datetime.date(2019, 5, 1), datetime.date(2019, 4, 30))
    """
    if isinstance(raw, bool):
        raise ValueError(f"not a date ({DATE_FORMS})")
    if isinstance(raw, dt.datetime):
        if (raw.hour, raw.minute, raw.second, raw.microsecond) != (0, 0, 0, 0):
            raise ValueError("not a date: a date and time; give the day only")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(f"not a date ({DATE_FORMS})")
        return _serial(int(raw))
    text = nfkc(str(raw))
    midnight = _MIDNIGHT.fullmatch(text)
    if midnight:
        text = midnight.group(1).strip()
    m = _WESTERN.fullmatch(text) or _WESTERN_KANJI.fullmatch(text)
    if m:
        return _day(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _ERA_KANJI.fullmatch(text) or _ERA_SHORT.fullmatch(text)
    if m:
        return _era_date(*m.groups())
    if _SERIAL.fullmatch(text):
        return _serial(int(float(text)))
    raise ValueError(f"not a date ({DATE_FORMS})")


def read_boolean(raw: object) -> bool:
    """Read one yes/no cell: true/false, 1/0, yes/no, はい/いいえ, 有/無, あり/なし.

    Raises
    ------
    ValueError
        When the cell is none of these.

    Examples
    --------
    >>> read_boolean("はい"), read_boolean("ＮＯ")
    (True, False)
    """
    if isinstance(raw, bool):
        return raw
    low = nfkc(str(raw)).lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise ValueError("not a boolean (true/false, 1/0, yes/no, はい/いいえ, 有/無, あり/なし)")
