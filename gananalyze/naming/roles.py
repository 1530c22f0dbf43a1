"""Metric roles for any naming: which column is "the G loss", "D(x)", "the D
gradient norm"..., worked out from the words in the column names.

Pure functions of names (`read_name`, `resolve_roles`), plus `run_roles(run)`: the
roles of a loaded run, which `Run.column` answers from, so the rules, the report and
`compare` find "the G loss" of any run however it is named; and `gan_views(run)`: the
GAN(s) the rules judge in a run (its roles, or a trainer layout of `layouts`). Columns
a known trainer layout claims (pix2pix's `D_real`/`D_fake` are loss terms, not D(x);
`naming.layouts.GAN_LAYOUTS`) are not read by their words.

How a name is read
  The name is split into words on separators (`/ _ - . space ( ) [ ]`) and on
  case changes (`lossD` -> loss, D; `DLoss` -> D, Loss; `z1` -> z, 1).
  Decorations a logger adds are set aside: a split word (`train`, `val`,
  `valid`, `validation`, `test`, `eval`) anywhere, and Lightning's `step` /
  `epoch` suffix. Validation columns get roles of their own, prefixed `val/`
  (`val/G_loss`), so training and validation never mix.
  Words then say the network (G: g, gen, generator, netg; D: d, dis, disc,
  discriminator, critic, netd), the kind (loss: loss, losses, err, error;
  output: prob, probability, score, out, output, pred (`real_score` is D's mean
  sigmoid output in most tutorials; the rules check it lies in [0, 1]); logit:
  scores (StyleGAN's plural), logit, logits; gradient: grad, gradient, norm,
  gnorm, grad_norm; acc, accuracy), and the data (real / x;
  fake / z with G). Words left over (`total`, `adv`, `l1`...) make a name a
  weaker candidate: `g_loss` beats `g_loss_l1`; a lone `lossG_total` still wins. A word
  naming a term beside the adversarial one (REG_WORDS: `tv`, `l1`, `cycle`, `vgg`...)
  counts twice: `G_img_loss` beats `G_tv_loss`.

Roles (ROLES): G_loss, D_loss, D_loss_real, D_loss_fake, D_x, D_G_z_before,
D_G_z_after (D_G_z1 / D_G_z2 in the PyTorch DCGAN tutorial), D_x_logit,
D_G_z_logit (raw scores; StyleGAN's `Loss/scores/real`), D_acc, G_grad_norm,
D_grad_norm, fid (a name whose first word is `fid`: `FID score`, `fid50k_full`; a
qualifier a log printed in parentheses, `FID score (Using valid moments)`, says no
split). The exact names in `aliases.ALIASES` keep resolving.

Ambiguity is reported, never guessed: two equally good candidates for a role
(`G_loss` and `gen_loss`) leave the role unset and list both in `.ambiguous`;
the user settles it with `--map G_loss=gen_loss` or the map file. The same
metric logged per step and per epoch (`g_loss_step`, `g_loss_epoch`) is not
ambiguous: the per-step column is taken; nor is one printed twice, an exact name beside
columns whose values track it (Keras 3's `d_loss` and `discriminator_loss`, `run_roles`).

Map file: `gananalyze.yaml` in the run folder, with a `roles:` mapping
    roles:
      G_loss: lossG_total
      D_loss: lossD_total
(read by `rolemap.read_map_file`). `--map ROLE=COLUMN` strings: `rolemap.parse_map`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GanAnalyzeError
from .aliases import resolve
from .layouts import GanView, layout_columns, layout_views
from .settle import exact_role, settle_terms, settle_twins

# the roles a loss convention reads: the losses and D's outputs
CONVENTION_ROLES = (
    "G_loss",
    "D_loss",
    "D_loss_real",
    "D_loss_fake",
    "D_x",
    "D_G_z_before",
    "D_G_z_after",
    "D_x_logit",
    "D_G_z_logit",
)
ROLES = (*CONVENTION_ROLES, "D_acc", "G_grad_norm", "D_grad_norm", "fid")
MAP_FILE = "gananalyze.yaml"
INDEX_COLUMNS = ("step", "epoch", "wall_time")

G_WORDS = {"g", "gen", "generator", "netg", "generators"}
D_WORDS = {"d", "dis", "disc", "discriminator", "critic", "netd", "discriminators"}
LOSS_WORDS = {"loss", "losses", "err", "error", "errors"}
OUT_WORDS = {"prob", "probability", "probs", "out", "output", "pred", "score"}
LOGIT_WORDS = {"scores", "logit", "logits"}
GRAD_WORDS = {"grad", "grads", "gradient", "gradients", "norm", "gnorm"}
ACC_WORDS = {"acc", "accuracy"}
REAL_WORDS = {"real", "x"}
FAKE_WORDS = {"fake", "z", "gz"}
SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "val",
    "eval": "val",
}
AGG_WORDS = {"step": "step", "epoch": "epoch"}
_NEUTRAL = {"net", "model", "mean", "avg", "on", "of", "the"}
# words naming a term beside the adversarial one (total variation, pixel and feature
# losses, cycle and identity terms, penalties): such a column is a G loss only alone
REG_WORDS = {
    "tv",
    "l1",
    "l2",
    "vgg",
    "perceptual",
    "feat",
    "content",
    "pixel",
    "pix",
    "cycle",
    "idt",
    "identity",
    "recon",
    "reconst",
    "rec",
    "kl",
    "reg",
    "penalty",
    "gp",
    "pl",
    "cls",  # an auxiliary classifier's term (StarGAN's D/loss_cls, AC-GAN)
    "aux",
}
# words that make a name something other than a role (StyleGAN's `Loss/signs/real` is the
# sign of D's scores, `lr_D` a learning rate)
_VETO = {"sign", "signs", "lr", "rate", "time", "count"}
_AGG_PREF = {"step": 0, None: 1, "epoch": 2}


def words(name: str) -> list[str]:
    """`train/lossD_step` -> ['train', 'loss', 'D', 'step'] (original case)."""
    out: list[str] = []
    for part in re.split(r"[/_\-.\s()\[\]:,]+", name):
        out.extend(re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", part))
    return out


@dataclass
class Reading:
    """What the words of one column name say."""

    column: str
    role: str | None
    split: str  # "train" / "val"
    agg: str | None  # "step" / "epoch" / None
    extra: list[str]  # words that did not count
    used: list[str]


def read_name(name: str) -> Reading:
    """The role a column name's words point to (None when they point to none)."""
    ws = words(name)
    low = [w.lower() for w in ws]
    split, agg = "train", None
    rest: list[str] = []
    # a printed qualifier (`FID score (Using valid moments)`) says no split
    n_head = len(words(name[: name.index(" (")])) if name.endswith(")") and " (" in name else None
    for i, w in enumerate(low):
        if n_head is not None and i >= n_head:
            rest.append(w)
        elif w in SPLIT_WORDS and (i == 0 or i == len(low) - 1 or w != "test"):
            split = SPLIT_WORDS[w]
        elif w in AGG_WORDS and i == len(low) - 1 and i > 0:
            agg = AGG_WORDS[w]
        else:
            rest.append(w)
    nets = {"G" for w in rest if w in G_WORDS} | {"D" for w in rest if w in D_WORDS}
    has = lambda group: any(w in group for w in rest)  # noqa: E731
    loss, logit, grad, acc = has(LOSS_WORDS), has(LOGIT_WORDS), has(GRAD_WORDS), has(ACC_WORDS)
    prob = has(OUT_WORDS)
    real, fake = has(REAL_WORDS), has(FAKE_WORDS)
    known = G_WORDS | D_WORDS | LOSS_WORDS | OUT_WORDS | LOGIT_WORDS | GRAD_WORDS | ACC_WORDS
    known |= REAL_WORDS | FAKE_WORDS | _NEUTRAL | {"1", "2"}
    role = None
    if _VETO & set(rest):
        pass
    elif nets == {"G", "D"} and "z" in rest and not loss:
        role = "D_G_z_after" if "2" in rest else "D_G_z_before"
    elif real and fake and nets <= {"D"} and not (grad or logit or prob or acc):
        role = "D_loss"  # both terms in one name (DeblurGAN's `D_real+fake`): D's whole loss
    elif (real or fake) and not grad and nets <= {"D"}:
        if logit:
            role = "D_x_logit" if real else "D_G_z_logit"
        elif loss:
            role = "D_loss_real" if real else "D_loss_fake"
        elif nets == {"D"} or prob:
            role = "D_x" if real else "D_G_z_before"
    elif len(nets) == 1:
        net = next(iter(nets))
        if grad:
            role = f"{net}_grad_norm"
        elif acc:
            role = "D_acc" if net == "D" else None
        elif loss:
            role = f"{net}_loss"
    if role is None and not nets and rest[:1] == ["fid"]:
        role = "fid"  # `FID score`, `fid50k`: weaker than an exact `fid` by the words after it
        known = known | {"fid"}
    extra = [w for w in rest if w not in known]
    if role is None:
        return Reading(name, None, split, agg, extra, [])
    used = [w for w in ws if w.lower() in known - _NEUTRAL]
    return Reading(name, role, split, agg, extra, used)


