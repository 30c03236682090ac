"""Federated propensity fits across data owners whose rows cannot move (issue 18, part 3).

Each data owner keeps its data and answers requests with sums only
(:func:`regmed.evidence.federated.site_answer`, small cells withheld), either as a small HTTP
service (``regmed federated serve-partials``) or by file exchange (``regmed federated compute
--request FILE --out FILE``). Every request a site answers or refuses is appended to the site's
request log, a hash-chained JSON-lines file (:class:`RequestLog`), which the owner can verify
(``regmed federated verify-log``). The coordinator (``regmed federated fit``) iterates R's
IRLS over the sites to the pooled-data fit.

The HTTP service is a FastAPI app of one route built here rather than in :mod:`regmed.web`
(which holds the registry's web application and may not import the science packages): it
serves the evidence package's partials and nothing of the registry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from regmed.errors import DataError, Problem
from regmed.evidence.federated import DEFAULT_THRESHOLD, federated_mapper, site_answer
from regmed.evidence.partitioned import PartitionedFit, fit_propensity_partitioned

__all__ = ["read_source", "RequestLog", "answer_request", "compute_file", "partials_app",
           "http_site", "file_site", "fit_federated", "TOKEN_ENV"]

#: Environment variable holding the token a site's service requires (``Bearer`` header).
TOKEN_ENV = "REGMED_FEDERATED_TOKEN"


def read_source(path: Path) -> pd.DataFrame:
    """A site's data: a CSV file, a Parquet file, or a folder of Parquet files.

    Raises
    ------
    DataError
        The path does not exist or is not CSV/Parquet.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("cannot read the site's data", [Problem("no such file or folder",
                                                                file=str(path))])
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    raise DataError("cannot read the site's data",
                    [Problem("not a .csv or .parquet file or a folder of Parquet files",
                             file=str(path))])


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


class RequestLog:
    """A site's append-only, hash-chained log of the requests it answered or refused.

    Each line is ``{"seq", "at", "site", "op", "request_sha256", "answer_sha256",
    "refused", "prev", "hash"}`` with ``hash = sha256(prev + the entry without hash)``: an
    edited, removed or reordered line breaks the chain (:meth:`verify`).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()
                if line.strip()]

    def append(self, site: str, request: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        entries = self._entries()
        prev = str(entries[-1]["hash"]) if entries else "0" * 64
        entry: dict[str, Any] = {"seq": len(entries) + 1, "at": dt.datetime.now(dt.UTC).isoformat(),
                 "site": site, "op": str(request.get("op")),
                 "request_sha256": _sha(request), "answer_sha256": _sha(answer),
                 "refused": "refused" in answer,
                 "prev": prev}
        entry["hash"] = hashlib.sha256((prev + _sha(entry)).encode()).hexdigest()
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")

    def verify(self) -> list[Problem]:
        """Every break of the chain (empty: the log is whole)."""
        problems, prev = [], "0" * 64
        for n, entry in enumerate(self._entries(), start=1):
            body = {k: v for k, v in entry.items() if k != "hash"}
            want = hashlib.sha256((prev + _sha(body)).encode()).hexdigest()
            if entry.get("prev") != prev or entry.get("hash") != want or entry.get("seq") != n:
                problems.append(Problem("the entry does not continue the chain",
                                        file=str(self.path), row=n))
            prev = str(entry.get("hash"))
        return problems


def answer_request(df: pd.DataFrame, request: Any, *, site: str, threshold: int,
                   log: RequestLog | None) -> dict[str, Any]:
    """Answer (or refuse) one request and log it."""
    if not isinstance(request, dict):
        answer: dict[str, Any] = {"site": site, "op": None, "refused": [Problem(
            "the request is not a JSON object").to_dict()]}
    else:
        try:
            answer = site_answer(df, request, site=site, threshold=threshold)
        except (KeyError, TypeError, ValueError) as exc:
            answer = {"site": site, "op": request.get("op"), "refused": [Problem(
                f"the request is malformed ({type(exc).__name__}: {exc})").to_dict()]}
    if log is not None:
        log.append(site, request if isinstance(request, dict) else {"op": None}, answer)
    return answer


def compute_file(request_file: Path, out_file: Path, data: Path, *, site: str,
                 threshold: int = DEFAULT_THRESHOLD, log: Path | None = None) -> dict[str, Any]:
    """File exchange: read a request, write the site's answer (logged), return it."""
    try:
        request = json.loads(Path(request_file).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError("cannot read the request", [Problem(str(exc), file=str(request_file))]
                        ) from None
    answer = answer_request(read_source(data), request, site=site, threshold=threshold,
                            log=RequestLog(log) if log else None)
    Path(out_file).write_text(json.dumps(answer), encoding="utf-8")
    return answer


def partials_app(data: Path, *, site: str, threshold: int = DEFAULT_THRESHOLD,
                 log: Path | None = None, token: str | None = None) -> FastAPI:
    """The site's HTTP service: ``POST /partials`` with a request, answered with sums only
    (``Authorization: Bearer <token>`` required when a token is set)."""
    df = read_source(data)
    request_log = RequestLog(log) if log else None
    app = FastAPI(title=f"regmed partials · {site}", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.post("/partials")
    async def partials(request: Request) -> JSONResponse:
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"detail": "a valid token is required"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            body = None
        return JSONResponse(answer_request(df, body, site=site, threshold=threshold,
                                           log=request_log))

    return app


def http_site(url: str, *, token: str | None = None, timeout: float = 600.0
              ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A site reached over HTTP (its ``serve-partials`` address)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        try:
            r = httpx.post(url.rstrip("/") + "/partials", json=request, headers=headers,
                           timeout=timeout)
        except httpx.HTTPError as exc:
            raise DataError("a site did not answer", [Problem(str(exc), file=url)]) from None
        if r.status_code != 200:
            raise DataError("a site refused the connection",
                            [Problem(f"HTTP {r.status_code}: {r.text[:200]}", file=url)])
        return dict(r.json())
    return ask


def file_site(data: Path, *, site: str, threshold: int = DEFAULT_THRESHOLD,
              log: Path | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A site answered in this process from its own folder (a simulation, or a coordinator
    that is also a data owner)."""
    df = read_source(data)
    request_log = RequestLog(log) if log else None
    return lambda request: answer_request(df, request, site=site, threshold=threshold,
                                          log=request_log)


def fit_federated(sites: Sequence[Callable[[dict[str, Any]], Mapping[str, Any]]],
                  treatment: str, covariates: Sequence[str], *,
                  names: Sequence[str] | None = None) -> PartitionedFit:
    """The pooled propensity fit over the sites (each a callable: :func:`http_site`,
    :func:`file_site`)."""
    return fit_propensity_partitioned(federated_mapper(sites), treatment, covariates,
                                      names=names)


def token_from_env() -> str | None:
    """The service token from ``REGMED_FEDERATED_TOKEN`` (None when unset)."""
    return os.environ.get(TOKEN_ENV) or None
