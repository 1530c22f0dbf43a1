"""The `gananalyze` command line: parses arguments, calls the library, prints.

Every command is a thin layer over a library function; GanAnalyzeError becomes
a one-line message and exit code 1. Heavy modules (torch, matplotlib) are
imported inside the commands that need them so that `--help` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import click

from . import __version__
from .errors import GanAnalyzeError


def _friendly(fn):
    """Turn the library's errors into click errors (one line, exit code 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GanAnalyzeError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


FORMAT_OPTION = click.option("--format", "fmt", default=None, metavar="NAME", help="Force a run format instead of detecting it (native, tensorboard, stylegan, cyclegan, csv).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gananalyze")
def main() -> None:
    """Find out what happened in a GAN training run.

    RUN is a directory: a native gananalyze run, or what your trainer already
    wrote (TensorBoard event files, a StyleGAN2-ADA/3 run directory, a
    CycleGAN/pix2pix loss_log.txt, a Lightning metrics.csv or any CSV/JSONL
    with a step column).
    """


def _fmt_span(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{seconds:.1f}s")


def _ranges(steps: list[int], limit: int = 6) -> str:
    if not steps:
        return "none"
    if len(steps) <= limit:
        return ", ".join(map(str, steps))
    return f"{len(steps)} (steps {steps[0]} ... {steps[-1]})"


@main.command()
@click.argument("run", type=click.Path())
@FORMAT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_friendly
def info(run: str, fmt: str | None, as_json: bool) -> None:
    """Summarise RUN: steps, time span, metrics, checkpoints, samples, warnings."""
    from .loader import load_run

    r = load_run(run, format=fmt)
    s = r.summary()
    if as_json:
        click.echo(json.dumps(s, indent=2, default=str))
        return
    click.echo(f"run:         {s['name']}  ({s['path']})")
    click.echo(f"format:      {s['format']}" + (f"   loss: {s['loss']}" if s["loss"] else "   loss: unknown"))
    if s["rows"]:
        click.echo(f"steps:       {s['rows']} logged, {s['first_step']} .. {s['last_step']}")
    else:
        click.echo("steps:       none logged")
    click.echo(f"time span:   {_fmt_span(s['time_span_s'])}")
    if s["metrics"]:
        click.echo(f"metrics:     {len(s['metrics'])}")
        width = max(len(m) for m in s["metrics"])
        nonfinite = r.nonfinite.groupby("metric").size().to_dict() if len(r.nonfinite) else {}
        for m, n in s["metrics"].items():
            extra = f"  ({nonfinite[m]} NaN/Inf)" if m in nonfinite else ""
            click.echo(f"  {m:<{width}}  {n:>9} points{extra}")
    click.echo(f"checkpoints: {_ranges(s['checkpoints'])}")
    click.echo(f"samples:     {_ranges(s['samples'])}")
    if s["histogram_steps"]:
        click.echo(f"histograms:  {s['histogram_steps']} steps")
    if s["sample_metrics"]:
        click.echo(f"sample metrics: {', '.join(s['sample_metrics'])} at {len(r.sample_metrics)} checkpoints")
    if s["flags"]:
        click.echo(f"implausible values: {len(s['flags'])}")
        for f in s["flags"][:20]:
            click.echo(f"  {f}")
        if len(s["flags"]) > 20:
            click.echo(f"  ... and {len(s['flags']) - 20} more")
    if s["warnings"]:
        click.echo(f"warnings:    {len(s['warnings'])}")
        for w in s["warnings"]:
            click.echo(f"  {w}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
