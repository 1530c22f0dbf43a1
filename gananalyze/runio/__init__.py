"""Reading and writing runs on disk (files inside a run are read through `files.runfiles`).

  store         the native run format: run.json, checkpoints, samples, `load_native`
  parts         Parquet part files: naming, writing, reading, merging scalars
  vectorfiles   vector / sequence samples on disk (samples/*.npy + vectors.jsonl)
  plausibility  values a file holds that cannot be right (flags)
  runlog        `RunLog`: the writing side used inside training code (+ imagegrid: the
                tiling of a sample batch into one image)
  convert       `save_run`: any run to the native format (`loader.import_run` reads, then saves)
  tsnecache     the report's t-SNE embeddings, kept in the run's metrics/ folder

The importers/ package, loader.py, remote.py and consent.py are on this floor too
(docs/architecture.md). This file imports nothing.
"""
