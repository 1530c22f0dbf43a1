"""runfiles: files that resolve outside a run are never read."""

from __future__ import annotations

import os

from gananalyze.files import runfiles


def test_symlink_out_of_the_run_is_left_out_with_a_warning(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    (run / "ok.txt").write_text("fine")
    os.symlink(secret, run / "train_opt.txt")
    os.symlink(run / "ok.txt", run / "alias.txt")  # a link that stays inside is fine
    warnings: list[str] = []
    kept = runfiles.keep_inside(run, sorted(run.iterdir()), warnings)
    assert [p.name for p in kept] == ["alias.txt", "ok.txt"]
    assert warnings == [
        "train_opt.txt: not read: it is a link that resolves outside the run folder"
    ]
    assert runfiles.checked(run, run / "train_opt.txt") is None
    assert runfiles.checked(run, run / "ok.txt") == run / "ok.txt"


def test_symlink_loop_is_outside(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert not runfiles.is_inside(tmp_path, tmp_path / "a")


def test_plain_files_in_a_linked_folder_are_judged_by_the_folder(tmp_path):
    # keep_inside resolves each listed folder once and not every plain file in it (20,000
    # sample images took 12 s): a plain file is inside exactly when its folder resolves
    # inside, so the files of a folder linked out of the run are left out one by one
    run, outside = tmp_path / "run", tmp_path / "elsewhere"
    (run / "logs").mkdir(parents=True)
    outside.mkdir()
    (outside / "stats.jsonl").write_text("{}")
    (run / "logs" / "train.log").write_text("G loss: 1")
    os.symlink(outside, run / "linked")
    os.mkfifo(run / "logs" / "pipe.log")
    warnings: list[str] = []
    kept = runfiles.keep_inside(run, sorted(run.glob("*/*")), warnings)
    assert kept == [run / "logs" / "train.log"]
    assert warnings == [
        "linked/stats.jsonl: not read: it is a link that resolves outside the run folder",
        "logs/pipe.log: not read: not a regular file (a FIFO, device or socket)",
    ]


def test_file_index_keeps_good_records_and_counts_past_ten_bad_lines(tmp_path):
    index = tmp_path / "index.jsonl"
    lines = ['{"file": "a.png", "n": 2}', ""] + ["not json"] * 11 + ['{"n": 1}']
    index.write_text("\n".join(lines) + "\n")

    def parse(rec):
        if not isinstance(rec["n"], int):
            raise TypeError("a field has the wrong type")
        return rec["file"], rec["n"]

    warnings: list[str] = []
    damaged: list[tuple[str, str]] = []
    out = runfiles.read_file_index(tmp_path, index, parse, warnings, damaged, "bad index line")
    assert out == {"a.png": 2}
    assert len(warnings) == 11
    assert warnings[0].startswith(f"{index}:3: unreadable line skipped (")
    assert warnings[-1] == f"... and 2 more unreadable lines in {index}"
    assert len(damaged) == 12
    assert damaged[-1] == (f"{index}:14", "bad index line")
    assert runfiles.read_file_index(tmp_path, tmp_path / "none.jsonl", parse, [], None, "x") == {}
