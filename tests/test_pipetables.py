"""Tables printed with pipes in a text log (importers/pipetables.py): the view line for
line, and the runs the text reader builds from it (logs written here in each shape)."""

from __future__ import annotations

from gananalyze.analysis.rules import diagnose
from gananalyze.importers import pipetables
from gananalyze.loader import load_run
from gananalyze.naming.roles import gan_views, run_roles

ACGAN_HEAD = "component              | loss | generation_loss | auxiliary_loss"


def acgan_log(epochs: list[tuple[float, float]]) -> str:
    """Keras' ACGAN example's print, per epoch (G's and D's generation_loss)."""
    out = []
    for e, (g, d) in enumerate(epochs, start=1):
        out += [
            f"Epoch {e} of 50",
            "599/600 [============================>.] - ETA: 0s",
            f"Testing for epoch {e}:",
            ACGAN_HEAD,
            "-" * 65,
            f"generator (train)      | {g + 2.3:.2f} | {g:.2f}            | 2.30 ",
            f"generator (test)       | {g + 2.4:.2f} | {g + 0.1:.2f}            | 2.30 ",
            f"discriminator (train)  | {d + 1.2:.2f} | {d:.2f}            | 1.20 ",
            f"discriminator (test)   | {d + 1.1:.2f} | {d:.2f}            | 1.10 ",
        ]
    return "\n".join(out) + "\n"


def test_rows_under_a_header_become_pairs():
    text = "\n".join(
        [
            "Testing for epoch 1:",
            ACGAN_HEAD,
            "-" * 65,
            "generator (train)      | 8.35 | 6.03            | 2.32 ",
            "discriminator (test)   | 1.20 | 0.00            | 1.20 ",
            "Epoch 2 of 50",
        ]
    )
    assert pipetables.view(text).splitlines() == [
        "Testing for epoch 1:",
        ACGAN_HEAD,
        "-" * 65,
        "generator_train_loss: 8.35, generator_train_generation_loss: 6.03, "
        "generator_train_auxiliary_loss: 2.32",
        "discriminator_test_loss: 1.20, discriminator_test_generation_loss: 0.00, "
        "discriminator_test_auxiliary_loss: 1.20",
        "Epoch 2 of 50",
    ]


def test_space_separated_header_and_cells_past_its_names():
    text = "D_loss       acc     G_loss\n0.004051 | 100 | 6.248324 | 2 days,   12:04:16.416641\n"
    assert (
        pipetables.view(text)
        == "D_loss       acc     G_loss\nD_loss: 0.004051, acc: 100, G_loss: 6.248324\n"
    )


def test_markdown_style_table_and_its_end():
    text = "| step | d_loss | g_loss |\n|---|---|---|\n| 1 | 0.5 | 0.7 |\n| 2 | 0.4 | 90% |\n"
    text += "end\n| 3 | 0.4 | 0.9 |"
    assert pipetables.view(text).splitlines() == [
        "| step | d_loss | g_loss |",
        "|---|---|---|",
        "step: 1, d_loss: 0.5, g_loss: 0.7",
        "step: 2, d_loss: 0.4, g_loss: 90",
        "end",
        "| 3 | 0.4 | 0.9 |",  # after the table ended: no header above it
    ]


def test_lines_with_pipes_and_no_header_pass_unchanged():
    text = "Training\nEpoch 1 | D loss 0.5 | G loss 0.7\nEpoch 2 | D loss 0.4 | G loss 0.9\n"
    assert pipetables.view(text) == text
    assert pipetables.view("no pipes here\n") == "no pipes here\n"


def test_acgan_table_read_as_a_run(tmp_path):
    (tmp_path / "train_output.txt").write_text(acgan_log([(6.0 + 0.2 * e, 0.01) for e in range(6)]))
    r = load_run(tmp_path)
    assert (r.format, r.step_unit) == ("textlog", "epoch")
    assert r.steps.tolist() == [1, 2, 3, 4, 5, 6]
    assert r.scalars["generator_train_generation_loss"].tolist() == [6.0, 6.2, 6.4, 6.6, 6.8, 7.0]
    assert r.scalars["discriminator_test_auxiliary_loss"].tolist() == [1.1] * 6
    # the layout reads the train rows' generation_loss; its totals and auxiliary terms are
    # claimed, so no role reads a total (generation + auxiliary) as the G or D loss
    (view,) = gan_views(r)
    assert view.columns == {
        "D_loss": "discriminator_train_generation_loss",
        "G_loss": "generator_train_generation_loss",
    }
    assert view.reduction == "mean"
    assert r.column("G_loss") is None and r.column("D_loss") is None
    assert len(run_roles(r).reserved) == 12
    d = diagnose(r)
    (f,) = [f for f in d.findings if f.rule == "d_overpowering"]
    assert f.message.startswith(
        "D wins in every logged row: D loss (discriminator_train_generation_loss) at most 0.01"
    )
    assert "Judged from 6 points" in f.message


def test_a_chunk_read_with_the_lines_above_it_sees_what_the_whole_text_view_sees():
    """Detection reads a log's head a chunk at a time (`view_lines`, with the ABOVE lines
    before the chunk), loading reads it whole (`view`): both must see the same rows, wherever
    the chunk starts in a table shorter than ABOVE."""
    texts = [
        acgan_log([(6.0, 0.01), (6.5, 0.0)]),
        "D_loss       acc     G_loss\n0.004 | 100 | 6.2 | 2 days, 12:04:16\n\n0.5 | 1 | 2\n",
        "| step | d_loss |\n|---|---|\n| 1 | 0.5 |\nx  y\n| 2 | 0.4 |\n100%|####| 600/600\n",
    ]
    for text in texts:
        whole = pipetables.view(text).split("\n")
        lines = text.split("\n")
        for cut in range(1, len(lines)):
            got = pipetables.view_lines(lines[cut:], lines[max(0, cut - pipetables.ABOVE) : cut])
            assert got == whole[cut:], (text, cut)


def test_a_table_of_words_is_no_table_of_values():
    summary = (
        "  | Name          | Type          | Params\n"
        "------------------------------------------------\n"
        "0 | generator     | Generator     | 1.5 M \n"
        "1 | discriminator | Discriminator | 1.2 M \n"
    )
    assert pipetables.view(summary) == summary  # Lightning's model summary
