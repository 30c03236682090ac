"""regmed.app — the use cases the CLI, the web app and the tests call.

:func:`run_evaluation` (a registry against its locked plan: specs → evaluation → validated
document stored → analysis data sets and report written), :func:`run_demo`,
:func:`quality_report`. ``regmed.app`` may import every package below ``web``/``cli``.
"""

from __future__ import annotations

from regmed.app.evaluation import (
    ANALYSIS_DATA,
    check_writable,
    run_demo,
    run_evaluation,
    write_analysis_data,
    write_document,
)
from regmed.app.quality import quality_report, read_quality_data

__all__ = ["run_evaluation", "run_demo", "write_document", "write_analysis_data",
           "check_writable", "quality_report", "read_quality_data", "ANALYSIS_DATA"]
