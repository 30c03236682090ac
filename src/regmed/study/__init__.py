"""regmed.study — the study dictionary: forms, variables, types, units, ranges, coded choices
(Japanese and English labels), branching logic and the visit schedule.

:func:`read_redcap_csv` / :func:`write_redcap_csv` read and write REDCap's data dictionary
CSV; :func:`read_event_mapping_csv` / :func:`write_event_mapping_csv` REDCap's instrument
designation (which forms are filled at which visits); :func:`parse` and :func:`evaluate` are
the safe expression language of branching logic and calculations (no ``eval``);
:func:`validate_record` is the one set of value rules every path (import, web forms,
extraction) applies. ``regmed.study`` imports only ``regmed.errors``.
"""

from __future__ import annotations

from regmed.study.events import (
    EVENT_COLUMNS,
    event_mapping_text,
    parse_event_mapping_text,
    read_event_mapping_csv,
    write_event_mapping_csv,
)
from regmed.study.expr import ExpressionError, evaluate, parse, references
from regmed.study.instruments import (
    INSTRUMENT_COLUMNS,
    instruments_text,
    parse_instruments_text,
    read_instruments_csv,
    write_instruments_csv,
)
from regmed.study.model import (
    FIELD_TYPES,
    Choice,
    FormEvent,
    FormLabel,
    StudyDictionary,
    Variable,
    Visit,
    build_dictionary,
    dictionary_problems,
)
from regmed.study.redcap import (
    REDCAP_COLUMNS,
    parse_redcap_text,
    read_redcap_csv,
    redcap_text,
    write_redcap_csv,
)
from regmed.study.validate import MESSAGES, parse_field, validate_record, visible

__all__ = ["FIELD_TYPES", "Choice", "Variable", "Visit", "FormEvent", "FormLabel",
           "StudyDictionary",
           "build_dictionary",
           "dictionary_problems", "REDCAP_COLUMNS", "read_redcap_csv", "write_redcap_csv",
           "parse_redcap_text", "redcap_text", "parse", "evaluate", "references",
           "ExpressionError", "validate_record", "parse_field", "visible", "MESSAGES",
           "EVENT_COLUMNS", "parse_event_mapping_text", "read_event_mapping_csv",
           "event_mapping_text", "write_event_mapping_csv", "INSTRUMENT_COLUMNS",
           "parse_instruments_text", "read_instruments_csv", "instruments_text",
           "write_instruments_csv"]