@dataclass
class Resolution:
    """Roles for a set of columns (see the module docstring)."""

    roles: dict[str, str] = field(default_factory=dict)  # role -> column
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # role -> candidates
    unclaimed: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)  # role -> how it was found
    reserved: list[str] = field(default_factory=list)  # claimed by a known trainer layout
    d_terms: str | None = None  # "sum" / "mean": D_loss_real and D_loss_fake add up to D_loss

    def to_dict(self) -> dict:
        """Plain data for `info --json`: role -> {column, how}, ambiguous, layout, unclaimed."""
        return {
            "roles": {r: {"column": c, "how": self.how[r]} for r, c in self.roles.items()},
            "ambiguous": dict(self.ambiguous),
            "layout_columns": list(self.reserved),
            "unclaimed": list(self.unclaimed),
        }

    def lines(self) -> list[str]:
        """One readable line per role, ambiguity and leftover, for `info`-like output."""
        out = [f"{r}: {c} ({self.how[r]})" for r, c in self.roles.items()]
        out += [
            f"{r}: ambiguous between {', '.join(c)}; settle it with --map {r}=COLUMN"
            for r, c in self.ambiguous.items()
        ]
        if self.reserved:
            out.append(f"read as a known trainer's loss terms: {', '.join(self.reserved)}")
        if self.unclaimed:
            out.append(f"no role: {', '.join(self.unclaimed)}")
        return out


