"""The commands over many evaluations or many runs: `fid-sweep` (sample metrics at every
checkpoint) and `compare` (runs side by side, or the sweep page of many).

Registered on the `gananalyze` group in cli.py; like every command, each parses its
flags, calls one library function and prints through pages/.
"""

from __future__ import annotations

import json

import click

from .cli_options import (
    FORMAT_OPTION,
    MAP_OPTION,
    RULES_CONFIG_OPTION,
    SMOOTHING_OPTION,
    TRUST_OPTION,
    choice,
    friendly,
    metric_option,
    progress_bar,
    roles_of,
)
from .errors import GanAnalyzeError
from .files.runfiles import check_output
from .pages.terminal import term_safe

FID_QUANTIZE_HELP = (
    "Round samples to 8 bits before the feature network, exactly as saving PNGs does "
    "(default on, so numbers equal the 'save PNGs + python -m pytorch_fid' route and published "
    "FIDs, which are all computed from 8-bit images). --no-quantize feeds the raw float samples."
)


def _step_text(step: int | None) -> str:
    return "" if step is None else f"step {step}"


@click.command("fid-sweep")
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
    "--label-column",
    default=None,
    metavar="COLUMN",
    help="With a real table: the column holding each row's class (integers, or values "
    "numbered in sorted order), for a conditional generator's per-class metrics; it is "
    "not a feature.",
)
@click.option(
    "--features",
    default=None,
    metavar="NAME",
    help="Feature network: inception (pytorch-fid's; the default for images), digits, or "
    "torchscript:PATH; for rows (--real a table): raw (the default: columns standardised on "
    "the real rows) or torchscript:PATH on those rows.",
)
@metric_option(
    "--metrics",
    help="Comma-separated: fid, kid, is, pr (precision/recall), dc (density/coverage); "
    "cfid (per-class FID), cacc (conditional accuracy, class coverage): a conditional G "
    "with labelled --real gets these two always.",
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
@click.option("--quantize/--no-quantize", default=True, show_default=True, help=FID_QUANTIZE_HELP)
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
@metric_option(
    "--select",
    help="Metric that picks the best checkpoint (fid, kid: lowest; is, precision, "
    "recall, density, coverage: highest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@TRUST_OPTION
@friendly
def fid_sweep(
    run: str,
    real: str | None,
    label_column: str | None,
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
    from .analysis import analyze
    from .metrics.distributed import is_main_process
    from .metrics.registry import SELECT_METRICS, selected_column
    from .metrics.sweep import sweep
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
    with progress_bar("fid-sweep") as bar:
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
            progress=lambda ev: bar(ev["done"], ev["total"], _step_text(ev["step"])),
            trust_code=trust_code,
            label_column=label_column,
        )
    if not is_main_process():
        return
    # the run's one recommendation, over everything now stored (analysis.recommendation)
    best = analyze(run, metric=selected_column(select))[1].recommendation
    if frame.attrs.get("note"):
        click.echo(frame.attrs["note"], err=True)
    errors = frame[frame["error"].notna()] if "error" in frame.columns else frame.iloc[:0]
    if as_json:
        records = json.loads(frame.to_json(orient="records"))
        rec = best.to_dict() if best is not None else None
        click.echo(json.dumps({"results": records, "recommendation": rec}, indent=2))
    else:
        click.echo(sweep_text(frame, best))
    if len(errors):
        for e in errors["error"]:
            click.echo(term_safe(f"  {e}"), err=True)
        raise GanAnalyzeError(
            f"{len(errors)} of {len(frame)} checkpoint(s) could not be evaluated (see "
            f"above); {sweep_saved_clause(len(frame) - len(errors))}"
        )


@click.command()
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
@metric_option(
    "--metric",
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
@choice(
    "--band",
    ["minmax", "std"],
    "minmax",
    "Band around a group's mean: min/max or +- standard deviation.",
)
@click.option(
    "--all",
    "all_rows",
    is_flag=True,
    help="Print every run's row and verdict, even for many runs (by default more than 20 runs "
    "get a summary: outcome counts, the best and worst five).",
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
@friendly
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
    all_rows: bool,
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
    from .pages.text import SUMMARY_ABOVE, compare_summary, csv_text, format_table

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if not 0 <= smoothing <= 0.999:
        raise click.BadParameter("must be between 0 and 0.999", param_hint="--smoothing")
    if output:
        check_output(output, runs)  # never write over a run's files
    thresholds = load_thresholds(rules_config) if rules_config else None
    with progress_bar("compare") as bar:  # one stage per run
        loaded, warnings, diagnoses = load_and_diagnose(
            runs,
            skip_bad=skip_bad,
            format=fmt,
            metric=metric,
            thresholds=thresholds,
            roles=roles_of(role_map),
            # many runs: keep summaries, not whole runs, unless the full comparison page needs them
            thin_above=None if output and sweep is False else 0 if sweep else SWEEP_MIN_RUNS,
            progress=bar.part(),
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
        click.echo(term_safe(csv_text(comp.table)), nl=False)
    elif all_rows or len(comp.table) <= SUMMARY_ABOVE:
        click.echo(format_table(comp))
    else:
        click.echo(compare_summary(comp))
    if output:
        with progress_bar("compare page") as bar:
            bar(0, 1, "drawing the page")
            path = render_compare(
                loaded, output, x=x, band=band, smoothing=smoothing, comparison=comp, sweep=sweep
            )
        click.echo(term_safe(f"wrote {path}"), err=as_json or as_csv)
