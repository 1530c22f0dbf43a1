"""Importers: read the files other trainers write into a `Run`.

REGISTRY maps a format name to a module with two functions:
    detect(path: Path) -> bool   cheap check: does this look like my format?
    load(path: Path) -> Run      read it (warnings and flags on the Run, no traceback)
Order matters: load_run tries them in this order after the native format.
StyleGAN comes before TensorBoard because a StyleGAN run directory also holds
an event file; `stylegan-log` (log.txt / metric-*.jsonl without stats.jsonl)
comes after it. The table-shaped formats (W&B export, CTGAN, epoch/iter CSV,
Keras, and `csv-rows` for a table with no step or epoch column at all) claim a
table by its column names before the generic table importer, which comes last.
`coqui-log` (coqui trainer's trainer_0_log.txt: a GLOBAL_STEP header over one value a
line) and `vits-log` (VITS-family train.log: unnamed loss lists) comes before `textlog` (stdout
logs of `key: value` lines), which comes after every named log format;
`split-files` (a folder of one-metric files, d_loss.txt and g_loss.txt) after it.
`lightning` (a run root or lightning_logs/ with several loggers, or .ckpt files) comes
before the loggers' own formats it dispatches to (tensorboard, mlflow, csv). `edgeconnect`
(EdgeConnect's headerless `log_<model>.dat`) is claimed by its file name.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    chainer,
    coquilog,
    ctgan,
    cyclegan,
    edgeconnect,
    epochiter,
    keras,
    lightning,
    mlflow,
    rowtable,
    splitfiles,
    stylegan,
    stylegan_log,
    table,
    tensorboard,
    textlog,
    vitslog,
    wandb,
)

REGISTRY: dict[str, ModuleType] = {
    "stylegan": stylegan,
    "stylegan-log": stylegan_log,
    "cyclegan": cyclegan,
    "lightning": lightning,
    "tensorboard": tensorboard,
    "chainer": chainer,
    "edgeconnect": edgeconnect,
    "mlflow": mlflow,
    "wandb": wandb,
    "ctgan": ctgan,
    "epoch-iter": epochiter,
    "keras": keras,
    "coqui-log": coquilog,
    "vits-log": vitslog,
    "textlog": textlog,
    "split-files": splitfiles,
    "csv-rows": rowtable,
    "csv": table,
}
