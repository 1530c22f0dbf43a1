"""importers/mdcode.py: a Markdown document is prose around code; only its code blocks can
hold a training log (stdout saved under a .md name is read whole)."""

from __future__ import annotations

import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers.mdcode import code_only, is_markdown, log_view
from gananalyze.loader import load_run

DOC = """# Results

The run diverged: D loss 3 -> 11, G loss 7e-5 at step 650.

```
[0/5][0/100] Loss_D: 1.38 Loss_G: 0.69
[0/5][50/100] Loss_D: 1.20 Loss_G: 0.90
```

    [1/5][0/100] Loss_D: 1.10 Loss_G: 1.00

| lr | FID |
| --- | --- |
| 2e-4 | 31.5 |
"""


def test_only_code_blocks_of_a_markdown_document_are_read():
    assert is_markdown(DOC) and not is_markdown("epoch 1: loss_D: 0.4, loss_G: 0.3\n")
    lines = code_only(DOC).split("\n")
    assert len(lines) == len(DOC.split("\n"))  # line numbers kept
    assert [x for x in lines if x] == [
        "[0/5][0/100] Loss_D: 1.38 Loss_G: 0.69",
        "[0/5][50/100] Loss_D: 1.20 Loss_G: 0.90",
        "    [1/5][0/100] Loss_D: 1.10 Loss_G: 1.00",
    ]
    plain = "Start ep num  1\nloss_D: 0.405, loss_G_fake: 0.300\n"
    assert log_view("train.md", plain) == plain  # stdout saved as .md: read whole
    assert log_view("train.log", DOC) == DOC


def test_a_docs_folder_is_no_run_and_a_documents_code_block_is_its_log(tmp_path):
    # prose quoting numbers (and the tool's own transcripts, which print no loss) made a
    # docs folder a "training run" whose metrics were named "of", "in", "the"
    (tmp_path / "docs").mkdir()
    prose = "\n".join(
        f"Step {i}: the FID of run {i} is {30 + i} and its cost {i} s." for i in range(40)
    )
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n" + prose + "\n")
    with pytest.raises(GanAnalyzeError, match="not a training run"):
        load_run(tmp_path / "docs")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.md").write_text(DOC)
    r = load_run(tmp_path / "run")
    assert r.format == "textlog" and len(r.scalars) == 3