def _role_key(role: str, split: str) -> str:
    return role if split == "train" else f"val/{role}"


def _exact(column: str) -> str | None:
    return exact_role(column)


def _bare_net(name: str) -> str | None:
    """ "G" / "D" when a name is only a network's name (`G`, `discriminator`, `netD`)."""
    ws = [w.lower() for w in words(name)]
    ws = [w for w in ws if w not in _NEUTRAL and w not in SPLIT_WORDS]
    if len(ws) == 1 and ws[0] in G_WORDS:
        return "G"
    if len(ws) == 1 and ws[0] in D_WORDS:
        return "D"
    return None


def resolve_roles(
    columns: Iterable[str],
    explicit: dict[str, str] | None = None,
    source: str = "--map",
    context: str = "",
) -> Resolution:
    """Roles for `columns`; `explicit` (role -> column, from --map or the map file,
    named by `source`) wins over everything and settles ambiguity. `context`: the name of
    the file the columns came from; when its words say loss (`loss.csv`, `losses.txt`),
    a column named only after a network (`G`, `D`, `discriminator`) is that network's loss."""
    loss_file = any(w.lower() in LOSS_WORDS for w in words(context))
    cols = [c for c in dict.fromkeys(columns) if c not in INDEX_COLUMNS]
    res = Resolution()
    taken: set[str] = set()
    lead = source if source == "--map" else f"{source}:"
    for role, col in (explicit or {}).items():
        base = role[4:] if role.startswith("val/") else role
        if base not in ROLES:
            raise GanAnalyzeError(f"{lead} unknown role {role!r}; roles: {', '.join(ROLES)}")
        if col not in cols:
            raise GanAnalyzeError(f"{lead} {role}={col}: no column {col!r} in this run")
        res.roles[role], res.how[role] = col, source
        taken.add(col)
    cands: dict[str, list[tuple[tuple, Reading, str]]] = {}
    for c in cols:
        if c in taken:
            continue
        r = read_name(c)
        canon = _exact(c)
        if canon is not None:
            role, how = _role_key(canon, r.split), "exact name"
            rank: tuple = (0, 0 if c == canon else 1)
        elif r.role is not None:
            role = _role_key(r.role, r.split)
            how = f"from words {', '.join(r.used)}"
            if r.extra:
                how += f" (ignoring {', '.join(r.extra)})"
            # a word naming a regularizer (`G_tv_loss`, `G_l1`, `loss_G_cycle`) makes a weaker
            # candidate than any other extra word: the rules read the adversarial term
            rank = (len(r.extra) + sum(w in REG_WORDS for w in r.extra), 0)
        elif loss_file and _bare_net(c):
            role = _role_key(f"{_bare_net(c)}_loss", r.split)
            how, rank = f"column {c} in the loss file {context}", (0, 2)
        else:
            continue
        cands.setdefault(role, []).append((rank, r, how))
    _bare_pair(cols, taken, cands)
    claimed: set[str] = set(taken)
    for role, group in cands.items():
        if role in res.roles:
            continue
        best = min(g[0][0] for g in group)
        top = [g for g in group if g[0][0] == best]
        if len(top) > 1:
            pref = min(_AGG_PREF[g[1].agg] for g in top)
            bases = {_strip_agg(g[1].column) for g in top}
            if len(bases) == 1 and sum(_AGG_PREF[g[1].agg] == pref for g in top) == 1:
                top = [g for g in top if _AGG_PREF[g[1].agg] == pref]
                others = [g[1].column for g in group if g[1].column != top[0][1].column]
                res.how[role] = f"{top[0][2]}; per-step column preferred over {', '.join(others)}"
        if len(top) > 1:
            res.ambiguous[role] = [g[1].column for g in top]
            claimed.update(g[1].column for g in group)
            continue
        res.roles[role] = top[0][1].column
        res.how.setdefault(role, top[0][2])
        claimed.add(top[0][1].column)
    res.unclaimed = [c for c in cols if c not in claimed]
    return res


