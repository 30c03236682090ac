"""`regmed design ...` prints the same numbers as the functions.

The command runs in a subprocess: importing typer under pytest's ``filterwarnings = error``
fails on click's DeprecationWarning for ``click.utils.get_binary_stream``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from regmed import design

SRC = str(Path(__file__).parents[2] / "src")


def _call(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "regmed", "design", *args],
                          capture_output=True, text=True, env=env)


def _run(*args: str) -> str:
    proc = _call(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_rates_command_prints_the_sample_size():
    out = _run("rates", "--p-treated", "0.45", "--p-control", "0.25",
               "--allocation-ratio", "0.5")
    r = design.sample_size_rates(p_treated=0.45, p_control=0.25, allocation_ratio=0.5)
    assert f"{r.n_total:.6g}" in out and str(r.n_control_rounded) in out


def test_gsd_command_prints_boundaries():
    out = _run("gsd", "--information-rates", "0.3,0.6,1", "--futility", "OF")
    d = design.group_sequential(information_rates=[0.3, 0.6, 1], futility="OF")
    for c in d.critical_values + d.futility_bounds:
        assert f"{c:.6g}" in out
    assert f"{d.inflation_factor:.6g}" in out


def test_power_and_single_arm_commands():
    out = _run("power-rates", "--p-treated", "0.45", "--p-control", "0.25",
               "--n-treated", "49", "--n-control", "102")
    assert "0.683006" in out
    out = _run("single-arm", "--p0", "0.15", "--p1", "0.35")
    r = design.sample_size_single_arm(p0=0.15, p1=0.35)
    assert f"{r.power:.6g}" in out


def test_randomize_command_writes_sealed_csv(tmp_path):
    path = tmp_path / "list.csv"
    _run("randomize", "--n", "8", "--seed", "5", "--strata", "A,B", "--sealed",
         "--output", str(path))
    text = path.read_text()
    assert text.startswith("sequence,stratum,digest") and "treated" not in text
    expected = design.randomization_list(8, strata=["A", "B"], rng=5).sealed()
    assert expected["digest"].iloc[0] in text


def test_user_mistake_exits_2_without_traceback():
    proc = _call("rates", "--p-treated", "1.5", "--p-control", "0.2")
    assert proc.returncode == 2
    assert "p_treated" in proc.stderr and "Traceback" not in proc.stderr


def test_conditional_power_and_reestimate_commands():
    out = _run("conditional-power", "--information-rates", "0.5,1", "--z-stages", "1.1",
               "--n-planned", "80", "--effect", "0.3")
    d = design.group_sequential(information_rates=[0.5, 1])
    cp = design.conditional_power(design=d, z_stages=[1.1], n_planned=[80], effect=0.3)
    assert f"{cp.conditional_power:.6g}" in out
    out = _run("reestimate", "--z1", "1.6", "--n1", "100", "--n2-planned", "100",
               "--n2-max", "300")
    r = design.reestimate_sample_size(z1=1.6, n1=100, n2_planned=100, n2_max=300)
    assert "promising" in out and str(r.n2) in out
    assert f"{r.critical_value_conventional:.6g}" in out


@pytest.mark.parametrize("z, message", [("nan", "must be a number, got nan"),
                                        ("inf", "must be finite, got inf")])
def test_conditional_power_refuses_a_non_finite_z(z, message):
    proc = _call("conditional-power", "--information-rates", "0.5,1", "--z-stages", z,
                 "--n-planned", "80", "--effect", "0.3")
    assert proc.returncode == 2, proc.stdout
    assert "z_stages[0]" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr and "nan" not in proc.stdout


def test_conditional_power_refuses_a_nan_sample_size():
    proc = _call("conditional-power", "--information-rates", "0.5,1", "--z-stages", "1",
                 "--n-planned", "nan", "--effect", "0.3")
    assert proc.returncode == 2 and "n_planned[0]" in proc.stderr
