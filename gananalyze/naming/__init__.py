"""Column naming, below `Run`: what a column is called and what it means.

  aliases   canonical metric names, their aliases, labels, higher-is-better
  layouts   trainers that name their losses differently (GAN_LAYOUTS, GanView)
  roles     which column plays which role (G loss, D(x), ...) for any naming; --map and
            the run's gananalyze.yaml; the GAN views the rules judge (gan_views)
  settle    roles the values settle: one loss printed twice, D-output names that are the
            D loss's terms

Functions here read names only (and a run's columns and role map, duck-typed); they never
import `Run` or anything above it (docs/architecture.md). This file imports nothing.
"""
