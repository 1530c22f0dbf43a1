"""Reading and writing runs on disk.

  runfiles      files inside a run folder: `checked`, `keep_inside`, bounded JSON, output paths
  atomic        atomic writes (temp file, fsync, rename) for every file gananalyze writes
  datatable     real / synthetic data tables (CSV, Parquet) encoded for vector metrics
  store         the native run format: run.json, checkpoints, samples, `load_native`
  parts         Parquet part files: naming, writing, reading, merging scalars
  vectorfiles   vector / sequence samples on disk (samples/*.npy + vectors.jsonl)
  plausibility  values a file holds that cannot be right (flags)
  runlog        `RunLog`: the writing side used inside training code (+ imagegrid)
  convert       `save_run` / `import_run`: any run to the native format

`runfiles`, `atomic` and `datatable` are the files floor (below naming and `Run`); the
rest read and write runs (docs/architecture.md). This file imports nothing.
"""
