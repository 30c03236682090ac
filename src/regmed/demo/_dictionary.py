"""The demo's study dictionaries, as REDCap data dictionary CSV text.

The "sci" scenario's baseline covariates — the variables its propensity model adjusts for —
and its follow-up; the registry stores the dictionary before the demo data are imported, so
that every baseline row is checked against it. Pure text: parsed by :mod:`regmed.study` in the
app layer (this package imports no other regmed package).
"""

from __future__ import annotations

__all__ = ["study_dictionary_csv", "study_instruments_csv"]

_HEADER = ('"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
           '"Choices, Calculations, OR Slider Labels","Field Note",'
           '"Text Validation Type OR Show Slider Number","Text Validation Min",'
           '"Text Validation Max","Identifier?","Branching Logic (Show field only if...)",'
           '"Required Field?","Custom Alignment","Question Number (surveys only)",'
           '"Matrix Group Name","Matrix Ranking?","Field Annotation"')

_GRADES = "A, A | B, B | C, C | D, D | E, E"
_LEVELS = " | ".join(f"C{i}, C{i}" for i in range(1, 9))

_SCI_ROWS = [
    # name, form, section, type, label, choices, note, validation, min, max, branching, required,
    # annotation
    ("age", "baseline", "患者背景 / Patient", "text", "年齢 / Age", "",
     "生年と受傷日から / from birth year and date of injury", "integer", "0", "120", "", "y",
     '@UNIT="years"'),
    ("sex", "baseline", "", "radio", "性別 / Sex", "M, 男性 / Male | F, 女性 / Female", "", "",
     "", "", "", "y", ""),
    ("ais_grade", "baseline", "神経学的所見 / Neurology", "dropdown",
     "AIS グレード / AIS grade", _GRADES, "ISNCSCI", "", "", "", "", "y", ""),
    ("injury_level", "baseline", "", "dropdown", "神経学的損傷高位 / Neurological level of injury",
     _LEVELS, "", "", "", "", "", "y", ""),
    ("days_from_injury", "baseline", "", "text", "受傷からの日数 / Days from injury", "", "",
     "integer", "0", "365", "", "y", '@UNIT="days"'),
    ("baseline_motor_score", "baseline", "", "text",
     "ベースライン運動スコア / Baseline motor score", "", "ISNCSCI UEMS+LEMS", "integer", "0",
     "100", "", "y", '@UNIT="points"'),
    ("injury_year", "baseline", "", "text", "受傷年 / Calendar year of injury", "", "",
     "integer", "1990", "2100", "", "y", ""),
    ("death", "follow_up", "転帰 / Outcome", "yesno", "死亡 / Died", "", "", "", "", "", "",
     "", ""),
    ("death_date", "follow_up", "", "text", "死亡日 / Date of death", "", "", "date_ymd", "",
     "", "[death] = '1'", "y", ""),
]


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def study_dictionary_csv(scenario: str) -> str | None:
    """The REDCap data dictionary CSV of a demo scenario (None for a scenario without one)."""
    if scenario != "sci":
        return None
    lines = [_HEADER]
    for (name, form, section, kind, label, choices, note, validation, lo, hi, branching,
         required, annotation) in _SCI_ROWS:
        cells = [name, form, section, kind, label, choices, note, validation, lo, hi, "",
                 branching, required, "", "", "", "", annotation]
        lines.append(",".join(_cell(c) for c in cells))
    return "\r\n".join(lines) + "\r\n"


_SCI_INSTRUMENTS = [("baseline", "患者背景 / Baseline"), ("follow_up", "転帰 / Follow-up")]


def study_instruments_csv(scenario: str) -> str | None:
    """The demo scenario's REDCap instrument list CSV: the forms' titles (Japanese / English)."""
    if scenario != "sci":
        return None
    return "\r\n".join(["instrument_name,instrument_label",
                          *(f"{f},{_cell(label)}" for f, label in _SCI_INSTRUMENTS)]) + "\r\n"
