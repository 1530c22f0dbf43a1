"""A real S3-compatible server on the loopback address for the tests (moto's server mode).

`s3_server(tmp_path)` starts moto's ThreadedMotoServer on 127.0.0.1 (a free port),
points the S3 client at it through environment variables (dummy credentials), and
stops it afterwards. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto S3 server; environment set for boto & s3fs."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] not installed")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(k, raising=False)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # a cached client would keep an older endpoint
    try:
        yield endpoint
    finally:
        server.stop()
        s3fs.S3FileSystem.clear_instance_cache()


def upload(endpoint: str, local: Path, bucket: str, prefix: str) -> None:
    """Upload the directory `local` to s3://bucket/prefix/ (creating the bucket)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    for f in sorted(local.rglob("*")):
        if f.is_file():
            s3.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(local).as_posix()}")
