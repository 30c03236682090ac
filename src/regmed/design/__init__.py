"""regmed.design — sample size, power, group-sequential boundaries, conditional power,
sample-size re-estimation and randomization lists (numbers as rpact and pwr compute them)."""

from regmed.design._base import DesignResult
from regmed.design.adaptive import (
    ConditionalPowerResult,
    ReestimationResult,
    conditional_power,
    promising_zone_n2,
    reestimate_sample_size,
)
from regmed.design.analysis import GroupSequentialAnalysis, analyze_group_sequential
from regmed.design.group_sequential import (
    GroupSequentialResult,
    group_sequential,
    rejection_probabilities,
)
from regmed.design.power import PowerResult, power_means, power_rates, power_survival
from regmed.design.randomization import (
    RandomizationResult,
    randomization_list,
    seal,
    verify_assignment,
)
from regmed.design.sample_size import SampleSizeResult, sample_size_means, sample_size_rates
from regmed.design.single_arm import SingleArmResult, power_single_arm, sample_size_single_arm
from regmed.design.spending import spending_value
from regmed.design.survival_size import SurvivalSampleSizeResult, sample_size_survival

__all__ = [
    "ConditionalPowerResult",
    "DesignResult",
    "GroupSequentialAnalysis",
    "GroupSequentialResult",
    "PowerResult",
    "RandomizationResult",
    "ReestimationResult",
    "SampleSizeResult",
    "SingleArmResult",
    "SurvivalSampleSizeResult",
    "analyze_group_sequential",
    "conditional_power",
    "group_sequential",
    "power_means",
    "power_rates",
    "power_single_arm",
    "power_survival",
    "promising_zone_n2",
    "randomization_list",
    "reestimate_sample_size",
    "rejection_probabilities",
    "sample_size_means",
    "sample_size_rates",
    "sample_size_single_arm",
    "sample_size_survival",
    "seal",
    "spending_value",
    "verify_assignment",
]
