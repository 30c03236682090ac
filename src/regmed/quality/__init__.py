"""regmed.quality — specifications and OOS, lot/donor variability, quality ↔ efficacy (CQA)
association, comparability of process changes.

Pure functions on pandas DataFrames whose columns follow the registry's column dictionary
(``quality_attributes``, ``lots``, ``lot_results``); numbers are checked against R (lme4,
sandwich, survival, hand-computed TOST and tolerance factors) in ``tests/reference/quality``.
"""

from regmed.quality._common import bh_adjust
from regmed.quality.association import Association, associate
from regmed.quality.comparability import (
    Comparability,
    ToleranceInterval,
    compare_lots,
    howe_k,
    tolerance_interval,
)
from regmed.quality.control import RULES, ControlChart, control_chart
from regmed.quality.potency import (
    PotencyAssociation,
    ResponderStrata,
    associate_potency,
    responder_strata,
    wilson_interval,
)
from regmed.quality.section import quality_section
from regmed.quality.simulate import QualitySimulation, simulate_process_change, simulate_quality
from regmed.quality.specs import SpecCheck, check_specs
from regmed.quality.variability import VarianceComponents, variance_components

__all__ = [
    "Association", "Comparability", "ControlChart", "PotencyAssociation", "QualitySimulation",
    "ResponderStrata", "RULES", "SpecCheck", "ToleranceInterval", "VarianceComponents",
    "associate", "associate_potency", "bh_adjust", "check_specs", "compare_lots",
    "control_chart", "howe_k", "quality_section", "responder_strata", "simulate_process_change",
    "simulate_quality", "tolerance_interval", "variance_components", "wilson_interval",
]
