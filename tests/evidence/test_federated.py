"""Federated propensity fits (issue 18, part 3): three data owners in separate processes
(``regmed federated serve-partials``) give the pooled-data fit; a cell below the threshold is
refused, never released; every request is in the site's hash-chained log; the file exchange
(``regmed federated compute``) answers the same partial."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from regmed.app.federated import RequestLog, file_site, fit_federated, http_site
from regmed.cli import main
from regmed.errors import DataError
from regmed.evidence import fit_propensity
from regmed.evidence.federated import disclosure_problems, site_answer
from regmed.evidence.partials import compute_partial

COVS = ["age", "year", "region", "male"]


def _pool(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"age": rng.normal(62, 9, n).round(1),
                       "year": rng.integers(2012, 2027, n).astype(float),
                       "region": rng.choice(["N", "E", "S", "W", "C"], n),
                       "male": rng.random(n) < 0.55})
    lp = -1.0 + 0.05 * (df.age - 62) + 0.1 * (df.year - 2019) + 0.7 * (df.region == "S")
    df["t"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return df


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(data: Path, site: str, log: Path, token: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "REGMED_FEDERATED_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "regmed", "federated", "serve-partials",
                             "--data", str(data), "--site", site, "--log", str(log),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.post(url + "/partials", json={}, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_three_owners_in_their_own_processes_give_the_pooled_fit(tmp_path: Path) -> None:
    frames = [_pool(n, seed) for n, seed in ((3000, 1), (1800, 2), (2500, 3))]
    paths = []
    for i, f in enumerate(frames):
        p = tmp_path / f"site{i + 1}"
        p.mkdir()
        f.to_parquet(p / "part-0.parquet") if i != 1 else f.to_csv(p / "data.csv", index=False)
        paths.append(p if i != 1 else p / "data.csv")
    pooled = pd.concat(frames, ignore_index=True)
    want = fit_propensity(pooled, "t", COVS)
    token = "s3cret-token"
    logs = [tmp_path / f"site{i + 1}.log" for i in range(3)]
    with _serve(paths[0], "A", logs[0], token) as a, _serve(paths[1], "B", logs[1], token) as b, \
            _serve(paths[2], "C", logs[2], token) as c:
        r = httpx.post(a + "/partials", json={"op": "describe"})
        assert r.status_code == 401  # no token, no answer
        fit = fit_federated([http_site(u, token=token) for u in (a, b, c)], "t", COVS,
                            names=["A", "B", "C"])
    assert list(fit.terms) == list(want.terms)
    np.testing.assert_allclose(fit.estimates["estimate"], want.estimates["estimate"],
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.estimates["std_error"], want.estimates["std_error"],
                               rtol=1e-8)
    assert fit.deviance == pytest.approx(want.deviance, rel=1e-10)
    assert fit.n == len(pooled) and fit.n_partitions == 3
    for log in logs:  # describe, moments, start, and one request per iteration
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert [e["op"] for e in entries[:3]] == ["describe", "moments", "irls"]
        assert len(entries) == 3 + fit.iterations and not any(e["refused"] for e in entries)
        assert RequestLog(log).verify() == []


def test_a_small_cell_is_refused_and_never_released(tmp_path: Path) -> None:
    big, small = _pool(2000, 4), _pool(400, 5)
    small.loc[small.index[:4], "region"] = "X"  # four patients of a rare region at one site
    small.loc[small.index[:4], "t"] = 0
    log = tmp_path / "b.log"
    sites = [file_site(_write(tmp_path, "a.csv", big), site="A"),
             file_site(_write(tmp_path, "b.csv", small), site="B", log=log)]
    with pytest.raises(DataError) as err:
        fit_federated(sites, "t", COVS)
    refused = [p for p in err.value.problems if p.file == "B"]
    assert refused and all("fewer than 10" in p.message for p in refused)
    assert any("region = X among the controls" in p.message for p in refused)
    assert not [p for p in err.value.problems if p.file == "A"]
    answer = site_answer(small, {"op": "irls", "treatment": "t",
                                 "terms": [["(Intercept)", "", None], ["regionX", "region", "X"]],
                                 "centre": [0, 0], "scale": [1, 1], "beta": None},
                         site="B")
    assert "partial" not in answer and "refused" in answer  # no sums of the cell either
    assert "4" not in json.dumps(answer["refused"])  # the count is not told
    assert json.loads(log.read_text().splitlines()[0])["refused"] is True
    tiny = big.iloc[:8]
    assert "fewer than 10 rows" in disclosure_problems(
        tiny, {"op": "describe", "treatment": "t", "covariates": []}, 10)[0].message


def _write(folder: Path, name: str, df: pd.DataFrame) -> Path:
    path = folder / name
    df.to_csv(path, index=False)
    return path


def test_file_exchange_answers_the_same_partial_and_the_log_shows_tampering(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = _pool(500, 6)
    data = _write(tmp_path, "site.csv", df)
    request = {"op": "describe", "treatment": "t", "covariates": COVS}
    (tmp_path / "req.json").write_text(json.dumps(request))
    log = tmp_path / "site.log"
    main(["federated", "compute", "--request", str(tmp_path / "req.json"), "--out",
          str(tmp_path / "ans.json"), "--data", str(data), "--site", "S", "--log", str(log)])
    assert "answered describe" in capsys.readouterr().out
    answer = json.loads((tmp_path / "ans.json").read_text())
    want = compute_partial(pd.read_csv(data), request)
    assert answer["partial"]["levels"] == want["levels"]
    assert answer["partial"]["n"] == 500 and answer["site"] == "S"
    lines = log.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["refused"] = True
    log.write_text(json.dumps(entry) + "\n")
    with pytest.raises(SystemExit) as done:
        main(["federated", "verify-log", str(log)])
    assert done.value.code == 2
    assert "does not continue the chain" in capsys.readouterr().err


def test_the_weighted_effect_across_owners_is_the_pooled_effect(tmp_path: Path) -> None:
    from regmed.evidence import estimate_effect, weight
    from regmed.evidence.federated import federated_mapper
    from regmed.evidence.partitioned_effect import weighted_effect_partitioned

    frames = [_pool(n, seed) for n, seed in ((2500, 21), (1500, 22), (2000, 23))]
    for i, f in enumerate(frames):
        rng = np.random.default_rng(i)
        f["y"] = (rng.random(len(f)) < 0.35 + 0.1 * f["t"]).astype(int)
    sites = [file_site(_write(tmp_path, f"s{i}.csv", f), site=f"S{i}")
             for i, f in enumerate(frames)]
    pooled = pd.concat(frames, ignore_index=True)
    want = estimate_effect(weight(pooled, fit_propensity(pooled, "t", COVS), "ATT"), "y")
    fit = fit_federated(sites, "t", COVS)
    got = weighted_effect_partitioned(federated_mapper(sites), fit, "y")
    np.testing.assert_allclose(got.estimates["estimate"], want.estimates["estimate"],
                               rtol=1e-8)
    np.testing.assert_allclose(got.estimates["std_error"], want.estimates["std_error"],
                               rtol=1e-8)
    rare = frames[1].copy()
    rare["y"] = 0
    rare.loc[rare.index[:3], "y"] = 1  # three events at one site: a cell below 10
    sites[1] = file_site(_write(tmp_path, "rare.csv", rare), site="S1")
    with pytest.raises(DataError) as err:
        weighted_effect_partitioned(federated_mapper(sites), fit, "y")
    assert {p.file for p in err.value.problems} == {"S1"}
    assert any("with y" in p.message for p in err.value.problems)
