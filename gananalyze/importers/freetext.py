"""The one free-text line grammar: a printed training log line -> counters and values.

A line is read as key/value pairs around its numbers:
    `key: v`, `key=v`, `key v`        keys of up to three words (`D loss: 0.31` -> `D_loss`)
    `key (qualifier): v`              `FID score (Step: 4000, Using test moments): 37.2` ->
                                      `FID_score (Using test moments)` = 37.2 at step 4000
    `key: a / b`                      two values, `key_1` and `key_2` (DCGAN's D(G(z)))
    `key [v]`, `key (v)`              a value in brackets after its key (`Disc Loss [1.47]`,
                                      CTGAN's tqdm description `Gen. (+01.21)`)
    `12 [D loss: v] [G loss: v]`      a line opening on a bare integer before its pairs: the
                                      iteration (Keras-GAN's print)
    `Epoch [e/E]`, `[e/E][b/B]`       counters with their totals (bare brackets with a total:
                                      epoch, then batch; `Epoch: [ e/E] [ b/B]` too)
Counters are the keys named like a step (step, global step, iter, itr, iteration, it, kimg,
tick, epoch, batch), also with their number's word (`Epoch ID=0`, `iter_num`); every other
pair is a value. A counter printed with thousands
separators (BasicSR's `iter:   1,000`, `Step 1,200/10,000`) is read as one number.
`key v` (no `:` or `=`) is a pair when the key is a counter, or when the line has no
`:`/`=` pairs at all (`tick 3 kimg 12.0 ...`). Numbers glued to letters (`6m 31s`,
`fid50k`), arguments of printed calls (`BatchNorm2d(64, eps=1e-05)`, the network printed
in a preamble), the time left (`eta: 5 days, 1:02:03`), clock times (`Elapsed: 14:59:13`)
a running best (`Best FID score (Step: 6000, ...)`) and a logger's source line
(`train.py:245]`, absl's and glog's prefix) are not values.

Lines that differ only in their numbers share a template (`template`: numbers replaced by
MARK); `linetemplates` parses each template once with `parse` and reads every line of it
column-wise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# the same pattern in Python's re and in RE2 (pyarrow): ASCII classes, leftmost-first
NUM = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|(?i:nan|inf))"
SLOT = rf"(^|[^0-9A-Za-z_.])({NUM})"
MARK = "\x01"
_SLOT_RE = re.compile(rf"(?<![0-9A-Za-z_.]){NUM}")  # the same slots as SLOT, no group
_NUM_RE = re.compile(NUM)
_TAIL_KEY_RE = re.compile(r"[(\[{<]([A-Za-z_][\w./\-]*)$")
_KEY_RE = re.compile(r"[A-Za-z_](?:[\w./\-]|\((?:[^()\s]|\([^()\s]*\))*\))*")
_ASSIGN_RE = re.compile(r"\s*[:=]\s*$")
# a `key: number` pair anywhere (linear: no nested repeats; `18:09` is a time, not a pair)
_ANY_ASSIGN_RE = re.compile(r"[A-Za-z_)\]]\s*[:=]\s*[-+.]?[0-9]")
_CALL_OPEN_RE = re.compile(r"[A-Za-z0-9_]\(")
_COLON_PAIR_RE = re.compile(r"\s*[A-Za-z_][\w.]*\s*:\s*[-+.0-9]")  # a printed call's args use `=`
# a line opening on a bare integer, then a bracketed part (Keras-GAN's print)
_LEAD_COUNT_RE = re.compile(r"\s*[0-9]+\s+\[[A-Za-z]")
_VALUE_END = set(" \t,;:|)]}%/>\r")
MAX_WORDS = 3
NOT_VALUES = {"eta"}  # keys whose number is no measurement (the time left, `eta: 5 days`)
# a source file and line a logger prints before its message (absl/glog's `train.py:245]`,
# `[INFO: train.py:  278]:`): a line number, never a value
_SOURCE_FILE_RE = re.compile(r"(?i).\.(?:py|pyx|c|cc|cpp|cu|h|hpp|js|ts|lua|java|rs|go)$")
# words printed as an option's value (`ada_p: No`), never the first word of the next key
_WORD_VALUES = {"no", "yes", "none", "true", "false", "on", "off", "n/a", "na"}
# a number that opens a clock time or a count of days (`Elapsed: 14:59:13`, `1 day, 0:01:03`)
_CLOCK_RE = re.compile(r":[0-9]{2}\b|\s*days?\b")
# a counter's value printed with thousands separators, and a total after it (`1,200/10,000`):
# the same pattern in Python's re and RE2, rewritten without the commas before reading
_GROUPED = r"([0-9]{1,3}),([0-9]{3})(?:,([0-9]{3}))?(?:,([0-9]{3}))?\b"
UNGROUP = (
    r"(?i)(\b(?:global_step|total_step|iterations|iteration|steps|step|iters|iter|itr|it|"
    r"batches|batch|epochs|epoch|kimg|tick)\s*[:=]?\s*\[?\s*|/\s*)" + _GROUPED
)
_UNGROUP_RE = re.compile(UNGROUP)
UNGROUP_TO = r"\1\2\3\4\5"
GROUPED_HINT = r"[0-9],[0-9]{3}"  # a cheap test for lines UNGROUP may change
# a tqdm bar after its description (`Gen. (+01.21) | Discrim. (+00.02):   3%|▎  | 49/1500
# [00:09<03:43,  6.49it/s]`, CTGAN's) or with values glued after it (`16.42s/it]dloss: 0.1`):
# its count n/N is read as the step, its percentage and timings are not values
TQDM = r":?\s*[0-9]{1,3}%\|[^|]*\|\s*([0-9]+)/([0-9]+)\s*\[[^\]]*\]"
TQDM_TO = r" step: \1/\2 "  # the space: a key printed right after the bar (`s/it]dloss: 0.1`)
TQDM_HINT = "%|"  # a literal every tqdm bar holds: the cheap test before TQDM
_TQDM_RE = re.compile(TQDM)
# a counter printed with its total in words (`Epoch 2 of 50`, Keras' ACGAN example): read as
# `Epoch 2/50`, not as a value named `of`
OF_TOTAL = (
    r"(?i)\b(epochs?|iterations?|iters?|steps?|batch(?:es)?)\s*:?\s+([0-9]+)\s+of\s+([0-9]+)\b"
)
OF_TOTAL_TO = r"\1 \2/\3"
OF_TOTAL_HINT = " of "  # the cheap test before OF_TOTAL
_OF_TOTAL_RE = re.compile(OF_TOTAL)
MAX_LINE = 10_000  # longer lines (a printed tensor, binary garbage) are not read for values

# counter kind of a (lower-case, "_"-joined) key
COUNTERS = {
    "step": "step",
    "steps": "step",
    "global_step": "step",
    "total_step": "step",
    "iter": "iter",
    "iters": "iter",
    "itr": "iter",
    "it": "iter",
    "iteration": "iter",
    "iterations": "iter",
    "kimg": "kimg",
    "tick": "tick",
    "epoch": "epoch",
    "epochs": "epoch",
    "ep": "epoch",
    "batch": "batch",
    "batches": "batch",
    "batch_idx": "batch",
}


@dataclass
class Shape:
    """What one template holds: values (name, slot) and counters {kind: (slot, total slot)}."""

    values: list[tuple[str, int]] = field(default_factory=list)
    counters: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    slots: int = 0


def slots(line: str) -> list[tuple[int, int]]:
    """(start, end) of every number slot of a line (the template's marks)."""
    return [m.span() for m in _SLOT_RE.finditer(line)]


def _split_qualifier(head: str) -> tuple[str, str | None]:
    """`FID score (Step: 4000, x)` -> (`FID score`, `Step: 4000, x`)."""
    h = head.rstrip()
    if not h.endswith(")"):
        return h, None
    depth = 0
    for i in range(len(h) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(h[i], 0)
        if depth == 0:
            if i > 0 and h[i - 1].isspace():
                return h[:i].rstrip(), h[i + 1 : -1]
            return h, None
    return h, None


def _key_words(head: str) -> list[str]:
    """The key in front of `:`/`=`/a number: up to MAX_WORDS trailing key-like words (a
    word such as `No` right after another key's `:` is that key's value: `ada_p: No
    Discriminator_loss: 0.06` names `Discriminator_loss`)."""
    words: list[str] = []
    toks = head.split()
    for j in range(len(toks) - 1, -1, -1):
        tok = toks[j]
        if words and tok.lower() in _WORD_VALUES and j > 0 and toks[j - 1].endswith((":", "=")):
            break
        stop = False
        for sep in (":", "=", "|", ",", ";"):
            if sep in tok:
                tok, stop = tok.rsplit(sep, 1)[1], True
        stripped = tok.strip("\"'").lstrip("([{<").strip("\"'")
        stop = stop or stripped != tok.strip("\"'")
        if stripped and not _KEY_RE.fullmatch(stripped) and not words:
            # junk glued before an opening bracket (pasted arrow keys: `^[[C^[[C(epoch: 16`):
            # the key is what follows the bracket
            tail = _TAIL_KEY_RE.search(stripped)
            stripped, stop = (tail.group(1), True) if tail else (stripped, stop)
        if not stripped or not _KEY_RE.fullmatch(stripped) or _NUM_RE.fullmatch(stripped):
            break  # a value before the key (`Loss_D: nan Loss_G: nan`) is not part of it
        if words and stripped in ("AM", "PM"):
            break  # a 12-hour clock's mark (`02:23:29 PM Epoch: [ 0]`, logging's `%p`)
        words.append(stripped)
        if stop or len(words) == MAX_WORDS:
            break
    return words[::-1]


# a counter named with its number's word (`Epoch ID=0, Batch ID=900`, `iter_num`, `step no`)
_NUMBERED = re.compile(r"(.+?)_(?:id|idx|index|no|num|number|nr)")


def _counter(words: list[str]) -> str | None:
    if not words:
        return None
    key = "_".join(words).lower()
    numbered = _NUMBERED.fullmatch(key)
    return COUNTERS.get(key) or (COUNTERS.get(numbered.group(1)) if numbered else None)


def _clean_qualifier(q: str) -> str:
    """A qualifier without its counter pairs: `Step: 4000, Using test moments` -> the rest."""
    parts = [p.strip() for p in re.split(r"[,;]", q)]
    keep = []
    for p in parts:
        m = re.fullmatch(rf"(.*?)\s*[:=]?\s*({NUM})", p)
        if m and _counter(m.group(1).split()):
            continue
        if p:
            keep.append(p)
    return ", ".join(keep)


def _in_calls(line: str, starts: list[int]) -> list[bool]:
    """For each position in `starts` (ascending): whether it sits inside the arguments of a
    printed call (`Conv2d(3, 64, ...)`). One pass over the line."""
    out = []
    opens: list[bool] = []  # per open paren: is it a call's
    calls = 0
    pos = 0
    for start in starts:
        while pos < start:
            ch = line[pos]
            if ch == "(":
                is_call = (
                    pos > 0
                    and _CALL_OPEN_RE.match(line, pos - 1) is not None
                    and _COLON_PAIR_RE.match(line, pos + 1) is None  # `x(epoch: 16`: no call
                )
                opens.append(is_call)
                calls += is_call
            elif ch == ")" and opens:
                calls -= opens.pop()
            pos += 1
        out.append(calls > 0)
    return out


def normalise(line: str) -> str:
    """A line with its counters' thousands separators removed (`iter: 1,000` -> `iter: 1000`)
    a total in words read as one (`Epoch 2 of 50` -> `Epoch 2/50`) and a tqdm bar read as its
    count (`...: 3%|▎ | 49/1500 [00:09<03:43]` -> ` step: 49/1500`)."""
    line = _UNGROUP_RE.sub(UNGROUP_TO, line) if "," in line else line
    line = _OF_TOTAL_RE.sub(OF_TOTAL_TO, line) if OF_TOTAL_HINT in line else line
    return _TQDM_RE.sub(TQDM_TO, line) if TQDM_HINT in line else line


def parse(line: str) -> Shape:
    """The shape of one line (module docstring), its slots those of `normalise(line)`."""
    if len(line) > MAX_LINE:
        return Shape(slots=len(slots(line)))
    line = normalise(line)
    spans = slots(line)
    shape = Shape(slots=len(spans))
    in_call = _in_calls(line, [a for a, _ in spans])
    assigns = bool(_ANY_ASSIGN_RE.search(line))
    bare: list[tuple[int, int | None]] = []
    used: set[str] = set()
    spaced: list[int] = []  # values read from `key v` pairs
    prev_end, last = 0, None  # last: ("value", index) or ("counter", kind) of the previous slot
    k = 0
    while k < len(spans):
        a, b = spans[k]
        gap = line[prev_end:a]
        after = line[b : b + 1]
        prev_end = b
        ellipsis = line.startswith("...", b) or (line[b - 1] == "." and line.startswith("..", b))
        # a sentence's full stop ends a value (TensorFlowTTS: `train_dis_loss = 0.2162.`)
        full_stop = after == "." and line[b + 1 : b + 2] in ("", " ", "\t", "\r")
        if after and after not in _VALUE_END and not ellipsis and not full_stop:
            # (an ellipsis ends a value: `Discriminator Loss: 0.8786... Generator Loss: 1.08`)
            last = None
            k += 1
            continue
        if last is not None and re.fullmatch(r"\s*/\s*", gap):  # `a / b`, `e/E`
            kind, ref = last
            if kind == "counter":
                slot, _ = shape.counters[ref]
                shape.counters[ref] = (slot, k)
            elif kind == "bare":
                bare[ref] = (bare[ref][0], k)
            else:
                name, slot = shape.values[ref]
                shape.values[ref] = (f"{name}_1", slot)
                shape.values.append((f"{name}_2", k))
            last = None
            k += 1
            continue
        last = None
        in_brackets = None  # `Disc Loss [1.47]`: a value in brackets after its key
        if gap.rstrip().endswith("["):  # `Epoch [e/E]`, `[e/E]`, `Epoch:[ e/E]`
            bw = _key_words(gap.rstrip()[:-1].rstrip().rstrip(":").rstrip())
            kind = _counter(bw)
            if kind or not bw or after != "]":
                if kind and kind not in shape.counters:
                    shape.counters[kind] = (k, None)
                    last = ("counter", kind)
                elif not kind:
                    bare.append((k, None))
                    last = ("bare", len(bare) - 1)
                k += 1
                continue
            in_brackets = bw
        elif gap.rstrip().endswith("(") and after == ")" and gap.rstrip()[-2:-1].isspace():
            # `Gen. (+01.21)`: a value in parentheses after its key (a call has no space)
            bw = _key_words(gap.rstrip()[:-1].rstrip())
            if bw and not _counter(bw):
                in_brackets = bw
        if in_call[k]:
            k += 1
            continue
        m = _ASSIGN_RE.search(gap)
        if in_brackets is not None:
            words, qual = in_brackets, None
        elif m:
            head, qual = _split_qualifier(line[: a - len(m.group())])
            words = _key_words(head)
        elif gap[-1:].isspace() and gap.split():  # `key v`, `[Epoch 3/200]`, `root:Step 5`
            words, qual = _key_words(gap.split()[-1]), None
            if not words:
                k += 1
                continue
            if assigns and not _counter(words):
                k += 1
                continue
            spaced.append(len(shape.values))
        else:
            k += 1
            continue
        if not words:
            k += 1
            continue
        kind = _counter(words)
        if kind:
            if qual is None and kind not in shape.counters:
                shape.counters[kind] = (k, None)
                last = ("counter", kind)
            k += 1
            continue
        name = "_".join(words)
        if (
            name.lower() in NOT_VALUES
            or words[0].lower() == "best"
            or _CLOCK_RE.match(line, b)
            or _SOURCE_FILE_RE.search(words[-1])
        ):
            # the time left; a running best (`Best FID score (Step: 6000, ...)`, repeated at
            # every evaluation, is no measurement at the step it names); a time of day; a
            # logger's source line (`train.py:245]`)
            k += 1
            continue
        if qual is not None:
            q = _clean_qualifier(qual)
            name = f"{name} ({q})" if q else name
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        shape.values.append((name, k))
        last = ("value", len(shape.values) - 1)
        k += 1
    if len(spaced) < 2 and not shape.counters:  # one `word 64` in prose is not a value
        shape.values = [v for i, v in enumerate(shape.values) if i not in spaced]
    if spans and not shape.counters and shape.values and _LEAD_COUNT_RE.match(line):
        # Keras-GAN: `%d [D loss: %f, acc.: %.2f%%] [G loss: %f]`, the iteration first
        shape.counters["iter"] = (0, None)
    bare = [b for b in bare if b[1] is not None]  # `[112640, ...]` is no counter
    if bare and "epoch" not in shape.counters:  # DCGAN: [epoch/E][batch/B]
        shape.counters["epoch"] = bare[0]
        if len(bare) > 1:
            shape.counters.setdefault("batch", bare[1])
    elif bare:  # DCGAN-tensorflow: `Epoch: [e/E] [b/B]`, the bare one the batch
        shape.counters.setdefault("batch", bare[0])
    return shape


def template(line: str) -> str:
    """A line with its numbers replaced by MARK: lines sharing it share a Shape."""
    return _SLOT_RE.sub(MARK, line)
