"""The truth lab: small real GANs trained on CPU, labelled from their samples, and the
scoreboard of `gananalyze check`'s verdicts on them (issue 22).

  specs.py    the grid of runs (data x loss x outcome x logging style x frequency x length),
              every run reproducible from its seed, and the recipes that induce the outcomes
  recipes.py  checks the recipes: trains a few seeds per (data, loss, outcome) and prints
              what the samples' truth says they became
  data.py     the datasets (2-D ring and grid mixtures, scikit-learn's 8x8 digits, a small table)
  train.py    trains one run (torch, one thread), records its losses, D outputs, gradients
              and fixed-noise samples at checkpoints
  truth.py    the labelling rule: the truth class from the samples and D's outputs alone
              (never imports the rules)
  writers.py  writes a trained run in one logging style (RunLog, TensorBoard, Lightning CSV,
              Keras CSV, stdout lines, a text log with a long preamble)
  build.py    `make lab`: trains the grid into lab/.cache (skips runs already there)
  score.py    `make verdicts`: runs the rules on the cached runs and the zoo; right, wrong
              and abstained per failure type, evidence level, loss type and logging style
  robust.py   whether verdicts survive the same training logged another way (thinned,
              averaged, smoothed, cut while training, a weighted G loss) or with its
              fixed-noise samples saved (`--samples`, `--real`)
  separable.py how far any rule reading the losses alone could go on collapse
  fixtures.py copies a stratified subset of the test half into tests/data/lab
  conditional.py  the conditional runs: digits cGANs (healthy, label input cut, class
              dropped), labelled from their samples, swept per class at build time and
              scored as their own section of `make verdicts` (lab/.cache/cond)

This is a development tool kept beside the package (like bench/), not part of it: it needs
torch and scikit-learn and is never imported by gananalyze.
"""
