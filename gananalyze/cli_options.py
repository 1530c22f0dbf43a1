"""The command line's shared pieces: the error bridge (the guard every command wears,
the exit codes, JSON errors; it also prints every library warning, escaped like names)
and the options several commands take (--format, --map, --rules-config, --trust-code, ...),
and the progress bar long commands draw on stderr when it is a terminal (TerminalBar).

Kept apart from the commands so that each command module reads as flags -> one
library call -> printed text.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import click

from .errors import GanAnalyzeError, MissingExtra
from .extras import missing
from .pages.terminal import term_safe, unexpected_line

# The exit codes, one meaning each (documented in `gananalyze --help` and the README).
EXIT_OK = 0  # nothing at or above --fail-on
EXIT_FINDINGS = 1  # a finding at or above --fail-on
EXIT_USAGE = 2  # bad command line (click's usage errors)
EXIT_UNREADABLE = 3  # the run (or another input) cannot be read or used
EXIT_MISSING_EXTRA = 4  # the command needs an optional extra that is not installed
EXIT_CODES_HELP = (
    "Exit codes: 0 no finding at or above --fail-on; 1 a finding at or above it; 2 usage "
    "error; 3 the run (or another input) cannot be read; 4 a needed extra is not installed "
    "(the message names it). With --json, errors are JSON on stdout too: "
    '{"error": {"code": N, "kind": ..., "message": ...}}.'
)
_KINDS = {EXIT_USAGE: "usage", EXIT_UNREADABLE: "unreadable", EXIT_MISSING_EXTRA: "missing_extra"}


class CommandError(click.ClickException):
    """A one-line error with its own exit code (EXIT_UNREADABLE or EXIT_MISSING_EXTRA)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name}: {record.getMessage()}")
        except Exception:  # a record whose arguments don't format
            self.lines.append(f"{record.name}: {record.msg!r}")


@contextlib.contextmanager
def escaped_warnings() -> Iterator[None]:
    """Capture every warning the libraries raise while a command runs (matplotlib's
    "Glyph ... missing", pandas, PIL: Python warnings and WARNING log records) and print
    each once, on stderr, through term_safe: a metric name with ESC or BEL in it never
    reaches the terminal raw."""
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            yield
    finally:
        root.removeHandler(handler)
        seen: set[str] = set()
        for line in [f"{w.category.__name__}: {w.message}" for w in caught] + handler.lines:
            if line not in seen:
                seen.add(line)
                click.echo(f"warning: {term_safe(line, keep_newlines=False)}", err=True)


def friendly(fn):
    """The error bridge: the library's errors become one line and their exit code.

    GanAnalyzeError -> EXIT_UNREADABLE; MissingExtra (or an ImportError of a module
    an extra provides) -> EXIT_MISSING_EXTRA, naming the extra to install. Any other
    exception also becomes one line naming the run (and the file, when the error
    names one) with a hint to rerun with --debug, which shows the traceback instead.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with escaped_warnings():
                return fn(*args, **kwargs)
        except MissingExtra as e:
            raise CommandError(term_safe(e, keep_newlines=False), EXIT_MISSING_EXTRA) from None
        except GanAnalyzeError as e:
            raise CommandError(term_safe(e, keep_newlines=False), EXIT_UNREADABLE) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            ctx = click.get_current_context(silent=True)
            if isinstance(e, ImportError):
                err = missing(e, ctx.info_name if ctx is not None else "this command")
                if err is not None:
                    raise CommandError(str(err), EXIT_MISSING_EXTRA) from None
            if ctx is not None and (ctx.find_root().params or {}).get("debug"):
                raise
            raise CommandError(
                term_safe(unexpected_line(e, kwargs), False), EXIT_UNREADABLE
            ) from None

    return wrapper


def _wants_json(args: list[str]) -> bool:
    head = args[: args.index("--")] if "--" in args else args
    return "--json" in head


class Group(click.Group):
    """The `gananalyze` group: with --json among the arguments, every error (usage
    errors included) is printed as JSON on stdout, with the same exit code."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        standalone = extra.pop("standalone_mode", True)
        args = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as e:
            if not standalone:
                raise
            if _wants_json(args):
                error = {"code": e.exit_code, "kind": _KINDS.get(e.exit_code, "error")}
                error["message"] = e.format_message()
                click.echo(json.dumps({"error": error}, indent=2))
            else:
                e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            if not standalone:
                raise
            click.echo("Aborted!", err=True)
            sys.exit(1)
        if not standalone:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


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


def metric_option(*decls: str, help: str, **kw: Any) -> Any:
    """An option naming a sample metric, FID unless told otherwise (shown in --help)."""
    return click.option(*decls, default="fid", show_default=True, help=help, **kw)


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
    """The --map ROLE=COLUMN pairs as a dict (None when none were given); a malformed
    pair is a usage error (exit code 2)."""
    from .naming.rolemap import parse_map

    try:
        return parse_map(items) or None
    except GanAnalyzeError as e:
        raise click.BadParameter(str(e), param_hint="--map") from None


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


Progress = Callable[[int, int, str], None]  # the library's progress hook: (done, total, what)


class TerminalBar:
    """A click progress bar on stderr for a long command, drawn only when stderr is a
    terminal (`active`); otherwise every call does nothing and nothing is printed.

    Called as the library's progress hook, `bar(done, total, what)` (what: the stage or
    the run, escaped like every name); `part(before, after)` is the hook for one library
    call whose stages sit between `before` stages of the command and `after` more."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self._bar: Any = None

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if not self.active:
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=max(total, 1),
                label=self.label,
                file=self.stream,
                show_pos=True,
                item_show_func=lambda item: item,
            )
            self._bar.__enter__()
        self._bar.length = max(total, 1)
        step, item = max(done - self._bar.pos, 0), term_safe(what, keep_newlines=False)
        if step:
            self._bar.update(step, item)
        else:  # a new stage at the same count: show its name now
            self._bar.current_item = item
            self._bar.render_progress()

    def part(self, before: int = 0, after: int = 0) -> Progress | None:
        """The hook for a library call run after `before` stages, with `after` still to come
        (None when no bar is drawn: the library then reports nothing)."""
        if not self.active:
            return None
        return lambda done, total, what: self(before + done, before + total + after, what)

    def finish_with(self, what: str) -> None:
        """Show the command's last stage, `what`, as running (one stage left)."""
        if self._bar is not None:
            self(self._bar.length - 1, self._bar.length, what)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[TerminalBar]:
    """A TerminalBar for the length of a command, closed (its line ended) however it ends."""
    bar = TerminalBar(label)
    try:
        yield bar
        if bar._bar is not None:  # the command got through: the bar ends full
            bar(bar._bar.length, bar._bar.length, "")
    finally:
        bar.close()
