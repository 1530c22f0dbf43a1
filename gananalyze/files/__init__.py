"""Files, the floor under everything that reads or writes a run.

  runfiles   files inside a run folder: `checked`, `keep_inside`, bounded JSON, output paths
  atomic     atomic writes (temporary name, fsync, rename) for every file gananalyze writes
  datatable  real / synthetic data tables (CSV, Parquet, .npy) a user names, encoded for
             vector metrics

Nothing here knows what a run means (docs/architecture.md).
"""
