"""importers/mlflow_db.py: MLflow's database store (mlflow.db), read-only, newest run."""

from __future__ import annotations

import math
import sqlite3

import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers.mlflow_db import is_mlflow_db
from gananalyze.loader import detect_format, load_run


def _db(path, runs):
    """An SQLite file with MLflow's runs, metrics and params tables (the columns MLflow 3
    writes that the reader uses), `runs`: (uuid, name, start_time, {key: [(step, value)]},
    {param: value})."""
    con = sqlite3.connect(path)
    con.executescript(
        "create table runs (run_uuid varchar(32) primary key, name varchar(250), "
        "experiment_id integer, start_time bigint, lifecycle_stage varchar(20));"
        "create table metrics (key varchar(250), value float, timestamp bigint, "
        "run_uuid varchar(32), step bigint, is_nan boolean);"
        "create table params (key varchar(250), value varchar(8000), run_uuid varchar(32));"
    )
    for uuid, name, start, metrics, params in runs:
        con.execute("insert into runs values (?, ?, 1, ?, 'active')", (uuid, name, start))
        for key, points in metrics.items():
            for step, v in points:
                nan = isinstance(v, float) and math.isnan(v)
                con.execute(
                    "insert into metrics values (?, ?, ?, ?, ?, ?)",
                    (key, 0.0 if nan else v, 1000 * (start + step), uuid, step, nan),
                )
        for k, v in params.items():
            con.execute("insert into params values (?, ?, ?)", (k, v, uuid))
    con.commit()
    con.close()
    return path


def test_the_newest_run_of_a_database_is_read(tmp_path):
    old = ("a" * 32, "first", 100, {"g_loss": [(s, 1.0) for s in range(30)]}, {})
    points = {
        "g_loss": [(s, 1.0 + s / 100) for s in range(0, 300, 10)],
        "d_loss": [(s, float("nan") if s == 290 else 0.6) for s in range(0, 300, 10)],
    }
    new = ("b" * 32, "second", 200, points, {"lr_d": "0.0002", "gan_loss": "lsgan"})
    _db(tmp_path / "mlflow.db", [old, new])
    assert detect_format(tmp_path) == "mlflow"
    for where in (tmp_path, tmp_path / "mlflow.db"):
        r = load_run(where)
        assert (r.name, r.format, r.loss) == ("second (bbbbbbbb)", "mlflow", "lsgan")
        assert r.steps.tolist() == list(range(0, 300, 10))
        assert r.series("g_loss").iloc[-1] == pytest.approx(3.9)
        assert r.config["lr_d"] == 0.0002
        nf = r.nonfinite
        assert nf[nf["metric"] == "d_loss"]["step"].tolist() == [290] and r.counts["d_loss"] == 30
        assert r.extra["source_notes"][1] == "1 older run(s) left out: first (aaaaaaaa)"


def test_other_sqlite_files_are_no_mlflow_store(tmp_path):
    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("create table runs (x)")
    con.commit()
    con.close()
    assert not is_mlflow_db(tmp_path / "other.db")
    (tmp_path / "fake.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    assert not is_mlflow_db(tmp_path / "fake.db")
    _db(tmp_path / "empty.db", [])
    with pytest.raises(GanAnalyzeError, match="empty.db: an MLflow database with no runs"):
        load_run(tmp_path / "empty.db")


def test_rows_whose_value_or_step_is_not_a_number_are_left_out_and_counted(tmp_path):
    # SQLite keeps any type in any column: a text step stopped the run with ValueError
    db = _db(tmp_path / "mlflow.db", [("c" * 32, "r", 1, {"g_loss": [(0, 1.0), (1, 2.0)]}, {})])
    con = sqlite3.connect(db)
    con.execute("insert into metrics values ('g_loss', 3.0, 1, ?, 'x', 0)", ("c" * 32,))
    con.execute("insert into metrics values ('g_loss', 'abc', 1, ?, 2, 0)", ("c" * 32,))
    con.commit()
    con.close()
    r = load_run(tmp_path)
    assert r.steps.tolist() == [0, 1] and r.series("g_loss").tolist() == [1.0, 2.0]
    assert r.warnings == [
        f"{db}: 2 metric row(s) of run {'c' * 32} whose value, step or time is not a number "
        "were left out"
    ]
