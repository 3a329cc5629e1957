"""nb101 download against a local HTTP server (127.0.0.1) serving a small official-format file:
resume (HTTP Range), size and SHA256 checks, conversion into the cache folder, the CLI."""

from __future__ import annotations

import hashlib
import http.server
import threading

import numpy as np
import pytest

from nb101 import TabularBenchmark
from nb101.cli import main
from nb101.download import (
    OFFICIAL_FILES,
    ChecksumError,
    DownloadError,
    default_table_path,
    download,
    fetch,
    resolve_official_file,
)
from nb101.model_spec import trainable_parameters
from nb101.protocol import METRICS
from nb101.run_records import Run, encode_run
from nb101.tfrecord import frame_record


@pytest.fixture(scope="module")
def payload(space) -> bytes:
    """A small file in the official format: 6 cells x 3 repeats at 108 epochs."""
    rng = np.random.default_rng(0)
    records = []
    for index in (0, 1, 1000, 20_000, 300_000, len(space) - 1):
        spec = space.spec(index)
        for _ in range(3):
            fields = {
                f"{w}_{m}": float(np.float32(rng.uniform(0.1, 0.95)))
                for w in ("halfway", "final")
                for m in METRICS
            }
            run = Run(
                module_hash=space.hash(index),
                epochs=108,
                adjacency=spec.matrix,
                operations=spec.ops,
                trainable_parameters=trainable_parameters(spec),
                total_time=1.0,
                **fields,
            )
            records.append(frame_record(encode_run(run)))
    return b"".join(records)


