# %% [markdown]
# # gananalyze in a notebook
#
# A script in cell form (`# %%` cells: Jupyter, VS Code and jupytext open it as a
# notebook). Run from the repository's root; `tests/test_notebook.py` executes every
# cell. The objects show themselves as HTML in a notebook: the diagnosis with CSS
# scoped to its own root, the report in an isolated frame, so the notebook keeps
# its own style.

# %%
import gananalyze

run, diagnosis = gananalyze.analyze("sample_runs/mode-collapse")
diagnosis  # the verdict and each finding, with its steps and numbers

# %% [markdown]
# One row per finding, most severe first: rule, severity, title, start_step,
# end_step, message, action, numbers (a dict) and metrics.

# %%
findings = diagnosis.to_frame()
findings[["rule", "severity", "start_step", "end_step", "title"]]

# %% [markdown]
# The run itself: `run.scalars` is a DataFrame with one row per logged step,
# `run.sample_metrics` the FID sweep's results (one row per checkpoint).

# %%
run.scalars[["step", "G_loss", "D_loss", "D_x"]].describe()

# %%
run.sample_metrics[["step", "fid", "precision", "recall"]].sort_values("fid").head(3)

# %% [markdown]
# The HTML report (the page `gananalyze report` writes), shown inline; `save`
# writes it as a file. `tsne=False` skips the t-SNE, which rebuilds the generator
# from the checkpoints (it needs the `fid` extra).

# %%
report = gananalyze.report("sample_runs/mode-collapse", tsne=False)
report

# %%
report.save("reports/mode-collapse.html")
