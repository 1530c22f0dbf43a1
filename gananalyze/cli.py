"""The `gananalyze` command line: parses arguments, calls the library, prints.

Every command is a thin layer over a library function; GanAnalyzeError becomes
a one-line message and exit code 1, and so does any other exception (the guard
in `_friendly`; `gananalyze --debug ...` shows its traceback instead). Heavy
modules (torch, matplotlib) are imported inside the commands that need them so
that `--help` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import click

from . import __version__
from .errors import GanAnalyzeError
from .pages.terminal import term_safe, unexpected_line
from .runfiles import check_output


def _friendly(fn):
    """Turn the library's errors into click errors (one line, exit code 1).

    The guard: any other exception also becomes one line naming the run (and the
    file, when the error names one) with a hint to rerun with --debug, which
    shows the traceback instead.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GanAnalyzeError as e:
            raise click.ClickException(term_safe(e, keep_newlines=False)) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and (ctx.find_root().params or {}).get("debug"):
                raise
            raise click.ClickException(term_safe(unexpected_line(e, kwargs), False)) from None

    return wrapper


FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    default=None,
    metavar="NAME",
    help="Force a run format instead of detecting it (native, tensorboard, stylegan, "
    "cyclegan, csv).",
)


def _choice(flag: str, choices: list[str], default: str, help: str) -> Any:
    """An option taking one of `choices`, its default shown in --help."""
    return click.option(
        flag, type=click.Choice(choices), default=default, show_default=True, help=help
    )


SMOOTHING_OPTION = click.option(
    "--smoothing",
    type=float,
    default=0.6,
    show_default=True,
    help="TensorBoard EMA weight for the curves (0 = none, at most 0.999).",
)
MAP_OPTION = click.option(
    "--map",
    "role_map",
    multiple=True,
    metavar="ROLE=COLUMN",
    help="Say which column holds a role, e.g. --map G_loss=lossG_total (repeatable; also "
    "read from gananalyze.yaml beside the run).",
)


def _roles(items: tuple[str, ...]) -> dict[str, str] | None:
    from .roles import parse_map

    return parse_map(items) or None


RULES_CONFIG_OPTION = click.option(
    "--rules-config",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="YAML/JSON file overriding the rule thresholds (see docs/rules.md).",
)


TRUST_OPTION = click.option(
    "--trust-code",
    "--trust-pickles",
    "trust_code",
    is_flag=True,
    help="Load the code this run names (run.json's generator module, StyleGAN pickles): "
    "it runs with your rights. `gananalyze allow RUN` gives the same consent once.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gananalyze")
@click.option("--debug", is_flag=True, help="Show the full traceback of an unexpected error.")
def main(debug: bool) -> None:
    """Find out what happened in a GAN training run.

    RUN is a directory: a native gananalyze run, or what your trainer already
    wrote (TensorBoard event files, a StyleGAN2-ADA/3 run directory, a
    CycleGAN/pix2pix loss_log.txt, a Lightning metrics.csv or any CSV/JSONL
    with a step column).
    """


@main.command()
@click.argument("run", type=click.Path())
@FORMAT_OPTION
@MAP_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_friendly
def info(run: str, fmt: str | None, role_map: tuple[str, ...], as_json: bool) -> None:
    """Summarise RUN: steps, time span, metrics, checkpoints, samples, warnings."""
    from .loader import load_run
    from .pages.text import info_text

    r = load_run(run, format=fmt, roles=_roles(role_map))
    if as_json:
        from .roles import run_roles

        summary = dict(r.summary(), step_unit=r.extra.get("step_unit"), **run_roles(r).to_dict())
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo(info_text(r, forced=bool(fmt)))


_FID_QUANTIZE_HELP = (
    "Round samples to 8 bits before the feature network, exactly as saving PNGs does "
    "(default on, so numbers equal the 'save PNGs + python -m pytorch_fid' route and published "
    "FIDs, which are all computed from 8-bit images). --no-quantize feeds the raw float samples."
)


SAMPLES_TABLE_OPTION = click.option(
    "--samples",
    "samples_table",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="A final synthetic table (.csv/.parquet/.npy, e.g. CTGAN's model.sample(n)) used as "
    "the run's last samples; needs --real.",
)