def _bare_pair(cols: list[str], taken: set[str], cands: dict[str, list]) -> None:
    """`Epoch 3 | D: 0.61 | G: 2.30`: a log or table that prints one value named only `G` and
    one named only `D` (`netG`, `generator`, ...), and no other G or D loss, prints the two
    networks' losses side by side; they get those roles (D's outputs are printed under their
    own names, `D(x)`, `D(G(z))`). Adds the two candidates to `cands` in place."""
    if {"G_loss", "D_loss"} & set(cands) or {"G_loss", "D_loss"} & taken:
        return
    bare: dict[str, list[str]] = {}
    for c in cols:
        net = _bare_net(c) if c not in taken else None
        if net is not None and read_name(c).split == "train":
            bare.setdefault(net, []).append(c)
    if sorted(bare) != ["D", "G"] or any(len(v) != 1 for v in bare.values()):
        return
    g, d = bare["G"][0], bare["D"][0]
    for net, c in (("G", g), ("D", d)):
        how = f"columns {g} and {d} printed side by side: the networks' losses"
        cands[f"{net}_loss"] = [((9, 0), read_name(c), how)]


def set_map(run, explicit: dict[str, str], source: str) -> None:
    """Record an explicit mapping (from --map or the map file) in `run.role_map`; later calls
    win. Raises GanAnalyzeError (one line) for an unknown role or a column the run lacks."""
    lead = source if source == "--map" else f"{source}:"
    cols = set(run.metrics)
    for role, col in explicit.items():
        if col not in cols:
            raise GanAnalyzeError(
                f"{lead} {role}={col}: no column {col!r} in this run "
                f"(columns: {', '.join(run.metrics) or 'none'})"
            )
    run.role_map = {
        **run.role_map,
        **{r: {"column": c, "source": source} for r, c in explicit.items()},
    }


