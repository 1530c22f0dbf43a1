"""The command line's shared pieces: the error guard every command wears and the
options several commands take (--format, --map, --rules-config, --trust-code, ...).

Kept apart from the commands so that each command module reads as flags -> one
library call -> printed text.
"""

from __future__ import annotations

import functools
from typing import Any

import click

from .errors import GanAnalyzeError
from .pages.terminal import term_safe, unexpected_line


def friendly(fn):
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
    help="Force a run format instead of detecting it (e.g. native, tensorboard, stylegan, "
    "cyclegan, csv; `gananalyze info` names the one detected).",
)


def choice(flag: str, choices: list[str], default: str, help: str) -> Any:
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


def roles_of(items: tuple[str, ...]) -> dict[str, str] | None:
    """The --map ROLE=COLUMN pairs as a dict (None when none were given)."""
    from .naming.roles import parse_map

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


SAMPLES_TABLE_OPTION = click.option(
    "--samples",
    "samples_table",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="A final synthetic table (.csv/.parquet/.npy, e.g. CTGAN's model.sample(n)) used as "
    "the run's last samples; needs --real.",
)