@main.command("fid-sweep")
@click.argument("run", type=click.Path())
@click.option(
    "--real",
    metavar="DATA",
    default=None,
    help="Real data: a folder of images (recursive), a .npy/.npz image array (NHWC "
    "or NCHW, uint8 0..255 or float 0..1), a pytorch-fid statistics .npz (mu, "
    "sigma; FID only) or sklearn-digits; for generators of rows, a table: .csv, .parquet "
    "or a 2-D .npy (numeric columns used, categorical ones one-hot encoded).",
)
@click.option(
    "--features",
    default=None,
    metavar="NAME",
    help="Feature network: inception (pytorch-fid's; the default for images), digits, or "
    "torchscript:PATH; for rows (--real a table): raw (the default: columns standardised on "
    "the real rows) or torchscript:PATH on those rows.",
)
@click.option(
    "--metrics",
    default="fid",
    show_default=True,
    help="Comma-separated: fid, kid, is, pr (precision/recall), dc (density/coverage).",
)
@click.option(
    "--num-samples",
    default=10_000,
    show_default=True,
    type=int,
    help="Samples generated per checkpoint.",
)
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Samples per batch (default: 500 on CUDA, halved on out-of-memory; 100 on CPU).",
)
@click.option(
    "--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when available, else CPU)."
)
@click.option(
    "--every", type=int, default=1, show_default=True, help="Evaluate every Nth checkpoint."
)
@click.option(
    "--steps", default=None, metavar="A,B,C", help="Evaluate only the checkpoints at these steps."
)
@click.option("--quantize/--no-quantize", default=True, show_default=True, help=_FID_QUANTIZE_HELP)
@click.option("--force", is_flag=True, help="Recompute checkpoints that already have results.")
@click.option(
    "--cache-dir",
    type=click.Path(),
    default=None,
    help="Cache for real-data features (default: $GANANALYZE_CACHE or ~/.cache/gananalyze).",
)
@click.option(
    "--inception-weights",
    type=click.Path(),
    default=None,
    help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth (default: the torch hub cache).",
)
@click.option(
    "--select",
    default="fid",
    show_default=True,
    help="Metric that picks the best checkpoint (fid, kid: lowest; is, precision, "
    "recall, density, coverage: highest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@TRUST_OPTION
@_friendly
def fid_sweep(
    run: str,
    real: str | None,
    features: str,
    metrics: str,
    num_samples: int,
    batch_size: int | None,
    device: str | None,
    every: int,
    steps: str | None,
    quantize: bool,
    force: bool,
    cache_dir: str | None,
    inception_weights: str | None,
    select: str,
    as_json: bool,
    trust_code: bool,
) -> None:
    """FID (and KID, IS, precision/recall, density/coverage) for every checkpoint of RUN.

    Rebuilds the generator from each native checkpoint, generates samples from
    the run's fixed noise seed and compares their features with the real
    data's. Results are appended to RUN as each checkpoint finishes, so an
    interrupted sweep resumes where it stopped. Several GPUs or machines:
    torchrun --nproc_per_node=N -m gananalyze fid-sweep RUN ...

    \b
    StyleGAN2-ADA/3 runs: import first, then trust the pickles:
      gananalyze import stylegan-run/00000-x runs/x
      PYTHONPATH=/path/to/stylegan2-ada-pytorch gananalyze fid-sweep runs/x --trust-code --real
      data/
    """
    from .metrics.distributed import is_main_process
    from .metrics.sweep import SELECT_METRICS, stop_advice, sweep
    from .pages.text import sweep_saved_clause, sweep_text

    if select not in SELECT_METRICS:
        raise click.BadParameter(f"choose from {', '.join(SELECT_METRICS)}", param_hint="--select")
    step_list = None
    if steps:
        try:
            step_list = [int(s) for s in steps.split(",") if s.strip()]
        except ValueError:
            raise click.BadParameter(
                f"expected comma-separated integers, got {steps!r}", param_hint="--steps"
            ) from None
    bar: dict[str, Any] = {}

    def progress(ev: dict[str, Any]) -> None:
        if "bar" not in bar:
            bar["bar"] = click.progressbar(
                length=max(ev["total"], 1), label="fid-sweep", file=sys.stderr, show_pos=True
            )
            bar["bar"].__enter__()
            bar["done"] = 0
        if ev["done"] > bar["done"]:
            bar["bar"].update(ev["done"] - bar["done"])
            bar["done"] = ev["done"]

    try:
        frame = sweep(
            run,
            real,
            features=features,
            metrics=metrics,
            num_samples=num_samples,
            batch_size=batch_size,
            device=device,
            every=every,
            steps=step_list,
            quantize=quantize,
            force=force,
            cache_dir=cache_dir,
            inception_weights=inception_weights,
            progress=progress,
            trust_code=trust_code,
        )
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
    if not is_main_process():
        return
    best = stop_advice(frame, select)
    if frame.attrs.get("note"):
        click.echo(frame.attrs["note"], err=True)
    errors = frame[frame["error"].notna()] if "error" in frame.columns else frame.iloc[:0]
    if as_json:
        records = json.loads(frame.to_json(orient="records"))
        click.echo(json.dumps({"results": records, "best": best}, indent=2))
    else:
        click.echo(sweep_text(frame, best))
    if len(errors):
        for e in errors["error"]:
            click.echo(term_safe(f"  {e}"), err=True)
        raise click.ClickException(
            f"{len(errors)} of {len(frame)} checkpoint(s) could not be evaluated (see "
            f"above); {sweep_saved_clause(len(frame) - len(errors))}"
        )


@main.command()
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Write the HTML comparison page here (e.g. reports/compare.html).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV.")
@click.option(
    "--metric",
    default="fid",
    show_default=True,
    help="Metric that ranks the runs (sample metrics first, then scalars).",
)
@click.option(
    "--higher-is-better",
    "higher",
    flag_value=True,
    default=None,
    help="The metric is better when higher (known for is, precision, recall, density, coverage).",
)
@click.option(
    "--x",
    "x",
    type=click.Choice(["step", "iteration", "epoch", "kimg", "tick", "time", "images"]),
    default="step",
    show_default=True,
    help="x axis of the charts: each run's own step, a unit (iteration, epoch, kimg, tick: "
    "the step of runs that count in it, else their column), wall time, or images seen "
    "(step x batch size, or StyleGAN's kimg).",
)
@click.option(
    "--group-by",
    default=None,
    metavar="KEY",
    help="Aggregate runs that share a config KEY (e.g. lr) or a name pattern re:PATTERN "
    "into mean and band.",
)
@_choice(
    "--band",
    ["minmax", "std"],
    "minmax",
    "Band around a group's mean: min/max or +- standard deviation.",
)
@SMOOTHING_OPTION
@click.option(
    "--skip-bad", is_flag=True, help="Warn about runs that cannot be read and compare the others."
)
@click.option(
    "--sweep/--no-sweep",
    default=None,
    help="Write the sweep page (outcomes per config value, keys ranked, parallel coordinates) "
    "[default: when comparing more than 12 runs].",
)
@RULES_CONFIG_OPTION
@FORMAT_OPTION
@MAP_OPTION
@_friendly
def compare(
    runs: tuple[str, ...],
    output: str | None,
    as_json: bool,
    as_csv: bool,
    metric: str,
    higher: bool | None,
    x: str,
    group_by: str | None,
    band: str,
    smoothing: float,
    skip_bad: bool,
    sweep: bool | None,
    rules_config: str | None,
    fmt: str | None,
    role_map: tuple[str, ...],
) -> None:
    """Compare RUNS side by side: ranking by FID, rule-check findings, config diff.

    RUNS are run directories or globs (runs/*). Prints one row per run, ranked
    by the best FID (or --metric); with -o also writes an HTML page with
    overlaid curves, sample grids and per-run findings.
    """
    from .analysis.comparison import compare_runs
    from .analysis.rules import load_thresholds
    from .analysis.runset import load_and_diagnose
    from .pages.compare import render_compare
    from .pages.compare_sweep import SWEEP_MIN_RUNS
    from .pages.text import format_table

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if not 0 <= smoothing <= 0.999:
        raise click.BadParameter("must be between 0 and 0.999", param_hint="--smoothing")
    if output:
        check_output(output, runs)  # never write over a run's files
    thresholds = load_thresholds(rules_config) if rules_config else None
    loaded, warnings, diagnoses = load_and_diagnose(
        runs,
        skip_bad=skip_bad,
        format=fmt,
        metric=metric,
        thresholds=thresholds,
        roles=_roles(role_map),
        # many runs: keep summaries, not whole runs, unless the full comparison page needs them
        thin_above=None if output and sweep is False else 0 if sweep else SWEEP_MIN_RUNS,
    )
    comp = compare_runs(
        loaded,
        metric=metric,
        thresholds=thresholds,
        group_by=group_by,
        higher=higher,
        warnings=warnings,
        diagnoses=diagnoses,
    )
    for w in comp.warnings:
        click.echo(term_safe(f"warning: {w}"), err=True)
    if as_json:
        click.echo(json.dumps(comp.to_dict(), indent=2, default=str))
    elif as_csv:
        click.echo(term_safe(comp.table.to_csv(index=False)), nl=False)
    else:
        click.echo(format_table(comp))
    if output:
        path = render_compare(
            loaded, output, x=x, band=band, smoothing=smoothing, comparison=comp, sweep=sweep
        )
        click.echo(term_safe(f"wrote {path}"), err=as_json or as_csv)


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
@_friendly
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
    from .analysis.tsne import consent_note
    from .loader import load_run
    from .pages.report import render_report
    from .tables import is_table_file

    if not 0 <= smoothing <= 0.999:
        raise click.BadParameter("must be between 0 and 0.999", param_hint="--smoothing")
    if output:
        check_output(output, [run])  # never write over a run's files
    r = load_run(run, format=fmt, roles=_roles(role_map))
    if samples_table or is_table_file(real):
        from .analysis.vectorstats import load_with_tables

        r, real = load_with_tables(r, fmt, real, samples_table), None
    skipped = None if no_tsne or r.vectors else consent_note(r, real, trust_code)
    if skipped:
        click.echo(term_safe(skipped), err=True)
    path = render_report(
        r,
        output,
        smoothing=smoothing,
        tsne=not no_tsne,
        real=real,
        rules_config=rules_config,
        format=fmt,
        trust_code=trust_code,
    )
    click.echo(term_safe(f"wrote {path}"))


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--revoke", is_flag=True, help="Take back an earlier allow for RUN.")
@FORMAT_OPTION
@_friendly
def allow(run: str, revoke: bool, fmt: str | None) -> None:
    """Allow RUN's generator code and pickles to be loaded, once (like `direnv allow`).

    Stored outside the run ($XDG_CONFIG_HOME/gananalyze/allowed.json); it lapses
    when run.json's generator spec, the code inside the run or the pickles change.
    """
    from . import consent
    from .loader import load_run

    r = load_run(run, format=fmt)
    if revoke:
        done = consent.revoke(r)
        click.echo(term_safe(f"{run}: allow {'taken back' if done else 'was not given'}"))
        return
    what = consent.allow(r)
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
@_friendly
def import_cmd(src: str, dest: str, fmt: str | None, overwrite: bool) -> None:
    """Convert the run at SRC (any format) into a native run directory DEST."""
    from .convert import import_run

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
    if r.flags:
        click.echo(f"implausible values: {len(r.flags)} (see `gananalyze info {dest}`)")
    for w in r.warnings[:10]:
        click.echo(term_safe(f"warning: {w}"))
    if len(r.warnings) > 10:
        click.echo(f"... and {len(r.warnings) - 10} more warnings")


@main.command()
@click.argument("run", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
@_choice(
    "--fail-on",
    ["warning", "error"],
    "error",
    "Exit with code 1 when a finding reaches this severity.",
)
@RULES_CONFIG_OPTION
@click.option(
    "--metric",
    "select_metric",
    default="fid",
    show_default=True,
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
@_friendly
def check(
    run: str,
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

    Exit codes: 0 nothing at or above the --fail-on severity, 1 something is
    (or the run cannot be read), 2 bad command-line usage.
    """
    from .analysis import analyze
    from .analysis.findings import SEVERITY_RANK
    from .pages.text import check_text

    source: Any = run
    if samples_table or real_table:
        from .analysis.vectorstats import load_with_tables
        from .loader import load_run

        loaded = load_run(run, format=fmt, roles=_roles(role_map))
        source = load_with_tables(loaded, fmt, real_table, samples_table)
    _, diag = analyze(
        source, format=fmt, rules_config=rules_config, metric=select_metric, roles=_roles(role_map)
    )
    if as_json:
        click.echo(json.dumps(diag.to_dict(), indent=2, default=str))
    else:
        click.echo(check_text(diag, color=sys.stdout.isatty()))
    worst = diag.worst()
    if worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK[fail_on]:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