class _Server:
    """What the handler serves and how it misbehaves; the requests it saw."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.cut_after: int | None = None  # close the first response after this many bytes
        self.ignore_range = False
        self.requests: list[str | None] = []  # the Range header of each GET


def _handler(state: _Server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path != "/nasbench_only108.tfrecord":
                self.send_error(404)
                return
            data = state.payload
            header = self.headers.get("Range")
            state.requests.append(header)
            start = 0
            if header and not state.ignore_range:
                start = int(header.removeprefix("bytes=").removesuffix("-"))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if state.cut_after is not None:
                body, state.cut_after = body[: state.cut_after], None  # then hang up
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):  # keep the test output clean
            pass

    return Handler


@pytest.fixture()
def server(payload):
    state = _Server(payload)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/nasbench_only108.tfrecord"
    state.sha256 = hashlib.sha256(payload).hexdigest()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def test_official_files_are_those_of_the_facts():
    assert (
        OFFICIAL_FILES["only108"].url
        == "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
    )
    assert (
        OFFICIAL_FILES["full"].sha256
        == "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c"
    )
    with pytest.raises(ValueError, match=r"unknown official file 'half'; choices: \['full'"):
        resolve_official_file("half")


def test_download_and_convert_into_the_cache(server, payload, space, tmp_path, monkeypatch):
    monkeypatch.setenv("NB101_CACHE", str(tmp_path / "cache"))
    space.save(tmp_path / "cache" / space.path.name)  # the conversion finds it, not builds it
    tfrecord, table = download(url=server.url, sha256=server.sha256)
    assert tfrecord == tmp_path / "cache" / "nasbench_only108.tfrecord"
    assert tfrecord.read_bytes() == payload
    assert table == default_table_path("only108") and table.parent == tmp_path / "cache"
    bench = TabularBenchmark(table)
    assert bench.valid_epochs == frozenset({108}) and bench.table.num_runs == 18
    assert not list((tmp_path / "cache").glob("*.part"))
    assert server.requests == [None]
    # again: the file is only verified, the table kept
    assert download(url=server.url, sha256=server.sha256) == (tfrecord, table)
    assert server.requests == [None]


def test_interrupted_transfer_resumes_with_a_range(server, payload, tmp_path):
    server.cut_after = 1000
    dest = fetch(server.url, tmp_path / "f.tfrecord", server.sha256, backoff=0, progress=True)
    assert dest.read_bytes() == payload
    assert server.requests == [None, "bytes=1000-"]


def test_existing_part_file_is_resumed(server, payload, tmp_path):
    (tmp_path / "f.tfrecord.part").write_bytes(payload[:777])
    dest = fetch(server.url, tmp_path / "f.tfrecord", server.sha256, backoff=0)
    assert dest.read_bytes() == payload
    assert server.requests == ["bytes=777-"]
    assert not (tmp_path / "f.tfrecord.part").exists()


def test_complete_part_file_is_only_checked(server, payload, tmp_path):
    (tmp_path / "f.tfrecord.part").write_bytes(payload)
    assert fetch(server.url, tmp_path / "f.tfrecord", server.sha256).read_bytes() == payload
    assert server.requests == [f"bytes={len(payload)}-"]


def test_server_without_ranges_starts_again(server, payload, tmp_path):
    server.ignore_range = True
    (tmp_path / "f.tfrecord.part").write_bytes(b"x" * 500)
    assert fetch(server.url, tmp_path / "f.tfrecord", server.sha256).read_bytes() == payload


def test_part_file_longer_than_the_file_starts_again(server, payload, tmp_path):
    (tmp_path / "f.tfrecord.part").write_bytes(payload + b"junk")
    dest = fetch(server.url, tmp_path / "f.tfrecord", server.sha256, backoff=0)
    assert dest.read_bytes() == payload
    assert server.requests == [f"bytes={len(payload) + 4}-", None]


def test_wrong_checksum_names_the_file_and_both_digests(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        fetch(server.url, tmp_path / "f.tfrecord", wrong)
    message = str(info.value)
    assert "f.tfrecord" in message and wrong in message and server.sha256 in message
    assert info.value.expected == wrong and info.value.got == server.sha256
    assert not list(tmp_path.iterdir())  # neither a final file nor a part file


def test_corrupt_part_file_fails_the_checksum_and_is_deleted(server, payload, tmp_path):
    (tmp_path / "f.tfrecord.part").write_bytes(b"\0" * 100)  # not a prefix of the file
    with pytest.raises(ChecksumError):
        fetch(server.url, tmp_path / "f.tfrecord", server.sha256)
    assert not list(tmp_path.iterdir())
    assert fetch(server.url, tmp_path / "f.tfrecord", server.sha256).read_bytes() == payload


def test_existing_wrong_file_is_reported_not_replaced(server, tmp_path):
    (tmp_path / "f.tfrecord").write_bytes(b"something else")
    with pytest.raises(ChecksumError, match="delete it to download it again"):
        fetch(server.url, tmp_path / "f.tfrecord", server.sha256)
    assert (tmp_path / "f.tfrecord").read_bytes() == b"something else"
    assert server.requests == []


def test_unreachable_or_missing_file_is_a_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url.replace("only108", "nope"), tmp_path / "f", server.sha256)
    with pytest.raises(DownloadError, match="missing.tfrecord"):
        fetch((tmp_path / "missing.tfrecord").as_uri(), tmp_path / "g", server.sha256)
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        fetch(server.url, tmp_path / "f", "abc")


def test_gives_up_after_bounded_retries(server, tmp_path, monkeypatch):
    import nb101.download as dl

    def never(url, part, timeout, bar):
        raise dl._Interrupted("connection reset")

    monkeypatch.setattr(dl, "_attempt", never)
    with pytest.raises(DownloadError, match="gave up after 3 attempts"):
        fetch(server.url, tmp_path / "f", server.sha256, retries=2, backoff=0)


def test_file_url_mirror(payload, tmp_path):
    mirror = tmp_path / "mirror.tfrecord"
    mirror.write_bytes(payload)
    dest = fetch(
        mirror.as_uri(), tmp_path / "out" / "f.tfrecord", hashlib.sha256(payload).hexdigest()
    )
    assert dest.read_bytes() == payload


def test_cli_download(server, payload, tmp_path, capsys):
    out = tmp_path / "tables" / "only108.npz"
    assert (
        main(
            [
                "download",
                "--url",
                server.url,
                "--sha256",
                server.sha256,
                "--download-dir",
                str(tmp_path / "files"),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert f"table: {out}" in printed and str(tmp_path / "files") in printed
    assert (tmp_path / "files" / "nasbench_only108.tfrecord").read_bytes() == payload
    assert TabularBenchmark(out).table.num_runs == 18
    assert (
        main(
            [
                "download",
                "--url",
                server.url,
                "--sha256",
                "1" * 64,
                "--download-dir",
                str(tmp_path / "other"),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "SHA256 mismatch" in capsys.readouterr().err
