"""Tests of the HDF5 trace package (schema, writer, reader, summary)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import traces
from traces import schema
from traces.superblock import clear_write_flags, lookup3
from traces.writer import TraceWriter

REPO = Path(__file__).resolve().parents[1]
CREATED = "2025-01-01T00:00:00Z"
HW = {"num_pes": 16, "vector_size": 8, "clock_hz": 1.0e9, "dram": {"bw_gbps": 25.6}}
EXTRAS = {"energy_mac_j": "J", "energy_dram_j": "J", "cycles": "cycle"}


def make_writer(path, **kw) -> TraceWriter:
    args = dict(
        seed=7,
        scenario="# scenario\nprint('hi')\n",
        hardware=HW,
        tool_version="0.1.0",
        created=CREATED,
        layer_extra_columns=EXTRAS,
    )
    args.update(kw)
    return TraceWriter(path, **args)


def frame_row(stream="cam0", frame=0, **kw) -> dict:
    row = dict(
        stream=stream,
        frame=frame,
        arrival_s=frame * 0.033,
        deadline_s=frame * 0.033 + 0.033,
        start_s=frame * 0.033 + 0.001,
        end_s=frame * 0.033 + 0.021,
        config="segformer-b2@512x512",
        accuracy=0.465,
        latency_s=0.021,
        energy_j=0.5,
        missed=False,
        dropped=False,
    )
    row.update(kw)
    return row


def layer_cols(stream="cam0", frame=0, n=5) -> dict:
    i = np.arange(n)
    return {
        "stream": stream,
        "frame": frame,
        "layer": i,
        "name": [f"encoder.block.{k}.attn" for k in range(n)],
        "op": ["linear", "matmul", "softmax", "conv", "add"][:n] if n <= 5 else ["conv"] * n,
        "op_class": "pointwise",
        "start_s": frame + i * 1e-4,
        "end_s": frame + (i + 1) * 1e-4,
        "macs_useful": i * 1000,
        "macs_issued": i * 1024,
        "dram_bytes": i * 64,
        "energy_j": (i + 1) * 1e-6,
        "energy_mac_j": (i + 1) * 4e-7,
        "energy_dram_j": (i + 1) * 6e-7,
        "cycles": i * 100.0,
    }


# ---------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------


def test_schema_frames_columns_exact():
    assert [c.name for c in schema.FRAMES] == [
        "stream", "frame", "arrival_s", "deadline_s", "start_s", "end_s",
        "config", "accuracy", "latency_s", "energy_j", "missed", "dropped",
    ]  # fmt: skip
    kinds = {c.name: c.kind for c in schema.FRAMES}
    assert kinds["stream"] == kinds["config"] == "str"
    assert kinds["frame"] == "int"
    assert kinds["missed"] == kinds["dropped"] == "bool"
    assert all(kinds[c] == "float" for c in ("arrival_s", "deadline_s", "start_s", "end_s", "accuracy", "latency_s", "energy_j"))
    assert isinstance(schema.SCHEMA_VERSION, int)


def test_schema_extra_columns_validation():
    assert [c.name for c in schema.extra_columns(["a", "b_j"])] == ["a", "b_j"]
    with pytest.raises(ValueError, match="energy_j"):
        schema.extra_columns(["energy_j"])  # collides with a fixed column
    with pytest.raises(ValueError, match="not an identifier"):
        schema.extra_columns(["bad name"])
    with pytest.raises(ValueError, match="twice"):
        schema.extra_columns(["x", "x"])
    with pytest.raises(ValueError, match="configs"):
        schema.extra_columns(["x"], "configs")


# ---------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------


def test_round_trip(tmp_path):
    p = tmp_path / "run.h5"
    with make_writer(p) as w:
        assert w.add_config(
            "segformer-b2@512x512",
            model="segformer-b2",
            knobs={"heads": [1, 2, 5, 8], "dec": 768},
            macs=62_400_000_000,
            params=27_500_000,
            accuracy=0.465,
            accuracy_metric="mIoU",
            accuracy_source="reference/published.md: SegFormer Table 1",
            accuracy_label="ADE20K val",
        )
        w.append_resources([{"time_s": 0.0, "resource": "clock_hz", "value": 1e9, "unit": "Hz"}])
        w.append_layers(layer_cols(frame=0))
        w.append_frames([frame_row(frame=0)])
    with traces.open(p) as t:
        m = t.meta
        assert m["schema_version"] == schema.SCHEMA_VERSION
        assert m["created"] == CREATED
        assert m["tool_version"] == "0.1.0"
        assert m["seed"] == 7
        assert m["scenario"] == "# scenario\nprint('hi')\n"
        assert m["hardware"] == HW
        assert m["complete"] is True

        f = t.frames
        assert list(f.columns) == [c.name for c in schema.FRAMES]
        assert f.loc[0, "stream"] == "cam0" and isinstance(f.loc[0, "stream"], str)
        assert f.loc[0, "config"] == "segformer-b2@512x512"
        assert f["frame"].dtype == np.int64 and f["missed"].dtype == bool
        assert f.loc[0, "latency_s"] == 0.021

        lay = t.layers
        assert list(lay.columns) == [c.name for c in schema.LAYERS] + list(EXTRAS)
        exp = layer_cols(frame=0)
        assert lay["name"].tolist() == exp["name"]
        assert lay["op"].tolist() == exp["op"]
        assert (lay["stream"] == "cam0").all() and (lay["op_class"] == "pointwise").all()
        np.testing.assert_array_equal(lay["macs_issued"].to_numpy(), exp["macs_issued"])
        np.testing.assert_array_equal(lay["energy_dram_j"].to_numpy(), exp["energy_dram_j"])
        assert t.extra_columns("layers") == list(EXTRAS)
        assert t.units("layers")["cycles"] == "cycle" and t.units("layers")["dram_bytes"] == "B"

        c = t.configs
        assert len(c) == 1
        assert json.loads(c.loc[0, "knobs"]) == {"heads": [1, 2, 5, 8], "dec": 768}
        assert c.loc[0, "macs"] == 62_400_000_000
        assert c.loc[0, "objective"] == "accuracy"
        assert c.loc[0, "accuracy_source"].startswith("reference/published.md")

        r = t.resources
        assert r.to_dict("records") == [{"time_s": 0.0, "resource": "clock_hz", "value": 1e9, "unit": "Hz"}]
        assert "frames=1" in repr(t)
    # also plain h5py sees a normal file with documented attributes
    with h5py.File(p, "r") as h:
        assert h["frames"].chunks is not None and h["frames"].compression == "gzip"
        assert h["frames"].maxshape == (None,)
        assert json.loads(h["layers"].attrs["extra_columns"]) == list(EXTRAS)


def test_unicode_strings_and_byte_width(tmp_path):
    p = tmp_path / "u.h5"
    name = "kamera-über-tür-✓"
    with make_writer(p) as w:
        w.append_frames([frame_row(stream=name, config="cfg/µ=1")])
        too_long = "é" * (schema.STREAM_WIDTH // 2 + 1)  # fits in characters, not in UTF-8 bytes
        with pytest.raises(ValueError, match="'stream'.*bytes in UTF-8"):
            w.append_frames([frame_row(stream=too_long)])
    with traces.open(p) as t:
        assert t.frames["stream"].tolist() == [name]
        assert t.frames["config"].tolist() == ["cfg/µ=1"]


def test_appends_in_chunks_and_forms(tmp_path):
    p = tmp_path / "chunks.h5"
    n_frames = 37
    with make_writer(p, flush_every_rows=50, flush_every_s=None) as w:
        for k in range(n_frames):
            w.append_layers(layer_cols(frame=k))  # dict of arrays with broadcast scalars
            if k % 3 == 0:
                w.append_frames([frame_row(frame=k)])  # list of dicts
            elif k % 3 == 1:
                w.append_frames({c: [v] for c, v in frame_row(frame=k).items()})  # dict of 1-element columns
            else:
                w.append_frames(pd.DataFrame([frame_row(frame=k)]))  # DataFrame
        assert w.rows["frames"] == n_frames and w.rows["layers"] == 5 * n_frames
        assert w.flushed_rows["layers"] > 0  # several flushes happened on the way
        assert w.append_frames([]) == 0
        w.append_resources({"time_s": [0.0, 1.0], "resource": "active_pes", "value": [16, 8], "unit": "PE"})
        w.append_resources({"time_s": 2.0, "resource": "active_pes", "value": 4.0, "unit": "PE"})  # all scalars: 1 row
    with traces.open(p) as t:
        assert t.frames["frame"].tolist() == list(range(n_frames))
        assert len(t.layers) == 5 * n_frames
        assert t.layers["frame"].tolist() == [k for k in range(n_frames) for _ in range(5)]
        assert t.layers["layer"].tolist() == list(range(5)) * n_frames
        assert t.resources["value"].tolist() == [16.0, 8.0, 4.0]
        assert t.table("layers", columns=["frame", "name"]).shape == (5 * n_frames, 2)


def test_nan_handling(tmp_path):
    p = tmp_path / "nan.h5"
    with make_writer(p) as w:
        w.append_frames(
            [
                frame_row(frame=0, accuracy=None),  # None -> NaN
                frame_row(frame=1, accuracy=math.nan, start_s=math.nan, end_s=math.nan, latency_s=math.nan,
                          dropped=True, config=""),
                frame_row(frame=2, accuracy=0.5),
            ]
        )  # fmt: skip
        w.add_config("c", model="m", knobs={}, macs=1, params=1, accuracy=None)
    with traces.open(p) as t:
        f = t.frames
        assert math.isnan(f.loc[0, "accuracy"]) and math.isnan(f.loc[1, "accuracy"])
        assert f.loc[2, "accuracy"] == 0.5
        assert math.isnan(f.loc[1, "start_s"]) and f.loc[1, "config"] == ""
        assert math.isnan(t.configs.loc[0, "accuracy"])
        s = traces.summary(t).set_index("stream")
        assert s.loc["cam0", "accuracy_mean"] == 0.5
        assert s.loc["cam0", "accuracy_known"] == 1
        assert traces.summary_dict(t)["streams"]["cam0"]["accuracy_mean"] == 0.5


def test_empty_trace(tmp_path):
    p = tmp_path / "empty.h5"
    make_writer(p, seed=None, layer_extra_columns=()).close()
    with traces.open(p) as t:
        assert t.meta["seed"] is None
        assert len(t.frames) == 0 and list(t.frames.columns) == [c.name for c in schema.FRAMES]
        assert len(t.layers) == 0 and len(t) == 0
        s = traces.summary(t)
        assert s["stream"].tolist() == ["all"] and s.loc[0, "frames"] == 0
        assert math.isnan(s.loc[0, "miss_rate"])
        assert len(traces.config_counts(t)) == 0
        d = traces.summary_dict(t)
        assert d["streams"]["all"]["frames"] == 0 and d["streams"]["all"]["latency_p99_s"] is None
        json.dumps(d)


def test_exception_in_with_keeps_rows_marks_incomplete(tmp_path):
    p = tmp_path / "exc.h5"
    with pytest.raises(RuntimeError):
        with make_writer(p, flush_every_s=None) as w:
            w.append_frames([frame_row(frame=0)])
            raise RuntimeError("simulation failed")
    with traces.open(p) as t:
        assert len(t.frames) == 1 and t.meta["complete"] is False


def test_config_added_once(tmp_path):
    p = tmp_path / "cfg.h5"
    with make_writer(p) as w:
        assert w.add_config("a", model="m", knobs={"x": 1}, macs=10, params=2) is True
        assert w.add_config("a", model="m", knobs={"x": 1}, macs=10, params=2) is False
        with pytest.warns(RuntimeWarning, match="'a'"):
            assert w.add_config("a", model="m", knobs={"x": 1}, macs=11, params=2) is False
        assert w.add_config("b", model="m", knobs='{"x": 2}', macs=5, params=2, objective="useful_macs proxy")
    with traces.open(p) as t:
        assert t.configs["config"].tolist() == ["a", "b"]
        assert t.configs["macs"].tolist() == [10, 5]
        assert t.configs["objective"].tolist() == ["accuracy", "useful_macs proxy"]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_writer_errors_name_the_column(tmp_path):
    p = tmp_path / "err.h5"
    w = make_writer(p)
    cases = [
        ([{**frame_row(), "bogus": 1}], "'bogus'"),
        ([{k: v for k, v in frame_row().items() if k != "deadline_s"}], "'deadline_s'"),
        ([frame_row(arrival_s="soon")], "'arrival_s'"),
        ([frame_row(frame=1.5)], "'frame'"),
        ([frame_row(missed=1)], "'missed'"),
        ([frame_row(stream=3)], "'stream'"),
        ([frame_row(config=b"bytes")], "'config'"),
        ([frame_row(config="x" * (schema.CONFIG_WIDTH + 1))], "'config'.*limit is 256"),
        ([frame_row(energy_j=True)], "'energy_j'"),
        ("not rows", "rows of /frames"),
        ([1, 2], "row 0 of /frames"),
    ]
    for rows, msg in cases:
        with pytest.raises(ValueError, match=msg):
            w.append_frames(rows)
    bad = layer_cols()
    bad["name"] = bad["name"][:3]
    with pytest.raises(ValueError, match="different lengths"):
        w.append_layers(bad)
    bad = layer_cols()
    del bad["energy_mac_j"]
    with pytest.raises(ValueError, match="'energy_mac_j'"):
        w.append_layers(bad)
    with pytest.raises(ValueError, match="'objective'"):
        w.add_config("c", model="m", knobs={}, macs=1, params=1, objective="speed")
    with pytest.raises(ValueError, match="'knobs'"):
        w.add_config("c", model="m", knobs="{not json", macs=1, params=1)
    with pytest.raises(ValueError, match="'macs'"):
        w.add_config("c", model="m", knobs={}, macs="many", params=1)
    assert w.rows == {"frames": 0, "layers": 0, "resources": 0, "configs": 0}  # nothing partial kept
    w.close()
    w.close()  # idempotent
    for call in (lambda: w.append_frames([frame_row()]), w.flush,
                 lambda: w.add_config("c", model="m", knobs={}, macs=1, params=1)):  # fmt: skip
        with pytest.raises(ValueError, match="closed"):
            call()
    with traces.open(p) as t:
        assert len(t.frames) == 0


def test_writer_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="hardware"):
        make_writer(tmp_path / "a.h5", hardware={"x": object()})
    with pytest.raises(ValueError, match="seed"):
        make_writer(tmp_path / "b.h5", seed="7")
    with pytest.raises(ValueError, match="energy_j"):
        make_writer(tmp_path / "c.h5", layer_extra_columns=["energy_j"])
    make_writer(tmp_path / "d.h5").close()
    with pytest.raises(FileExistsError, match="d.h5"):
        make_writer(tmp_path / "d.h5", overwrite=False)


def test_reader_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        traces.open(missing)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(traces.TraceFormatError, match="notes.txt"):
        traces.open(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h:
        h["x"] = np.arange(3)
    with pytest.raises(traces.TraceFormatError, match="other.h5.*not a dynvit-cosim trace"):
        traces.open(other)
    assert issubclass(traces.TraceFormatError, ValueError)
    p = tmp_path / "ok.h5"
    make_writer(p).close()
    t = traces.open(p)
    with pytest.raises(ValueError, match="unknown trace table"):
        t.table("nope")
    with pytest.raises(ValueError, match="'nope'"):
        t.table("frames", columns=["nope"])
    t.close()
    with pytest.raises(ValueError, match="closed"):
        t.frames


# ---------------------------------------------------------------------------
# crash safety
# ---------------------------------------------------------------------------

_KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from traces.writer import TraceWriter
    path, mode = sys.argv[1], sys.argv[2]
    w = TraceWriter(path, seed=1, scenario="s", hardware={{}}, tool_version="t", created="{created}",
                    layer_extra_columns=["energy_mac_j"], flush_every_s=None, flush_every_rows=None)
    n = 64
    def layers(k):
        i = np.arange(n)
        return dict(stream="cam0", frame=k, layer=i, name=[f"layer{{j}}" for j in range(n)], op="conv",
                    op_class="dense_conv", start_s=k + i * 1e-3, end_s=k + i * 1e-3 + 5e-4,
                    macs_useful=i + k, macs_issued=i + k, dram_bytes=i, energy_j=i * 1e-6 + k,
                    energy_mac_j=i * 1e-7)
    def frame(k):
        return [dict(stream="cam0", frame=k, arrival_s=k * 0.1, deadline_s=k * 0.1 + 0.1, start_s=k * 0.1,
                     end_s=k * 0.1 + 0.05, config="c", accuracy=0.5, latency_s=0.05, energy_j=float(k),
                     missed=False, dropped=False)]
    if mode == "self":
        for k in range(300):
            w.append_layers(layers(k)); w.append_frames(frame(k))
            if k == 99 or k == 249:
                w.flush()
        # 50 frames appended but never flushed
        os.kill(os.getpid(), signal.SIGKILL)
    else:  # "loop": write and flush until killed from outside, reporting flushed frames
        k = 0
        while True:
            for _ in range(7):
                w.append_layers(layers(k)); w.append_frames(frame(k)); k += 1
            w.flush()
            print(k, flush=True)
    """
).format(created=CREATED)


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check_killed_trace(path: Path, flushed_frames: int, exact: bool) -> None:
    with traces.open(path) as t:
        assert t.meta["complete"] is False
        f = t.frames
        lay = t.layers
        if exact:
            assert len(f) == flushed_frames and len(lay) == 64 * flushed_frames
        else:
            assert len(f) >= flushed_frames and len(lay) >= 64 * flushed_frames
        assert f["frame"].tolist() == list(range(len(f)))
        np.testing.assert_array_equal(f["energy_j"].to_numpy(), np.arange(len(f), dtype=float))
        k = lay["frame"].to_numpy()
        np.testing.assert_array_equal(k, np.repeat(np.arange(len(lay) // 64), 64)[: len(lay)])
        np.testing.assert_array_equal(lay["macs_useful"].to_numpy(), np.tile(np.arange(64), len(lay) // 64 + 1)[: len(lay)] + k)
        assert (lay["name"].str.startswith("layer")).all()


def test_sigkill_after_flush_keeps_flushed_rows(tmp_path):
    p = tmp_path / "killed.h5"
    r = subprocess.run([sys.executable, "-c", _KILL_CHILD, str(p), "self"], env=_child_env(),
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == -signal.SIGKILL, r.stderr
    _check_killed_trace(p, 250, exact=True)
    # plain h5py reads it in SWMR mode; clearing the write flags makes it a normal file again
    with h5py.File(p, "r", swmr=True) as h:
        assert h["frames"].shape == (250,)
    assert clear_write_flags(p) is True
    assert clear_write_flags(p) is False
    with h5py.File(p, "r") as h:
        assert h["frames"].shape == (250,) and h["layers"].shape == (250 * 64,)
    _check_killed_trace(p, 250, exact=True)


@pytest.mark.parametrize("delay", [0.0, 0.17, 0.41])
def test_sigkill_while_writing_keeps_every_completed_flush(tmp_path, delay):
    p = tmp_path / "killed_loop.h5"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(p), "loop"], env=_child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        first = proc.stdout.readline()  # the writer is running
        assert first.strip(), proc.stderr.read()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read().split()
    finally:
        proc.kill()
        proc.wait()
    flushed = int(rest[-1]) if rest else int(first)
    _check_killed_trace(p, flushed, exact=False)


def test_lookup3_matches_hdf5_superblock_checksum(tmp_path):
    p = tmp_path / "sb.h5"
    make_writer(p).close()
    sb = p.read_bytes()[:48]
    assert sb[8] in (2, 3) and sb[9] == 8
    assert lookup3(sb[:44]) == int.from_bytes(sb[44:48], "little")
    assert clear_write_flags(p) is False  # a cleanly closed file has no flags set


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------


def _write_standard(path, **kw):
    with make_writer(path, **kw) as w:
        w.add_config("c", model="m", knobs={"a": 1}, macs=3, params=4, accuracy=0.25)
        for k in range(40):
            w.append_layers(layer_cols(frame=k))
            w.append_frames([frame_row(frame=k, accuracy=math.nan if k % 5 == 0 else 0.4)])
            w.append_resources({"time_s": float(k), "resource": "clock_hz", "value": 1e9 - k, "unit": "Hz"})


def test_deterministic_dataset_bytes(tmp_path):
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    _write_standard(a, flush_every_s=None, flush_every_rows=None)
    _write_standard(b, flush_every_s=None, flush_every_rows=None)
    _write_standard(c, flush_every_s=0.0, flush_every_rows=7)  # other flush pattern
    assert a.read_bytes() == b.read_bytes()  # same rows, same flushes, same 'created': same file
    with h5py.File(a, "r") as ha, h5py.File(c, "r") as hc:
        for t in schema.TABLES:
            assert ha[t][()].tobytes() == hc[t][()].tobytes(), t
            assert ha[t].dtype == hc[t].dtype
        assert dict(ha.attrs) == dict(hc.attrs)


# ---------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------


def _tiny_trace(path):
    nan = math.nan
    rows = [
        # stream a
        frame_row("a", 0, latency_s=0.010, energy_j=1.0, accuracy=0.8, config="c1"),
        frame_row("a", 1, latency_s=0.030, energy_j=2.0, accuracy=nan, config="c2", missed=True),
        frame_row("a", 2, latency_s=nan, start_s=nan, end_s=nan, energy_j=0.5, accuracy=nan, config="c2",
                  dropped=True),
        frame_row("a", 3, latency_s=0.020, energy_j=3.0, accuracy=0.6, config="c1"),
        # stream b
        frame_row("b", 0, latency_s=0.050, energy_j=4.0, accuracy=0.7, config="c1"),
        frame_row("b", 1, latency_s=nan, start_s=nan, end_s=nan, energy_j=nan, accuracy=nan, config="",
                  dropped=True),
    ]  # fmt: skip
    with make_writer(path) as w:
        w.append_frames(rows[::2])  # interleaved order on purpose
        w.append_frames(rows[1::2])


def test_summary_hand_computed(tmp_path):
    p = tmp_path / "tiny.h5"
    _tiny_trace(p)
    with traces.open(p) as t:
        s = traces.summary(t)
        assert s["stream"].tolist() == ["a", "b", "all"]
        s = s.set_index("stream")
        exp = {
            "a": dict(frames=4, run=3, dropped=1, missed=1, miss_rate=0.5, accuracy_mean=0.7, accuracy_known=2,
                      energy_total_j=6.5, energy_per_frame_j=2.0, latency_mean_s=0.02, latency_p50_s=0.02,
                      latency_p99_s=0.0298, configs=2),
            "b": dict(frames=2, run=1, dropped=1, missed=0, miss_rate=0.5, accuracy_mean=0.7, accuracy_known=1,
                      energy_total_j=4.0, energy_per_frame_j=4.0, latency_mean_s=0.05, latency_p50_s=0.05,
                      latency_p99_s=0.05, configs=1),
            "all": dict(frames=6, run=4, dropped=2, missed=1, miss_rate=0.5, accuracy_mean=0.7, accuracy_known=3,
                        energy_total_j=10.5, energy_per_frame_j=2.5, latency_mean_s=0.0275, latency_p50_s=0.025,
                        latency_p99_s=0.0494, configs=2),
        }  # fmt: skip
        for stream, e in exp.items():
            for k, v in e.items():
                assert s.loc[stream, k] == pytest.approx(v, rel=1e-12, abs=1e-15), (stream, k)
        assert s["frames"].dtype == np.int64

        cc = traces.config_counts(t)
        assert cc.to_dict("records") == [
            {"stream": "a", "config": "c1", "count": 2},
            {"stream": "a", "config": "c2", "count": 1},
            {"stream": "b", "config": "c1", "count": 1},
            {"stream": "all", "config": "c1", "count": 3},
            {"stream": "all", "config": "c2", "count": 1},
        ]
        assert len(traces.config_counts(t, include_all=False)) == 3

        d = traces.summary_dict(t)
        assert d == json.loads(json.dumps(d))  # plain JSON values
        assert d["schema_version"] == schema.SCHEMA_VERSION
        assert list(d["streams"]) == ["a", "b", "all"]
        assert d["streams"]["a"]["frames"] == 4 and type(d["streams"]["a"]["frames"]) is int
        assert d["streams"]["all"]["latency_p99_s"] == pytest.approx(0.0494)
        assert d["streams"]["all"]["config_counts"] == {"c1": 3, "c2": 1}
    # a path and a frames DataFrame work too
    assert traces.summary_dict(p) == d
    with traces.open(p) as t:
        pd.testing.assert_frame_equal(traces.summary(t.frames), traces.summary(t))


def test_summary_refuses_stream_named_all(tmp_path):
    p = tmp_path / "all.h5"
    with make_writer(p) as w:
        w.append_frames([frame_row(stream="all")])
    with pytest.raises(ValueError, match="'all'"):
        traces.summary(p)


def test_traces_imports_no_other_project_package():
    code = (
        "import sys, traces, traces.summary, traces.writer, traces.reader\n"
        "ours = {'workloads', 'accelerator', 'host', 'cosim', 'scenarios'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ours))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=_child_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_warnings_are_not_raised_on_normal_use(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _write_standard(tmp_path / "w.h5")
        with traces.open(tmp_path / "w.h5") as t:
            traces.summary(t)
            traces.config_counts(t)
