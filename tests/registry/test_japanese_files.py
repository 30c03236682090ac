"""Files as Japanese hospitals write them: CP932, UTF-16 and UTF-8 with a BOM; Japanese names;
dates in the Japanese calendar, with slashes and as Excel serials; full-width digits; はい/いいえ.
Each is read to the stored values it means, or refused naming file, row and column, with
nothing written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.registry.io import open_folder
from regmed.registry.jpvalues import excel_serial_date, read_boolean, read_date
from regmed.registry.models import AdverseEvent, Enrollment, FollowUp, Shipment, Site
from regmed.registry.stream import import_files
from regmed.registry.textfile import file_encoding

from .conftest import table_counts
from .data import small_tables
from .test_cli import run
from .test_mistakes import registry_state

SITE_NAMES = ["札幌医科大学附属病院", "大阪総合病院（第２内科）"]


def _japanese_tables() -> dict[str, pd.DataFrame]:
    """The small registry with Japanese names and dates as a Japanese Excel writes them."""
    t = small_tables()
    t["sites"] = t["sites"].assign(name=SITE_NAMES)
    enr = t["enrollments"]
    enr["source"] = ["院内登録", "", "日本脊髄損傷データベース", ""]
    enr["index_on"] = ["令和2年1月1日", "2020/1/1", "R2.1.1", "43831"]  # all 2020-01-01
    enr["enrolled_on"] = ["２０２０/０１/０５", "令和２年１月５日", "R2.1.5", "2020年1月5日"]
    t["shipments"]["received_on"] = ["Ｒ２．１．２２", "2020/01/22"]
    t["administrations"]["surgery"] = ["はい", "いいえ"]
    t["administrations"]["dose"] = ["１．５ｅ８", "1.5e8"]
    ae = t["adverse_events"]
    ae["term"] = ["発熱"] * len(ae)
    ae["serious"] = ["無"] * len(ae)
    ae["onset_on"] = ["令和２年１月２６日"] * len(ae)
    fu = t["follow_ups"]
    fu["death_cause"] = ["呼吸不全" if s == "dead" else "" for s in fu["status"]]
    return t


def _write(folder: Path, tables: dict[str, pd.DataFrame], encoding: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
    return folder


def _check_stored(session: Session) -> None:
    names = session.scalars(select(Site.name).where(Site.site_code.in_(["S01", "S02"]))
                            .order_by(Site.site_code)).all()
    assert names == SITE_NAMES  # free text is stored as written (full-width brackets kept)
    days = session.execute(select(Enrollment.index_on, Enrollment.enrolled_on)).all()
    assert set(days) == {(dt.date(2020, 1, 1), dt.date(2020, 1, 5))} and len(days) == 4
    sources = set(session.scalars(select(Enrollment.source)).all())
    assert sources == {"院内登録", "日本脊髄損傷データベース", None}
    received = set(session.scalars(select(Shipment.received_on)).all())
    assert received == {dt.date(2020, 1, 22)}
    surgery = sorted(session.scalars(select(reg.Administration.surgery)).all())
    assert surgery == [False, True]
    doses = set(session.scalars(select(reg.Administration.dose)).all())
    assert doses == {1.5e8}
    ae = session.execute(select(AdverseEvent.term, AdverseEvent.serious, AdverseEvent.onset_on))
    assert set(ae.all()) == {("発熱", False, dt.date(2020, 1, 26))}
    causes = set(session.scalars(select(FollowUp.death_cause)).all())
    assert causes <= {"呼吸不全", None}


@pytest.mark.parametrize("encoding", ["cp932", "utf-16", "utf-8-sig"])
def test_japanese_files_are_read_in_every_encoding(session: Session, tmp_path: Path,
                                                   encoding: str) -> None:
    folder = _write(tmp_path / encoding, _japanese_tables(), encoding)
    if encoding == "utf-16":  # Excel's "Unicode text": little-endian with a BOM
        assert (folder / "sites.csv").read_bytes()[:2] == b"\xff\xfe"
    assert file_encoding(folder / "sites.csv") == encoding
    summary = reg.import_tables(session, reg.read_folder(folder), actor="crc",
                                today=dt.date.today())
    assert summary.inserted["sites"] == 2 and summary.inserted["enrollments"] == 4
    _check_stored(session)


def test_streamed_cp932_decodes_across_chunk_boundaries(fresh_url: str, tmp_path: Path) -> None:
    tables = _japanese_tables()
    many = pd.DataFrame({"site_code": [f"S{i:03d}" for i in range(3, 400)],
                         "name": [f"東京第{i}病院" for i in range(3, 400)], "country": "JP"})
    tables["sites"] = pd.concat([tables["sites"], many], ignore_index=True)
    folder = _write(tmp_path / "cp932", tables, "cp932")
    engine = reg.make_engine(fresh_url)
    try:
        files = open_folder(folder, chunk_rows=7)  # two-byte characters cross every chunk
        reg.run_write(engine, lambda s: import_files(s, files, actor="crc", reason="load",
                                                     today=dt.date.today()))
        with reg.session_scope(engine) as s:
            got = dict(s.execute(select(Site.site_code, Site.name)).tuples().all())
            _check_stored(s)
    finally:
        engine.dispose()
    assert got["S399"] == "東京第399病院" and got["S01"] == SITE_NAMES[0] and len(got) == 399


def _bad_cells() -> dict[str, pd.DataFrame]:
    t = _japanese_tables()
    enr = t["enrollments"]
    enr.loc[0, "index_on"] = "平成32年1月1日"   # 平成 ended 2019-04-30: row 1
    enr.loc[1, "enrolled_on"] = "60"            # Excel's 1900-02-29: row 2
    enr.loc[2, "index_on"] = "2020/2/30"        # no such day: row 3
    enr.loc[3, "cohort"] = "治療群"              # not a cohort code: row 4
    t["administrations"].loc[1, "surgery"] = "たぶん"  # not a boolean: row 2
    return t


def test_unreadable_japanese_cells_are_refused_with_file_row_and_column(
        session: Session, tmp_path: Path) -> None:
    folder = _write(tmp_path / "bad", _bad_cells(), "cp932")
    before = table_counts(session)
    with pytest.raises(DataError) as err:
        reg.import_tables(session, reg.read_folder(folder), actor="crc")
    found = {(p.file, p.row, p.field): p.message for p in err.value.problems}
    assert "平成 ended on 2019-04-30" in found[("enrollments.csv", 1, "index_on")]
    assert "Excel serial 60 is 1900-02-29" in found[("enrollments.csv", 2, "enrolled_on")]
    assert "no such day 2020-02-30" in found[("enrollments.csv", 3, "index_on")]
    assert "not one of treated" in found[("enrollments.csv", 4, "cohort")]
    assert "not a boolean" in found[("administrations.csv", 2, "surgery")]
    assert table_counts(session) == before  # nothing written


def test_a_file_neither_utf8_nor_cp932_names_its_byte_and_row(fresh_url: str,
                                                              tmp_path: Path) -> None:
    folder = _write(tmp_path / "mixed", _japanese_tables(), "utf-8")
    sites = folder / "sites.csv"
    sites.write_bytes(sites.read_bytes() + b"S09,\x85\x86,JP\n")  # row 3: neither encoding
    before = registry_state(fresh_url)
    with pytest.raises(DataError) as err:
        open_folder(folder)
    [problem] = err.value.problems
    assert (problem.file, problem.row) == ("sites.csv", 3)
    offset = len(sites.read_bytes()) - len(b"\x85\x86,JP\n")
    assert f"neither UTF-8 (byte {offset} on line 4" in problem.message
    assert registry_state(fresh_url) == before


def test_a_wrong_given_encoding_is_refused_before_reading(tmp_path: Path) -> None:
    folder = _write(tmp_path / "utf8", {"sites": _japanese_tables()["sites"]}, "utf-8")
    with pytest.raises(DataError) as err:
        open_folder(folder, encoding="utf-16")
    assert err.value.problems[0].file == "sites.csv"
    with pytest.raises(DataError, match="unknown encoding 'latin-9'"):
        open_folder(folder, encoding="latin-9")
    # CP932 text given as UTF-8 is refused, as UTF-8 text given as CP932 may decode wrongly
    cp = _write(tmp_path / "cp", {"sites": _japanese_tables()["sites"]}, "cp932")
    with pytest.raises(DataError, match="not UTF-8"):
        open_folder(cp, encoding="utf-8")
    assert open_folder(cp, encoding="shift_jis")[0].name == "sites"


def test_cli_encoding_option(loaded: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    sites = pd.DataFrame({"site_code": ["S10"], "name": ["東北大学病院"], "country": ["JP"]})
    folder = _write(tmp_path / "sjis", {"sites": sites}, "cp932")
    code, _, err = run(["import", str(folder), "--actor", "crc", "--encoding", "utf-16"],
                       capsys)
    assert code == 2 and "sites.csv" in err and "nothing was written" in err
    code, _, err = run(["import", str(folder), "--actor", "crc", "--encoding", "bogus"],
                       capsys)
    assert code == 2 and "unknown encoding 'bogus'" in err
    code, out, err = run(["import", str(folder), "--actor", "crc", "--encoding", "cp932"],
                         capsys)
    assert code == 0, err
    engine = reg.make_engine(loaded)
    try:
        with reg.session_scope(engine) as s:
            name = s.scalar(select(Site.name).where(Site.site_code == "S10"))
    finally:
        engine.dispose()
    assert name == "東北大学病院"


@pytest.mark.parametrize(("text", "day"), [
    ("2024-04-01", dt.date(2024, 4, 1)), ("2024/4/1", dt.date(2024, 4, 1)),
    ("2024/04/01", dt.date(2024, 4, 1)), ("2024年4月1日", dt.date(2024, 4, 1)),
    ("令和6年4月1日", dt.date(2024, 4, 1)), ("令和元年5月1日", dt.date(2019, 5, 1)),
    ("R6.4.1", dt.date(2024, 4, 1)), ("H31.4.30", dt.date(2019, 4, 30)),
    ("S64.1.7", dt.date(1989, 1, 7)), ("平成元年1月8日", dt.date(1989, 1, 8)),
    ("昭和元年12月25日", dt.date(1926, 12, 25)), ("大正元年7月30日", dt.date(1912, 7, 30)),
    ("明治元年1月25日", dt.date(1868, 1, 25)), ("Ｒ６．４．１", dt.date(2024, 4, 1)),
    ("２０２４／４／１", dt.date(2024, 4, 1)), ("45383", dt.date(2024, 4, 1)),
    (45383, dt.date(2024, 4, 1)), ("2024/4/1 0:00", dt.date(2024, 4, 1)),
])
def test_date_forms(text: object, day: dt.date) -> None:
    assert read_date(text) == day


@pytest.mark.parametrize(("text", "why"), [
    ("平成31年5月1日", "平成 ended on 2019-04-30 (2019-05-01 is 令和元年)"),
    ("令和1年4月30日", "令和 began on 2019-05-01"),
    ("S64.1.8", "昭和 ended on 1989-01-07"),
    ("T1.7.29", "大正 began on 1912-07-30"),
    ("M1.1.24", "明治 began on 1868-01-25"),
    ("R0.1.1", "no year 0"),
    ("60", "Excel serial 60 is 1900-02-29"),
    ("2024", "not a plausible Excel serial"),
    ("2024/13/1", "no such day"),
    ("4/1/2024", "not a date ("),
    ("2024/4/1 9:30", "not a date ("),
])
def test_dates_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="not a date") as err:
        read_date(text)
    assert why in str(err.value)


def test_excel_serials_follow_excels_1900_system() -> None:
    assert excel_serial_date(1) == dt.date(1900, 1, 1)
    assert excel_serial_date(59) == dt.date(1900, 2, 28)
    assert excel_serial_date(61) == dt.date(1900, 3, 1)  # Excel's 1900-02-29 skipped
    assert excel_serial_date(43831) == dt.date(2020, 1, 1)
    with pytest.raises(ValueError, match="1900-02-29"):
        excel_serial_date(60)


def test_booleans() -> None:
    yes = ["はい", "有", "あり", "yes", "TRUE", "1", "ｙｅｓ", "１"]
    no = ["いいえ", "無", "なし", "no", "false", "0", "ＮＯ"]
    assert [read_boolean(v) for v in yes] == [True] * len(yes)
    assert [read_boolean(v) for v in no] == [False] * len(no)
    with pytest.raises(ValueError, match="not a boolean"):
        read_boolean("たぶん")


def test_excel_workbook_serials_and_typed_cells(session: Session, tmp_path: Path) -> None:
    """A workbook whose date cells are numbers (serials) and full-width text."""
    t = small_tables()
    sites = t["sites"].assign(name=SITE_NAMES)
    lots = t["lots"].astype(object)
    lots["manufactured_on"] = [43840, "令和２年１月１０日"]  # 2020-01-10 both
    lots["released_on"] = ["R2.1.20", 43850]
    path = tmp_path / "master.xlsx"
    with pd.ExcelWriter(path) as xl:
        for name, frame in {**t, "sites": sites, "lots": lots}.items():
            frame.to_excel(xl, sheet_name=name, index=False)
    reg.import_tables(session, reg.read_folder(path), actor="crc")
    made = set(session.execute(select(reg.Lot.manufactured_on, reg.Lot.released_on)).all())
    assert made == {(dt.date(2020, 1, 10), dt.date(2020, 1, 20))}