def run_roles(run) -> Resolution:
    """The roles of `run`'s metric columns (kept in `run.roles_cache` until its columns or
    role map change).

    The explicit map recorded by `set_map` (`run.role_map`) wins; columns claimed by a
    known trainer layout (layouts.GAN_LAYOUTS) are left to that layout. `run` is read
    duck-typed (metrics, role_map, extra, roles_cache): naming stays below `Run`.
    """
    cols = tuple(run.metrics)
    mapping = run.role_map
    key = (cols, repr(sorted(mapping.items())))
    cached = run.roles_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    reserved: set[str] = set()
    if resolve("D_loss", cols) is None:
        reserved = layout_columns(cols)
    explicit = {r: v["column"] for r, v in mapping.items() if v.get("column") in cols}
    # the file the columns came from: a table's, or a loss log's (CycleGAN's loss_log.txt)
    context = Path(str(run.extra.get("table") or run.extra.get("log_file") or "")).name
    keep = [c for c in cols if c not in reserved or c in explicit.values()]
    res = resolve_roles(keep, explicit, context=context)
    for r in explicit:
        res.how[r] = mapping[r]["source"]
    settle_twins(run, res)
    settle_terms(run, res, set(explicit))
    res.reserved = sorted(reserved, key=cols.index)
    run.roles_cache = (key, res)
    return res


def gan_views(run) -> list[GanView]:
    """The GAN(s) the rules judge in `run`: one plain view normally, or those of a matching
    GAN_LAYOUTS entry.

    A run that has a D loss under a canonical name or alias is read as is; so is one whose
    columns the roles (`roles.run_roles`: words, --map, the map file) resolve. A run with
    no D loss but its real and fake terms (`loss_D_real`, `loss_D_fake`) is judged on their
    sum; so is one whose only D-loss candidate names a term beside the adversarial one
    (StarGAN's `D/loss_cls` beside `D/loss_real` and `D/loss_fake`), unless the user mapped it.
    """
    views = layout_views(run.metrics)
    if views is not None and "D_loss" not in run.role_map:
        return views
    roles = run_roles(run).roles
    side = "D_loss" in roles and "D_loss" not in run.role_map and _side_term(roles["D_loss"])
    if ("D_loss" not in roles or side) and "D_loss_real" in roles and "D_loss_fake" in roles:
        terms = (roles["D_loss_real"], roles["D_loss_fake"])
        return [GanView(None, {"D_loss": terms}, "sum", f"D loss = {' + '.join(terms)}")]
    res = run_roles(run)
    if res.d_terms is not None and "D_loss" in roles:  # the D loss beside its logged terms
        terms = f"{roles['D_loss_real']} + {roles['D_loss_fake']}"
        how = terms if res.d_terms == "sum" else f"({terms}) / 2"
        src = f"{roles['D_loss']} = {how}, its logged terms"
        return [GanView(None, {"D_loss": roles["D_loss"]}, res.d_terms, src)]
    return [GanView(None, {})]


def _side_term(column: str) -> bool:
    """Whether a column's name says it is a term beside the adversarial loss (REG_WORDS)."""
    return bool(set(read_name(column).extra) & REG_WORDS)


def ambiguity_warnings(res: Resolution) -> list[str]:
    """One warning line per role left unset because two columns fit it equally well."""
    return [
        f"roles: {r} is ambiguous between {', '.join(c)}; the checks that need it skip it "
        f"(settle it with --map {r}=COLUMN or {MAP_FILE})"
        for r, c in res.ambiguous.items()
    ]


def _strip_agg(column: str) -> str:
    return re.sub(r"[_/\-.](step|epoch)$", "", column)
