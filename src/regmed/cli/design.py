"""`regmed design ...`: sample size, power, boundaries, re-estimation and randomization lists.

Each command calls the matching :mod:`regmed.design` function and prints its numbers as a
rich table (the same numbers as ``summary()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register"]

_ALPHA = typer.Option(help="Significance level (total over both sides when --sided 2).")
_POWER = typer.Option(help="Target power (1 - beta).")
_SIDED = typer.Option(help="1 for a one-sided test, 2 for two-sided.")
_RATIO = typer.Option(help="Allocation ratio n_treated / n_control (0.5: two controls each).")
_RATES = typer.Option(help="Group-sequential design (OF spending), e.g. 0.5,1: maximum sizes.")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v if not (isinstance(v, float) and pd.isna(v)) else None)
                        for v in row))
    Console().print(table)


def _show(result) -> None:
    _print_frame(result.table(), type(result).__name__)


def _floats(text: str, name: str) -> list[float]:
    from regmed.errors import PlanError, Problem

    try:
        return [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError as exc:
        raise PlanError("invalid arguments", [Problem(f"must be comma-separated numbers: "
                                                      f"{text!r}", field=name)]) from exc


def _levels(information_rates, alpha, power, sided) -> dict:
    """Keyword arguments for a sample-size function: the levels, or a design built from them."""
    from regmed import design as d

    if not information_rates:
        return {"alpha": alpha, "power": power, "sided": sided}
    gs = d.group_sequential(information_rates=_floats(information_rates, "information_rates"),
                            alpha=alpha, beta=1 - power, sided=sided)
    return {"design": gs}


class _LazyDesign:
    """regmed.design, imported on first use so that `regmed --help` stays fast."""

    def __getattr__(self, name: str):
        import regmed.design

        return getattr(regmed.design, name)


def register(app: typer.Typer) -> None:
    """Add the `design` sub-app to the `regmed` app."""
    d = _LazyDesign()

    sub = typer.Typer(help="Sample size, power, group-sequential designs, randomization.",
                      no_args_is_help=True)
    app.add_typer(sub, name="design")

    @sub.command("rates")
    def rates(
        p_treated: Annotated[float, typer.Option(help="Response rate, treated.")],
        p_control: Annotated[float, typer.Option(help="Response rate, control.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        power: Annotated[float, _POWER] = 0.8,
        sided: Annotated[int, _SIDED] = 1,
        allocation_ratio: Annotated[float, _RATIO] = 1.0,
        theta_h0: Annotated[float, typer.Option(help="Difference under H0.")] = 0.0,
        information_rates: Annotated[str | None, _RATES] = None,
    ) -> None:
        """Sample size for two proportions (rpact getSampleSizeRates)."""
        _show(d.sample_size_rates(p_treated=p_treated, p_control=p_control,
                                  allocation_ratio=allocation_ratio, theta_h0=theta_h0,
                                  **_levels(information_rates, alpha, power, sided)))

    @sub.command("means")
    def means(
        difference: Annotated[float, typer.Option(help="Difference of means.")],
        sd: Annotated[float, typer.Option(help="Standard deviation.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        power: Annotated[float, _POWER] = 0.8,
        sided: Annotated[int, _SIDED] = 1,
        allocation_ratio: Annotated[float, _RATIO] = 1.0,
        information_rates: Annotated[str | None, _RATES] = None,
    ) -> None:
        """Sample size for two means, t-test (rpact getSampleSizeMeans)."""
        _show(d.sample_size_means(difference=difference, sd=sd,
                                  allocation_ratio=allocation_ratio,
                                  **_levels(information_rates, alpha, power, sided)))

    @sub.command("survival")
    def survival(
        hazard_ratio: Annotated[float, typer.Option(help="Hazard ratio treated/control.")],
        accrual_time: Annotated[float, typer.Option(help="Accrual period length.")],
        follow_up_time: Annotated[float, typer.Option(help="Follow-up after accrual.")],
        median_control: Annotated[float | None, typer.Option(help="Control median.")] = None,
        lambda_control: Annotated[float | None, typer.Option(help="Control hazard.")] = None,
        alpha: Annotated[float, _ALPHA] = 0.025,
        power: Annotated[float, _POWER] = 0.8,
        sided: Annotated[int, _SIDED] = 1,
        allocation_ratio: Annotated[float, _RATIO] = 1.0,
        dropout_rate: Annotated[float, typer.Option(help="Dropout by dropout-time.")] = 0.0,
        dropout_time: Annotated[float, typer.Option(help="Time of dropout-rate.")] = 12.0,
        information_rates: Annotated[str | None, _RATES] = None,
    ) -> None:
        """Events and subjects for a log-rank test (rpact getSampleSizeSurvival)."""
        _show(d.sample_size_survival(
            hazard_ratio=hazard_ratio, median_control=median_control,
            lambda_control=lambda_control, accrual_time=accrual_time,
            follow_up_time=follow_up_time, allocation_ratio=allocation_ratio,
            dropout_rate=dropout_rate, dropout_time=dropout_time,
            **_levels(information_rates, alpha, power, sided)))

    @sub.command("single-arm")
    def single_arm(
        p0: Annotated[float, typer.Option(help="Performance goal (rate under H0).")],
        p1: Annotated[float, typer.Option(help="Rate under H1.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        power: Annotated[float, _POWER] = 0.8,
    ) -> None:
        """Exact single-arm binomial design: n and critical number of responders."""
        _show(d.sample_size_single_arm(p0=p0, p1=p1, alpha=alpha, power=power))

    @sub.command("gsd")
    def gsd(
        information_rates: Annotated[str, typer.Option(help="E.g. 0.4,0.7,1")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        beta: Annotated[float, typer.Option(help="Type II error.")] = 0.2,
        sided: Annotated[int, _SIDED] = 1,
        spending: Annotated[str, typer.Option(help="OF, P or HSD.")] = "OF",
        gamma: Annotated[float | None, typer.Option(help="HSD gamma.")] = None,
        futility: Annotated[str | None, typer.Option(help="Beta spending OF, P, HSD.")] = None,
        futility_gamma: Annotated[float | None, typer.Option(help="HSD gamma, beta.")] = None,
    ) -> None:
        """Group-sequential boundaries with alpha spending (rpact getDesignGroupSequential)."""
        res = d.group_sequential(
            information_rates=_floats(information_rates, "information_rates"), alpha=alpha,
            beta=beta, sided=sided, spending=spending, gamma=gamma, futility=futility,
            futility_gamma=futility_gamma)
        _print_frame(res.stages(), "GroupSequentialResult")
        _print_frame(pd.DataFrame(
            [{"quantity": k, "value": getattr(res, k)} for k in
             ("n_fixed", "shift", "inflation_factor", "expected_sample_size_h0",
              "expected_sample_size_h1")]), "characteristics")

    @sub.command("power-rates")
    def power_rates(
        p_treated: Annotated[float, typer.Option(help="Response rate, treated.")],
        p_control: Annotated[float, typer.Option(help="Response rate, control.")],
        n_treated: Annotated[float, typer.Option(help="Treated patients.")],
        n_control: Annotated[float, typer.Option(help="Control patients.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        sided: Annotated[int, _SIDED] = 1,
        method: Annotated[str, typer.Option(help="arcsine (pwr) or normal (rpact).")] =
        "arcsine",
    ) -> None:
        """Power for two proportions with given group sizes (pwr.2p2n.test)."""
        _show(d.power_rates(p_treated=p_treated, p_control=p_control, n_treated=n_treated,
                            n_control=n_control, alpha=alpha, sided=sided, method=method))

    @sub.command("power-means")
    def power_means(
        difference: Annotated[float, typer.Option(help="Difference of means.")],
        sd: Annotated[float, typer.Option(help="Standard deviation.")],
        n_treated: Annotated[float, typer.Option(help="Treated patients.")],
        n_control: Annotated[float, typer.Option(help="Control patients.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        sided: Annotated[int, _SIDED] = 1,
    ) -> None:
        """Power of the two-sample t-test with given group sizes (pwr.t2n.test)."""
        _show(d.power_means(difference=difference, sd=sd, n_treated=n_treated,
                            n_control=n_control, alpha=alpha, sided=sided))

    @sub.command("power-survival")
    def power_survival(
        hazard_ratio: Annotated[float, typer.Option(help="Hazard ratio.")],
        events: Annotated[float, typer.Option(help="Number of events.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        sided: Annotated[int, _SIDED] = 1,
        allocation_ratio: Annotated[float, _RATIO] = 1.0,
    ) -> None:
        """Power of the log-rank test after a number of events (Schoenfeld)."""
        _show(d.power_survival(hazard_ratio=hazard_ratio, events=events, alpha=alpha,
                               sided=sided, allocation_ratio=allocation_ratio))

    @sub.command("power-single-arm")
    def power_single_arm(
        p0: Annotated[float, typer.Option(help="Performance goal.")],
        p1: Annotated[float, typer.Option(help="Rate under H1.")],
        n: Annotated[int, typer.Option(help="Patients.")],
        alpha: Annotated[float, _ALPHA] = 0.025,
    ) -> None:
        """Exact size and power of a single-arm binomial test with n patients."""
        _show(d.power_single_arm(p0=p0, p1=p1, n=n, alpha=alpha))

    @sub.command("conditional-power")
    def conditional_power(
        information_rates: Annotated[str, typer.Option(help="Design, e.g. 0.3,0.6,1")],
        z_stages: Annotated[str, typer.Option(help="Stage-wise z of completed stages.")],
        n_planned: Annotated[str, typer.Option(help="Planned totals of remaining stages.")],
        effect: Annotated[float | None, typer.Option(
            help="Standardized effect; omit for the current trend.")] = None,
        n_stages: Annotated[str | None, typer.Option(
            help="Observed totals of completed stages (for the trend).")] = None,
        alpha: Annotated[float, _ALPHA] = 0.025,
        spending: Annotated[str, typer.Option(help="OF, P or HSD.")] = "OF",
        gamma: Annotated[float | None, typer.Option(help="HSD gamma.")] = None,
        futility: Annotated[str | None, typer.Option(help="Beta spending OF, P, HSD.")] = None,
        allocation_ratio: Annotated[float, _RATIO] = 1.0,
    ) -> None:
        """Conditional power of an inverse-normal design (rpact getConditionalPower)."""
        gs = d.group_sequential(information_rates=_floats(information_rates,
                                                          "information_rates"),
                                alpha=alpha, spending=spending, gamma=gamma, futility=futility)
        _show(d.conditional_power(
            design=gs, z_stages=_floats(z_stages, "z_stages"),
            n_planned=_floats(n_planned, "n_planned"), effect=effect,
            n_stages=None if n_stages is None else _floats(n_stages, "n_stages"),
            allocation_ratio=allocation_ratio))

    @sub.command("reestimate")
    def reestimate(
        z1: Annotated[float, typer.Option(help="Stage-1 z statistic.")],
        n1: Annotated[float, typer.Option(help="Stage-1 sample size (total).")],
        n2_planned: Annotated[float, typer.Option(help="Planned stage-2 size (total).")],
        n2_max: Annotated[float, typer.Option(help="Maximal stage-2 size (total).")],
        alpha: Annotated[float, _ALPHA] = 0.025,
        target_power: Annotated[float, typer.Option(help="Conditional power target.")] = 0.9,
        cp_min: Annotated[float, typer.Option(help="Promising zone lower end.")] = 0.5,
        rule: Annotated[str, typer.Option(help="promising_zone or conditional_power.")] =
        "promising_zone",
        information_rates: Annotated[str | None, typer.Option(
            help="Two-stage design, e.g. 0.5,1 (default: no interim stopping).")] = None,
        spending: Annotated[str, typer.Option(help="OF, P or HSD (with a design).")] = "OF",
    ) -> None:
        """Sample-size re-estimation (Cui-Hung-Wang weights, promising zone)."""
        gs = None
        if information_rates:
            gs = d.group_sequential(information_rates=_floats(information_rates,
                                                              "information_rates"),
                                    alpha=alpha, spending=spending)
        _show(d.reestimate_sample_size(z1=z1, n1=n1, n2_planned=n2_planned, n2_max=n2_max,
                                       design=gs, alpha=alpha, target_power=target_power,
                                       cp_min=cp_min, rule=rule))

    @sub.command("randomize")
    def randomize(
        n: Annotated[int, typer.Option(help="Assignments per stratum.")],
        seed: Annotated[int, typer.Option(help="Random seed (reproduces the list).")],
        ratio: Annotated[str, typer.Option(help="Allocation ratio, e.g. 1,2.")] = "1,1",
        block_sizes: Annotated[str, typer.Option(help="Block sizes, e.g. 4,6.")] = "4,6",
        strata: Annotated[str | None, typer.Option(help="Stratum labels, e.g. A,B.")] = None,
        sealed: Annotated[bool, typer.Option(help="Print/write only the sealed digests.")] =
        False,
        output: Annotated[Path | None, typer.Option(help="Write the list as CSV.")] = None,
    ) -> None:
        """Stratified permuted-block randomization list."""
        res = d.randomization_list(
            n, ratio=[int(x) for x in _floats(ratio, "ratio")],
            block_sizes=[int(x) for x in _floats(block_sizes, "block_sizes")],
            strata=None if strata is None else [s.strip() for s in strata.split(",")],
            rng=seed)
        frame = res.sealed() if sealed else res.assignments
        if output is not None:
            frame.to_csv(output, index=False)
            typer.echo(f"wrote {len(frame)} assignments to {output}")
        _print_frame(res.counts(), "RandomizationResult (counts)")
        if output is None:
            _print_frame(frame, "sealed list" if sealed else "randomization list")
