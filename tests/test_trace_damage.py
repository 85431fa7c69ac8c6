"""Damaged traces (truncated, bit-flipped, bad UTF-8, odd attributes): every reader and
analysis command ends quickly with one clear error naming the file, never a hang or a
raw traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import traces
from traces import TraceFormatError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analysis import make_trace  # noqa: E402

SIZES = (0, 100, 512, 2048, 4096, 8192, 16384, 20000, 60000)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    p = tmp_path_factory.mktemp("damage") / "good.h5"
    make_trace(p, n_frames=200)
    return str(p)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A trace whose writer died after a flush (superblock still flagged as open for writing)."""
    p = tmp_path_factory.mktemp("killed") / "killed.h5"
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import traces
        from test_analysis import make_trace
        make_trace({str(p) + ".src"!r}, n_frames=200)
        src = traces.open({str(p) + ".src"!r})
        w = traces.TraceWriter({str(p)!r}, seed=1, scenario="", hardware={{}}, tool_version="t",
                               layer_extra_columns=src.extra_columns("layers"), flush_every_s=None)
        w.append_frames(src.frames)
        w.append_layers(src.layers)
        w.flush()
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
    with open(p, "rb") as fh:
        assert fh.read(12)[11] != 0  # flagged
    return str(p)


def read_all(path):
    with traces.open(path) as t:
        t.meta
        for tab in ("frames", "layers", "resources", "configs"):
            t.table(tab)
        traces.summary(t)


def _probe(paths):
    """Read each path in a child process (a hang would block the test run): returns
    one outcome per path: 'ok', 'TraceFormatError: ...' or 'OTHER <type>: ...'."""
    code = textwrap.dedent("""
        import json, sys, traces
        sys.path.insert(0, %r)
        from test_trace_damage import read_all
        out = []
        for p in json.loads(sys.argv[1]):
            try:
                read_all(p)
                out.append("ok")
            except traces.TraceFormatError as e:
                out.append("TraceFormatError: " + str(e))
            except Exception as e:
                out.append("OTHER " + type(e).__name__ + ": " + str(e))
        print(json.dumps(out))
    """) % str(ROOT / "tests")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("which", ["good", "killed"])
def test_truncated_trace_fails_fast(tmp_path, good, killed, which):
    src = good if which == "good" else killed
    size = os.path.getsize(src)
    paths = []
    for n in (*SIZES, size // 2, size - 1):
        if n >= size:
            continue
        p = tmp_path / f"t{n}.h5"
        with open(src, "rb") as a, open(p, "wb") as b:
            b.write(a.read(n))
        paths.append(str(p))
    for p, res in zip(paths, _probe(paths)):
        assert res.startswith("TraceFormatError") or res == "ok", (p, res)
        if res != "ok":
            assert p in res, res


def test_killed_writer_trace_is_read_with_swmr(killed):
    with traces.open(killed) as t:
        assert t.swmr and not t.meta["complete"] and len(t.frames) == 400


def test_bit_flips_give_a_clear_error_or_the_data(tmp_path, good):
    data = bytearray(Path(good).read_bytes())
    rng = np.random.default_rng(0)
    paths = []
    for k in range(40):
        d = bytearray(data)
        at = int(rng.integers(0, len(d) - 64))
        for j in range(at, at + 16):
            d[j] ^= 0xFF
        p = tmp_path / f"flip{k}.h5"
        p.write_bytes(bytes(d))
        paths.append(str(p))
    res = _probe(paths)
    bad = [(p, r) for p, r in zip(paths, res) if r.startswith("OTHER")]
    assert not bad, bad
    assert sum(r.startswith("TraceFormatError") for r in res) >= 5  # most flips hit compressed data


def test_bad_utf8_in_a_string_column(tmp_path, good):
    p = tmp_path / "utf8.h5"
    shutil.copy(good, p)
    with h5py.File(p, "r+") as f:
        rows = f["frames"][()]
        rows["stream"][3] = b"\xff\xfe cam"
        f["frames"][...] = rows
    with pytest.raises(TraceFormatError, match=r"utf8\.h5.*frames"):
        read_all(p)


@pytest.mark.parametrize("value", ["1", 1.5, np.bool_(True), b"x"])
def test_odd_schema_version(tmp_path, good, value):
    p = tmp_path / "v.h5"
    shutil.copy(good, p)
    with h5py.File(p, "r+") as f:
        f.attrs["schema_version"] = value
    with pytest.raises(TraceFormatError, match=r"v\.h5.*schema_version"):
        traces.open(p)


def test_bad_json_attributes(tmp_path, good):
    p = tmp_path / "j.h5"
    shutil.copy(good, p)
    with h5py.File(p, "r+") as f:
        f.attrs["hardware"] = "{not json"
        f["layers"].attrs["columns"] = "[oops"
    with traces.open(p) as t:
        with pytest.raises(TraceFormatError, match="hardware"):
            t.meta
        with pytest.raises(TraceFormatError, match="columns"):
            t.columns("layers")


@pytest.mark.parametrize("cmd", ["report", "export", "compare"])
def test_cli_on_a_truncated_trace(tmp_path, good, cmd):
    p = tmp_path / "cut.h5"
    with open(good, "rb") as a, open(p, "wb") as b:
        b.write(a.read(4096))
    args = {"report": ["report", str(p), "--out", str(tmp_path / "r")],
            "export": ["export", str(p), "--chrome-trace", str(tmp_path / "o.json")],
            "compare": ["compare", good, str(p)]}[cmd]
    r = subprocess.run([sys.executable, "-m", "cosim.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "error:" in r.stderr and "cut.h5" in r.stderr and "Traceback" not in r.stderr, r.stderr
