"""importers/mlflowimages.py: images logged with mlflow.log_image(key=, step=) are samples."""

from __future__ import annotations

import io

from PIL import Image
from test_mlflow_db import _db

from gananalyze.loader import load_run


def _png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (10, 10), shade).save(buf, format="PNG")
    return buf.getvalue()


def _log_images(artifacts, key, steps, ts0=1000):
    """The files MLflow 3's log_image writes: the PNG and its +compressed.webp thumbnail."""
    images = artifacts / "images"
    images.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(steps):
        stem = (
            f"{key.replace('/', '~')}+step+{s}+timestamp+{ts0 + i}+0b2f6c1e-aaaa-4bbb-8ccc-{i:012d}"
        )
        (images / f"{stem}.png").write_bytes(_png(10 * i))
        (images / f"{stem}+compressed.webp").write_bytes(b"not read")


def test_logged_images_of_a_database_run_are_its_samples(tmp_path):
    uuid = "c" * 32
    points = {
        "g_loss": [(s, 1.0) for s in range(0, 400, 25)],
        "d_loss": [(s, 0.6) for s in range(0, 400, 25)],
    }
    _db(tmp_path / "mlflow.db", [(uuid, "cgan", 100, points, {})])
    arts = tmp_path / "mlruns" / "1" / uuid / "artifacts"
    _log_images(arts, "samples", [0, 200, 375])
    _log_images(arts, "debug/real", [0])
    # step 200 logged twice: the later timestamp wins
    _log_images(arts, "samples", [200], ts0=5000)
    r = load_run(tmp_path)
    assert [g.step for g in r.samples] == [0, 200, 375]
    assert {g.tag for g in r.samples} == {"samples"}
    assert "timestamp+5000+" in r.samples[1].path.name
    assert not any(g.path.name.endswith(".webp") for g in r.samples)
    assert r.extra["source_notes"][-1] == (
        "3 sample grid(s) attached from MLflow's logged images, key 'samples', steps 0..375 "
        "(other keys: debug/real)"
    )


def test_logged_images_of_a_file_store_run_with_the_old_separators(tmp_path):
    run = tmp_path / "mlruns" / "0" / ("d" * 32)
    (run / "metrics").mkdir(parents=True)
    (run / "meta.yaml").write_text("run_name: old\n")
    (run / "metrics" / "d_loss").write_text(
        "".join(f"{1000 + s} 0.6 {s}\n" for s in range(0, 300, 10))
    )
    (run / "metrics" / "g_loss").write_text(
        "".join(f"{1000 + s} 1.2 {s}\n" for s in range(0, 300, 10))
    )
    images = run / "artifacts" / "images"
    images.mkdir(parents=True)
    for s in (0, 100, 290):  # MLflow 2.x: '%' between the fields, '#' for a key's '/'
        (
            images
            / f"gen#grid%step%{s}%timestamp%{2000 + s}%1f2e3d4c-0000-4000-8000-000000000000.png"
        ).write_bytes(_png(s % 255))
    r = load_run(run)
    assert [g.step for g in r.samples] == [0, 100, 290]
    assert r.samples[0].tag == "gen/grid"


def test_a_run_without_logged_images_has_no_samples(tmp_path):
    _db(tmp_path / "mlflow.db", [("e" * 32, "x", 100, {"g_loss": [(0, 1.0), (10, 1.1)]}, {})])
    (tmp_path / "mlruns" / "1" / ("e" * 32) / "artifacts" / "images").mkdir(parents=True)
    assert load_run(tmp_path).samples == []
