"""Presentation: the report and compare pages, every terminal renderer (text.py), the
one chart engine (plots.py) and the templates. Pages read analyses; they decide nothing."""
