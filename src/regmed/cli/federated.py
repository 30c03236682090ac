"""`regmed federated serve-partials | compute | fit | verify-log`: propensity fits across data
owners whose rows never move (sums only, small cells withheld, every request logged)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "federated_app"]

federated_app = typer.Typer(
    name="federated",
    help="Fits across data owners that cannot share rows (sums only; small cells withheld).",
    no_args_is_help=True,
)

Data = Annotated[Path, typer.Option("--data", help="The site's data: CSV, Parquet file or "
                                    "folder.")]
Site = Annotated[str, typer.Option("--site", help="The site's name (returned with answers).")]
Threshold = Annotated[int, typer.Option("--threshold", min=1,
                                        help="Smallest cell that may be released.")]
Log = Annotated[Path | None, typer.Option("--log", help="The site's request log (JSON lines, "
                                          "hash-chained).")]


@federated_app.command("serve-partials")
def serve_cmd(data: Data, site: Site, threshold: Threshold = 10, log: Log = None,
              host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765) -> None:
    """Answer the coordinator's requests over HTTP (token: REGMED_FEDERATED_TOKEN)."""
    import uvicorn

    from regmed.app.federated import partials_app, token_from_env

    app = partials_app(data, site=site, threshold=threshold, log=log, token=token_from_env())
    typer.echo(f"site {site}: serving partials of {data} on http://{host}:{port}/partials "
               f"(cells below {threshold} withheld)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@federated_app.command("compute")
def compute_cmd(request: Annotated[Path, typer.Option("--request", help="The request file.")],
                out: Annotated[Path, typer.Option("--out", help="The answer file to write.")],
                data: Data, site: Site, threshold: Threshold = 10, log: Log = None) -> None:
    """File exchange: answer one request file with sums only."""
    from regmed.app.federated import compute_file

    answer = compute_file(request, out, data, site=site, threshold=threshold, log=log)
    if "refused" in answer:
        typer.echo(f"refused ({len(answer['refused'])} problem(s)); written to {out}")
        for p in answer["refused"]:
            typer.echo(f"  - {p['message']}")
    else:
        typer.echo(f"answered {answer['op']}; written to {out}")


@federated_app.command("fit")
def fit_cmd(
    site_url: Annotated[list[str], typer.Option("--site-url", help="A site's service address "
                                                "(repeat for each site).")],
    treatment: Annotated[str, typer.Option("--treatment", help="The 0/1 treatment column.")],
    covariate: Annotated[list[str], typer.Option("--covariate", help="A covariate (repeat).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the fit as JSON.")] = None,
) -> None:
    """Fit the pooled propensity model over the sites' services (token:
    REGMED_FEDERATED_TOKEN)."""
    from regmed.app.federated import fit_federated, http_site, token_from_env

    token = token_from_env()
    fit = fit_federated([http_site(u, token=token) for u in site_url], treatment, covariate,
                        names=site_url)
    typer.echo(fit.summary())
    if out is not None:
        out.write_text(json.dumps(fit.to_dict(), default=str, indent=1), encoding="utf-8")


@federated_app.command("verify-log")
def verify_cmd(log: Annotated[Path, typer.Argument(help="A site's request log.")]) -> None:
    """Check that a site's request log is whole (no entry edited, removed or reordered)."""
    from regmed.app.federated import RequestLog
    from regmed.errors import DataError

    problems = RequestLog(log).verify()
    if problems:
        raise DataError(f"the request log {log} is broken", problems)
    typer.echo(f"{log}: the chain of requests is whole")


def register(app: typer.Typer) -> None:
    app.add_typer(federated_app)
