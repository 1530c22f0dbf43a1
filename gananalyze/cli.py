"""The `gananalyze` command line: parses arguments, calls the library, prints.

Every command is a thin layer over a library function; GanAnalyzeError becomes
a one-line message and exit code 3, a missing extra exit code 4, and any other
exception one line too (the bridge in cli_options; `gananalyze --debug ...` shows
its traceback instead). Heavy
modules (torch, matplotlib) are imported inside the commands that need them so
that `--help` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from . import __version__
from .cli_options import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    FORMAT_OPTION,
    MAP_OPTION,
    RULES_CONFIG_OPTION,
    SAMPLES_TABLE_OPTION,
    SMOOTHING_OPTION,
    TRUST_OPTION,
    Group,
    choice,
    friendly,
    metric_option,
    progress_bar,
    roles_of,
)
from .files.runfiles import check_output
from .pages.terminal import term_safe


@click.group(
    cls=Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP
)
@click.version_option(__version__, prog_name="gananalyze")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an unexpected error, and the bytes fetched from URLs.",
)
@click.option(
    "--fetch-max-mb",
    type=click.FloatRange(min=0),
    default=None,
    metavar="MB",
    help="URL runs: most megabytes fetched with one run, checkpoints aside [default: 256].",
)
@click.option(
    "--fetch-max-objects",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="URL runs: most objects fetched with one run [default: 10000].",
)
@click.option(
    "--remote-cache",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="URL runs: keep what is fetched (checkpoints too) in DIR and reuse it while "
    "unchanged, instead of a temporary copy dropped after use.",
)
def main(
    debug: bool,
    fetch_max_mb: float | None,
    fetch_max_objects: int | None,
    remote_cache: str | None,
) -> None:
    """Find out what happened in a GAN training run.

    RUN is a directory: a native gananalyze run, or what your trainer already
    wrote (TensorBoard event files, a StyleGAN2-ADA/3 run directory, a
    CycleGAN/pix2pix loss_log.txt, a Lightning metrics.csv or any CSV/JSONL
    with a step column), or the URL of one on object storage (s3://, gs://).
    """
    from . import remote

    remote.configure(fetch_max_mb, fetch_max_objects, remote_cache)
    if debug:
        click.get_current_context().call_on_close(_print_fetched)


def _print_fetched() -> None:
    from . import remote

    t = remote.TOTAL
    if t.objects:
        click.echo(f"fetched from object storage: {t.bytes} bytes in {t.objects} objects", err=True)


@main.command()
@click.argument("run", type=click.Path())
@FORMAT_OPTION
@MAP_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly
def info(run: str, fmt: str | None, role_map: tuple[str, ...], as_json: bool) -> None:
    """Summarise RUN: steps, time span, metrics, checkpoints, samples, warnings."""
    from .loader import load_run
    from .pages.text import info_text

    r = load_run(run, format=fmt, roles=roles_of(role_map))
    if as_json:
        from .naming.roles import run_roles

        summary = dict(r.summary(), step_unit=r.step_unit, **run_roles(r).to_dict())
        if r.fetched:
            summary["fetched"] = r.fetched
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo(info_text(r, forced=bool(fmt)))


@main.command()
@click.argument("run", type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the HTML file [default: reports/<run name>.html].",
)
@click.option(
    "--rules-config",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="YAML/JSON file overriding the rule thresholds.",
)
@SMOOTHING_OPTION
@click.option(
    "--no-tsne",
    is_flag=True,
    help="Skip the t-SNE of real vs generated samples (it rebuilds G from checkpoints).",
)
@click.option(
    "--real",
    default=None,
    metavar="SPEC",
    help="Real data for the t-SNE (folder, .npy/.npz, or sklearn-digits); known toy "
    "domains are found without it. For vector samples: the real table (.csv/.parquet/.npy).",
)
@SAMPLES_TABLE_OPTION
@FORMAT_OPTION
@TRUST_OPTION
@MAP_OPTION
@friendly
def report(
    run: str,
    output: str | None,
    rules_config: str | None,
    smoothing: float,
    no_tsne: bool,
    real: str | None,
    samples_table: str | None,
    fmt: str | None,
    trust_code: bool,
    role_map: tuple[str, ...],
) -> None:
    """Write one self-contained HTML report for RUN: verdict, findings, charts, samples."""
    from .analysis.report_evidence import gather
    from .analysis.tsne import consent_note, extra_note
    from .files.datatable import is_table_file
    from .loader import load_run
    from .pages.report import render_report

    if not 0 <= smoothing <= 0.999:
        raise click.BadParameter("must be between 0 and 0.999", param_hint="--smoothing")
    if samples_table and not is_table_file(real):
        raise click.UsageError("--samples needs --real (the real table it is compared with)")
    if output:
        check_output(output, [run])  # never write over a run's files
    with progress_bar("report") as bar:  # stages: reading, gather's, drawing the page
        bar(0, 2, "reading the run")
        r = load_run(run, format=fmt, roles=roles_of(role_map))
        if samples_table or is_table_file(real):
            from .analysis.vectorstats import load_with_tables

            r, real = load_with_tables(r, fmt, real, samples_table), None
        skipped = (
            None
            if no_tsne or r.vectors
            else consent_note(r, real, trust_code) or extra_note(r, real)
        )
        if skipped:
            click.echo(term_safe(skipped), err=True)
        evidence = gather(
            r,
            tsne=not no_tsne,
            real=real,
            rules_config=rules_config,
            trust_code=trust_code,
            progress=bar.part(1, 1),
        )
        bar.finish_with("drawing the page")
        path = render_report(evidence, output, smoothing=smoothing)
    click.echo(term_safe(f"wrote {path}"))


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--revoke", is_flag=True, help="Take back an earlier allow for RUN.")
@click.option(
    "--code-path",
    "code_paths",
    multiple=True,
    type=click.Path(exists=True),
    metavar="DIR",
    help="A folder outside RUN that run.json's pythonpath or pickles point into: covered "
    "by the allow (and hashed with it) only when named here. Repeatable.",
)
@FORMAT_OPTION
@friendly
def allow(run: str, revoke: bool, code_paths: tuple[str, ...], fmt: str | None) -> None:
    """Allow RUN's generator code and pickles to be loaded, once (like `direnv allow`).

    Stored outside the run ($XDG_CONFIG_HOME/gananalyze/allowed.json); it covers
    the content of every file under each pythonpath entry and of each pickle,
    and lapses when any of them or the generator spec changes (docs/consent.md).
    """
    from . import consent
    from .loader import load_run

    r = load_run(run, format=fmt)
    if revoke:
        done = consent.revoke(r)
        click.echo(term_safe(f"{run}: allow {'taken back' if done else 'was not given'}"))
        return
    what = consent.allow(r, code_paths)
    if not what:
        click.echo(term_safe(f"{run}: names no code or pickles to load; nothing to allow"))
        return
    click.echo(
        term_safe(
            f"{run}: allowed to load {' and '.join(what)} (until it changes; "
            f"`gananalyze allow --revoke {run}` takes it back)"
        )
    )


@main.command("import")
@click.argument("src", type=click.Path())
@click.argument("dest", type=click.Path())
@FORMAT_OPTION
@click.option("--overwrite", is_flag=True, help="Replace DEST when it already exists.")
@friendly
def import_cmd(src: str, dest: str, fmt: str | None, overwrite: bool) -> None:
    """Convert the run at SRC (any format) into a native run directory DEST."""
    from .loader import import_run

    r, out = import_run(src, dest, format=fmt, overwrite=overwrite)
    click.echo(
        term_safe(
            f"imported {r.name} ({r.format}): {len(r.scalars)} steps, {len(r.metrics)} "
            f"metrics, {len(r.samples)} sample grids, {len(r.sample_metrics)} sample-metric "
            f"rows -> {out}"
        )
    )
    pickles = [c for c in r.checkpoints if c.kind == "pickle"]
    if pickles:
        click.echo(
            f"{len(pickles)} pickled checkpoint(s) listed in run.json, not copied; to "
            f"evaluate them: gananalyze fid-sweep {out} --trust-code --real DATA (with "
            "the StyleGAN source tree on PYTHONPATH)"
        )
    if r.value_flags():
        click.echo(f"implausible values: {len(r.value_flags())} (see `gananalyze info {dest}`)")
    for w in r.warnings[:10]:
        click.echo(term_safe(f"warning: {w}"))
    if len(r.warnings) > 10:
        click.echo(f"... and {len(r.warnings) - 10} more warnings")


@main.command()
@click.argument("run", type=click.Path(), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
@choice(
    "--fail-on",
    ["warning", "error", "none"],
    "error",
    "Exit with code 1 when a finding reaches this severity (none: never).",
)
@RULES_CONFIG_OPTION
@metric_option(
    "--metric",
    "select_metric",
    metavar="NAME",
    help="Sample metric that picks the best checkpoint (fid, kid, is, precision, ...).",
)
@SAMPLES_TABLE_OPTION
@click.option(
    "--real",
    "real_table",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="The real table (.csv/.parquet/.npy) that vector samples are compared with.",
)
@FORMAT_OPTION
@MAP_OPTION
@friendly
def check(
    run: str | None,
    as_json: bool,
    fail_on: str,
    rules_config: str | None,
    select_metric: str,
    samples_table: str | None,
    real_table: str | None,
    fmt: str | None,
    role_map: tuple[str, ...],
) -> None:
    """Diagnose RUN on the terminal (or as JSON); exit code 1 when a finding reaches --fail-on.

    A synthetic table can be checked alone, with no run: `check --samples S --real R`.

    Exit codes: 0 nothing at or above the --fail-on severity; 1 a finding at or
    above it; 2 bad command-line usage; 3 the run (or --real, --samples,
    --rules-config) cannot be read; 4 a needed extra is not installed. With
    --json, an error is printed as a JSON `error` object on stdout.
    """
    from .analysis import analyze
    from .analysis.findings import SEVERITY_RANK
    from .pages.text import check_text

    if samples_table and not real_table:
        raise click.UsageError("--samples needs --real (the real table it is compared with)")
    source: Any = run
    if run is None and not samples_table:
        raise click.UsageError(
            "RUN is needed, unless a synthetic table is checked alone (--samples FILE --real FILE)"
        )
    if samples_table or real_table:
        from pathlib import Path

        from .analysis.vectorstats import load_with_tables
        from .loader import load_run
        from .run import Run

        if run is None:  # a synthetic table alone, no training run
            p = Path(samples_table)
            loaded = Run(path=p.parent, name=p.name, format="table")
        else:
            loaded = load_run(run, format=fmt, roles=roles_of(role_map))
        before = len(loaded.warnings)
        source = load_with_tables(loaded, fmt, real_table, samples_table)
        for w in source.warnings[before:]:  # what the tables could not be used for
            click.echo(term_safe(f"warning: {w}"), err=True)
    _, diag = analyze(
        source,
        format=fmt,
        rules_config=rules_config,
        metric=select_metric,
        roles=roles_of(role_map),
    )
    if as_json:
        click.echo(json.dumps(diag.to_dict(), indent=2, default=str))
    else:
        click.echo(check_text(diag, color=sys.stdout.isatty()))
    worst = diag.worst()
    if fail_on != "none" and worst is not None:
        if SEVERITY_RANK[worst] >= SEVERITY_RANK[fail_on]:
            sys.exit(EXIT_FINDINGS)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def _register() -> None:
    """fid-sweep and compare live in cli_sweeps.py; they join the group here."""
    from .cli_sweeps import compare, fid_sweep

    main.add_command(fid_sweep)
    main.add_command(compare)


_register()
