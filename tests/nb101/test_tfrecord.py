"""Tests of nb101.tfrecord (framing), nb101.run_records (payloads) and nb101.model_metrics
(their protobuf) against the facts in docs/nb101_facts.md sections 1 and 2."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct

import google_crc32c
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nb101 import run_records, tfrecord
from nb101.errors import RecordError
from nb101.model_metrics import decode_model_metrics, encode_model_metrics
from nb101.run_records import (
    Run,
    encode_payload,
    encode_run,
    parse_payload,
    read_records,
    write_runs,
)
from nb101.tfrecord import crc32c, frame_record, iter_records, masked_crc32c, write_records

# The real 401-byte payload of facts section 1.3; "\n" are JSON escapes inside the string.
SAMPLE_TEXT = (
    '["00005c142e6f48ac74fdcf73e3439874", 4, '
    '"0100110001000000010010000010000001000000010000000", '
    '"input,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu,output", '
    '"Ci0JAAAAAAAAAAARAAAAAAAAAAAZAAAAoKqquT8hAAAAYJAGuT8pAAAAAGmQuT8KLQkAAAAAAAAA\\n'
    "QBEAAADAdJNGQBkAAABgkAa6PyEAAAAg3/K6PykAAACAy7e6PwotCQAAAAAAABBAEQAAACDbeVZA\\n"
    'GQAAAEAaZNY/IQAAAGBVVdY/KQAAAODybdY/EIqYigQZAABAhznbeUA=\\n"]'
)
SAMPLE = SAMPLE_TEXT.encode("utf-8")
SAMPLE_SHA256 = "9a46bc1aa74daf6e6e1cfbe008c43b6125e11b15907d190a44b1ab3fabf1781d"
SAMPLE_ADJ = np.array(
    [
        [0, 1, 0, 0, 1, 1, 0],
        [0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.int8,
)
SAMPLE_OPS = [
    "input",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "conv3x3-bn-relu",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "output",
]
SAMPLE_RUN = Run(
    module_hash="00005c142e6f48ac74fdcf73e3439874",
    epochs=4,
    adjacency=SAMPLE_ADJ,
    operations=SAMPLE_OPS,
    trainable_parameters=8555530,
    total_time=413.7015450000763,
    halfway_training_time=45.152000427246094,
    halfway_train_accuracy=0.10166265815496445,
    halfway_validation_accuracy=0.10526842623949051,
    halfway_test_accuracy=0.10436698794364929,
    final_training_time=89.90399932861328,
    final_train_accuracy=0.3498597741127014,
    final_validation_accuracy=0.3489583432674408,
    final_test_accuracy=0.3504607379436493,
)
SAMPLE_EVAL0 = {
    "current_epoch": 0.0,
    "training_time": 0.0,
    "train_accuracy": 0.1002604141831398,
    "validation_accuracy": 0.09775640815496445,
    "test_accuracy": 0.09985977411270142,
    "checkpoint_path": None,
}


def _sample_metrics_bytes() -> bytes:
    return base64.b64decode(json.loads(SAMPLE_TEXT)[4])


def _acc(rng: np.random.Generator) -> float:
    return float(np.float32(rng.integers(0, 9985) / 9984))


def _fixture_runs() -> list[Run]:
    rng = np.random.default_rng(0)
    cells = [
        (SAMPLE_ADJ, SAMPLE_OPS),
        (
            [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
            ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"],
        ),
        ([[0, 1], [0, 0]], ["input", "output"]),
        (
            [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
            ["input", "conv1x1-bn-relu", "output"],
        ),
    ]
    runs = []
    for c, (adj, ops) in enumerate(cells):
        module_hash = hashlib.md5(str(c).encode()).hexdigest()
        for epochs in (4, 12, 36, 108):
            for _ in range(3):
                t_half, t_final = sorted(float(np.float32(x)) for x in rng.uniform(1, 5000, 2))
                runs.append(
                    Run(
                        module_hash=module_hash,
                        epochs=epochs,
                        adjacency=adj,
                        operations=ops,
                        trainable_parameters=int(rng.integers(1, 50_000_000)),
                        total_time=float(rng.uniform(1, 20000)),
                        halfway_training_time=t_half,
                        halfway_train_accuracy=_acc(rng),
                        halfway_validation_accuracy=_acc(rng),
                        halfway_test_accuracy=_acc(rng),
                        final_training_time=t_final,
                        final_train_accuracy=_acc(rng),
                        final_validation_accuracy=_acc(rng),
                        final_test_accuracy=_acc(rng),
                    )
                )
    return runs


@pytest.fixture()
def fixture_file(tmp_path):
    runs = _fixture_runs()
    path = tmp_path / "fixture.tfrecord"
    assert write_runs(path, runs) == len(runs)
    return path, runs


def _assert_record_error(excinfo, path, *parts: str) -> None:
    message = str(excinfo.value)
    assert str(path) in message, message
    for part in parts:
        assert part in message, message


# --------------------------------------------------------------------------- CRC


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(memoryview(b"123456789")) == crc32c(bytearray(b"123456789")) == 0xE3069283
    assert masked_crc32c(struct.pack("<Q", 401)) == 0x9BED2598


def test_crc32c_is_google_crc32c():
    rng = np.random.default_rng(1)
    for n in list(range(0, 40)) + [63, 64, 65, 401, 4096, 100_003]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(data) == google_crc32c.value(data), n


# --------------------------------------------------------------------------- real record


def test_real_record_framing(tmp_path):
    assert len(SAMPLE) == 401
    framed = frame_record(SAMPLE)
    assert len(framed) == 417
    assert framed[:12] == bytes.fromhex("91 01 00 00 00 00 00 00 98 25 ed 9b")
    assert framed[-4:] == bytes.fromhex("68 16 69 03")
    assert hashlib.sha256(framed).hexdigest() == SAMPLE_SHA256
    path = tmp_path / "sample.tfrecord"
    write_records(path, [SAMPLE])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SAMPLE_SHA256
    assert list(iter_records(path)) == [SAMPLE]


def test_real_record_decodes_to_listed_values(tmp_path):
    run = parse_payload(SAMPLE)
    assert run == SAMPLE_RUN
    assert run.module_hash == "00005c142e6f48ac74fdcf73e3439874"
    assert run.epochs == 4
    assert run.adjacency.dtype == np.int8
    np.testing.assert_array_equal(run.adjacency, SAMPLE_ADJ)
    assert run.operations == SAMPLE_OPS
    assert run.trainable_parameters == 8555530
    assert run.total_time == 413.7015450000763
    assert run.halfway_training_time == 45.152000427246094
    assert run.halfway_train_accuracy == 0.10166265815496445
    assert run.halfway_validation_accuracy == 0.10526842623949051
    assert run.halfway_test_accuracy == 0.10436698794364929
    assert run.final_training_time == 89.90399932861328
    assert run.final_train_accuracy == 0.3498597741127014
    assert run.final_validation_accuracy == 0.3489583432674408
    assert run.final_test_accuracy == 0.3504607379436493
    path = tmp_path / "sample.tfrecord"
    write_records(path, [SAMPLE])
    assert list(read_records(path)) == [SAMPLE_RUN]


def test_real_record_metrics():
    raw = _sample_metrics_bytes()
    assert b"\x10\x8a\x98\x8a\x04" in raw
    metrics = decode_model_metrics(raw)
    assert metrics["trainable_parameters"] == 8555530
    assert metrics["total_time"] == 413.7015450000763
    data = metrics["evaluation_data"]
    assert len(data) == 3
    assert data[0] == SAMPLE_EVAL0
    assert data[1]["current_epoch"] == 2.0
    assert data[2]["current_epoch"] == 4.0
    assert data[2]["test_accuracy"] == 0.3504607379436493
    assert all(entry["checkpoint_path"] is None for entry in data)


def test_writer_reproduces_official_text_exactly():
    raw = _sample_metrics_bytes()
    assert encode_model_metrics(**decode_model_metrics(raw)) == raw
    payload = encode_payload(SAMPLE_RUN.module_hash, 4, SAMPLE_ADJ, SAMPLE_OPS, raw)
    assert payload == SAMPLE
    b64 = json.loads(payload)[4]
    assert b64.endswith("\n")
    assert all(len(line) == 76 for line in b64.split("\n")[:-2])


def test_generic_decoder_any_field_order_and_unknown_fields():
    raw = _sample_metrics_bytes()
    metrics = decode_model_metrics(raw)
    unknown = (
        b"\x20\x05"  # field 4 varint
        + b"\x2d\x01\x02\x03\x04"  # field 5 fixed32
        + b"\x31"
        + bytes(8)  # field 6 fixed64
        + b"\x3a\x03abc"  # field 7 length-delimited
    )
    entries = [encode_model_metrics([e])[2:] for e in metrics["evaluation_data"]]
    entries[1] = b"\x45\x00\x00\x00\x00" + entries[1]  # unknown fixed32 inside
    body = (
        b"\x19"
        + struct.pack("<d", metrics["total_time"])
        + unknown
        + b"".join(b"\x0a" + bytes([len(e)]) + e for e in entries)
        + b"\x10\x8a\x98\x8a\x04"
    )
    shuffled = decode_model_metrics(body)
    assert shuffled == metrics
    text = encode_payload(SAMPLE_RUN.module_hash, 4, SAMPLE_ADJ, SAMPLE_OPS, body)
    assert parse_payload(text) == SAMPLE_RUN


def test_generic_json_path_matches_fast_path():
    compact = json.dumps(json.loads(SAMPLE_TEXT), separators=(",", ":")).encode()
    assert parse_payload(compact) == SAMPLE_RUN


# --------------------------------------------------------------------------- round trip


def test_round_trip_fixture(fixture_file):
    path, runs = fixture_file
    assert {r.epochs for r in runs} == {4, 12, 36, 108}
    got = list(read_records(path))
    assert got == runs
    for a, b in zip(got, runs):
        assert a.adjacency.dtype == np.int8 and not a.adjacency.flags.writeable
        np.testing.assert_array_equal(a.adjacency, b.adjacency)
        for name in run_records._RUN_METRIC_FIELDS:
            assert getattr(a, name) == getattr(b, name), name
    assert list(read_records(path, verify=False)) == runs
    assert len(list(iter_records(path))) == len(runs)


@pytest.mark.parametrize("chunk", [1, 7, 12, 100, 417, 1000])
def test_records_spanning_chunk_boundaries(fixture_file, monkeypatch, chunk):
    path, runs = fixture_file
    monkeypatch.setattr(tfrecord, "_CHUNK_SIZE", chunk)
    assert list(read_records(path)) == runs


def test_graph_cache_bounded_and_read_only(fixture_file, monkeypatch):
    path, runs = fixture_file
    monkeypatch.setattr(run_records, "_CACHE_LIMIT", 1)
    monkeypatch.setattr(run_records, "_adj_cache", {})
    monkeypatch.setattr(run_records, "_ops_cache", {})
    got = list(read_records(path))
    assert got == runs
    assert len(run_records._adj_cache) <= 1 and len(run_records._ops_cache) <= 1
    with pytest.raises(ValueError):
        got[0].adjacency[0, 0] = 1
    got[0].operations.append("x")  # a list of its own, not the cached tuple
    assert got[1].operations == runs[1].operations


def test_round_trip_absent_values(tmp_path):
    run = Run(
        module_hash="0" * 32,
        epochs=108,
        adjacency=[[0, 1], [0, 0]],
        operations=["input", "output"],
        final_test_accuracy=0.5,
    )
    path = tmp_path / "absent.tfrecord"
    write_runs(path, [run])
    (got,) = read_records(path)
    assert got == run
    assert got.trainable_parameters is None and got.total_time is None
    assert got.halfway_training_time is None and got.final_train_accuracy is None


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tfrecord"
    write_records(path, [])
    assert path.read_bytes() == b""
    assert list(read_records(path)) == []


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "out.tfrecord"
    write_records(path, [SAMPLE])

    def broken():
        yield SAMPLE
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_records(path, broken())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SAMPLE_SHA256
    assert os.listdir(tmp_path) == ["out.tfrecord"]


def test_written_file_has_the_mode_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    path = tmp_path / "out.tfrecord"
    write_records(path, [SAMPLE])
    assert os.stat(path).st_mode == os.stat(plain).st_mode


def test_write_records_takes_payloads_only(tmp_path):
    path = tmp_path / "out.tfrecord"
    with pytest.raises(
        TypeError,
        match="payload must be bytes, got Run; encode runs with nb101.run_records.encode_run",
    ):
        write_records(path, [SAMPLE, SAMPLE_RUN])
    assert os.listdir(tmp_path) == []
    assert write_records(path, [bytearray(SAMPLE), memoryview(encode_run(SAMPLE_RUN))]) == 2
    assert list(read_records(path)) == [SAMPLE_RUN, SAMPLE_RUN]


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), min_size=15, max_size=15),
    params=st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    total=st.one_of(st.none(), st.floats(allow_nan=False)),
    path=st.one_of(st.none(), st.text(max_size=20)),
)
def test_model_metrics_round_trip(values, params, total, path):
    names = [
        "current_epoch",
        "training_time",
        "train_accuracy",
        "validation_accuracy",
        "test_accuracy",
    ]
    data = [
        dict(zip(names, values[5 * i : 5 * i + 5]), checkpoint_path=path if i == 2 else None)
        for i in range(3)
    ]
    raw = encode_model_metrics(data, trainable_parameters=params, total_time=total)
    assert decode_model_metrics(raw) == {
        "evaluation_data": data,
        "trainable_parameters": params,
        "total_time": total,
    }


def test_run_validation_and_equality():
    with pytest.raises(ValueError, match="square"):
        Run(module_hash="0" * 32, epochs=4, adjacency=[[0, 1, 0]], operations=["input"])
    assert SAMPLE_RUN == parse_payload(SAMPLE)
    assert hash(SAMPLE_RUN) == hash(parse_payload(SAMPLE))
    assert SAMPLE_RUN != parse_payload(encode_run(Run(**{**SAMPLE_RUN.__dict__, "epochs": 12})))


# --------------------------------------------------------------------------- framing errors


def _two_record_file(tmp_path):
    path = tmp_path / "two.tfrecord"
    write_records(path, [SAMPLE, SAMPLE])
    return path, bytearray(path.read_bytes())


def test_bad_data_crc(tmp_path):
    path, data = _two_record_file(tmp_path)
    data[417 + 12 + 5] ^= 0x01  # a payload byte of record 1
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError) as excinfo:
        list(iter_records(path))
    _assert_record_error(excinfo, path, "record 1", "byte offset 417", "bad data CRC")
    assert len(list(iter_records(path, verify=False))) == 2


def test_bad_length_crc(tmp_path):
    path, data = _two_record_file(tmp_path)
    data[417 + 9] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError) as excinfo:
        list(read_records(path))
    _assert_record_error(excinfo, path, "record 1", "byte offset 417", "bad length CRC")
    assert list(read_records(path, verify=False)) == [SAMPLE_RUN, SAMPLE_RUN]


def test_truncated_header(tmp_path):
    path, data = _two_record_file(tmp_path)
    path.write_bytes(bytes(data) + b"\x91\x01\x00\x00\x00")
    with pytest.raises(RecordError) as excinfo:
        list(iter_records(path, verify=False))
    _assert_record_error(
        excinfo, path, "record 2", "byte offset 834", "truncated record: expected 12", "got 5"
    )


@pytest.mark.parametrize("cut", [1, 4, 5, 400])
def test_truncated_payload(tmp_path, cut):
    path, data = _two_record_file(tmp_path)
    path.write_bytes(bytes(data[:-cut]))
    with pytest.raises(RecordError) as excinfo:
        list(iter_records(path, verify=False))
    _assert_record_error(
        excinfo,
        path,
        "record 1",
        "byte offset 417",
        f"truncated record: expected 417 bytes, got {417 - cut}",
    )


def test_huge_length_without_verify_is_truncation(tmp_path):
    path = tmp_path / "huge.tfrecord"
    path.write_bytes(struct.pack("<QI", 1 << 60, 0) + b"x" * 20)
    with pytest.raises(RecordError, match="truncated record"):
        list(iter_records(path, verify=False))
    with pytest.raises(RecordError, match="bad length CRC"):
        list(iter_records(path))


# --------------------------------------------------------------------------- payload errors

_SHAPE = "payload is not a 5-element JSON array [hash, epochs, adjacency, ops, metrics]"
_B64 = json.loads(SAMPLE_TEXT)[4]
_H = "00005c142e6f48ac74fdcf73e3439874"
_ADJ = json.loads(SAMPLE_TEXT)[2]
_OPS = ",".join(SAMPLE_OPS)


def _payload(*items) -> bytes:
    return json.dumps(list(items)).encode()


def _metrics_b64(raw: bytes) -> str:
    return base64.encodebytes(raw).decode()


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (b"not json at all", _SHAPE),
        (b"\xff\xfe", "not UTF-8"),
        (_payload(_H, 4, _ADJ, _OPS), _SHAPE),
        (_payload(_H, 4, _ADJ, _OPS, _B64, 1), _SHAPE),
        (b'{"a": 1}', _SHAPE),
        (_payload(_H.upper(), 4, _ADJ, _OPS, _B64), _SHAPE),
        (_payload(_H, "4", _ADJ, _OPS, _B64), _SHAPE),
        (_payload(_H, 0, _ADJ, _OPS, _B64), _SHAPE),
        (_payload(_H, 4, _ADJ[:-1], _OPS, _B64), "not a square number"),
        (_payload(_H, 4, _ADJ.replace("1", "2"), _OPS, _B64), _SHAPE),
        (_payload(_H, 4, _ADJ, "input,output", _B64), "ops has 2 entries but adjacency is 7x7"),
        (_payload(_H, 4, _ADJ, _OPS, 5), _SHAPE),
        (_payload(_H, 4, _ADJ, _OPS, "Ci0J*AAA"), "bad base64"),
        (_payload(_H, 4, _ADJ, _OPS, "Ci0JA"), "bad base64"),
        (_payload(_H, 4, _ADJ, _OPS, "Ci0JAAé="), "bad base64"),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(_sample_metrics_bytes()[:-3])),
            "malformed protobuf: truncated fixed64",
        ),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x0a\x2d\x09")),
            "malformed protobuf: truncated length-delimited field 1",
        ),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x10\xff\xff")),
            "malformed protobuf: truncated varint",
        ),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x10" + b"\xff" * 10 + b"\x01")),
            "malformed protobuf: varint longer than 10 bytes",
        ),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x1b")),
            "malformed protobuf: unsupported wire type 3",
        ),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x11" + bytes(8))),
            "malformed protobuf: field 2 at byte 0 has wire type fixed64, expected varint",
        ),
        (_payload(_H, 4, _ADJ, _OPS, _metrics_b64(b"\x00")), "malformed protobuf: field number 0"),
        (
            _payload(_H, 4, _ADJ, _OPS, _metrics_b64(_sample_metrics_bytes()[47:])),
            "2 evaluation_data entries, expected at least 3",
        ),
    ],
)
def test_payload_errors(tmp_path, payload, rule):
    with pytest.raises(RecordError) as excinfo:
        parse_payload(payload)
    assert rule in str(excinfo.value)
    path = tmp_path / "bad.tfrecord"
    write_records(path, [SAMPLE, payload])
    with pytest.raises(RecordError) as excinfo:
        list(read_records(path))
    _assert_record_error(excinfo, path, "record 1", "byte offset 417", rule)
    assert isinstance(excinfo.value, ValueError)


def test_negative_int32_and_fast_path_fallbacks():
    raw = encode_model_metrics(
        decode_model_metrics(_sample_metrics_bytes())["evaluation_data"],
        trainable_parameters=-5,
        total_time=1.0,
    )
    assert decode_model_metrics(raw)["trainable_parameters"] == -5
    assert len(raw) == 141 + 11 + 9
    run = parse_payload(encode_payload(_H, 4, SAMPLE_ADJ, SAMPLE_OPS, raw))
    assert run.trainable_parameters == -5 and run.total_time == 1.0
    # a fourth evaluation entry is ignored, like the official API
    extra = _sample_metrics_bytes() + encode_model_metrics([{"current_epoch": 9.0}])
    assert parse_payload(encode_payload(_H, 4, SAMPLE_ADJ, SAMPLE_OPS, extra)) == SAMPLE_RUN


def test_encode_payload_validates_arguments():
    raw = _sample_metrics_bytes()
    with pytest.raises(ValueError, match="module_hash"):
        encode_payload("xyz", 4, SAMPLE_ADJ, SAMPLE_OPS, raw)
    with pytest.raises(ValueError, match="operations has 2 entries"):
        encode_payload(_H, 4, SAMPLE_ADJ, ["input", "output"], raw)
    with pytest.raises(ValueError, match="only 0 and 1"):
        encode_payload(_H, 4, SAMPLE_ADJ * 2, SAMPLE_OPS, raw)
    with pytest.raises(ValueError, match="int32"):
        encode_model_metrics([], trainable_parameters=2**31)
    with pytest.raises(ValueError, match="unknown keys"):
        encode_model_metrics([{"accuracy": 1.0}])
    text = json.loads(encode_payload(_H, 4, SAMPLE_ADJ, SAMPLE_OPS, raw))[4]
    assert binascii.a2b_base64(text) == raw
