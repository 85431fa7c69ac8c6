"""Profile-cache entries are checked when loaded: corrupt or poisoned entries are measured
again (with a warning) and never change a run's results."""

from __future__ import annotations

import json

import h5py
import pytest

from cosim import System, simulate
from cosim.profiles import cache_dir
from host import FrameSource, Stream

CREATED = "2026-01-01T00:00:00Z"


def small():
    return System(name="pc", hardware="rt-64pe", duration_s=0.2, seed=2,
                  streams=[Stream(name="s", candidates=["segformer-b0@128x128", "segformer-b1@128x128"],
                                  source=FrameSource(fps=20.0), governor="greedy")])


def frames_bytes(p):
    with h5py.File(p, "r") as f:
        return f["frames"][()].tobytes(), f["layers"][()].tobytes()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def poison_all(fn):
    files = sorted(cache_dir().glob("*.json"))
    assert files
    for p in files:
        d = json.loads(p.read_text())
        p.write_text(json.dumps(fn(d)))
    return files


@pytest.mark.parametrize("name, poison", [
    ("zero_latency", lambda d: {**d, "levels": {k: [0.0, v[1]] for k, v in d["levels"].items()}}),
    ("negative_energy", lambda d: {**d, "levels": {k: [v[0], -v[1]] for k, v in d["levels"].items()}}),
    ("nan", lambda d: {**d, "levels": {k: [v[0], "NaN"] for k, v in d["levels"].items()}}),
    ("wrong_shape", lambda d: {**d, "levels": {k: "fast" for k in d["levels"]}}),
    ("levels_not_a_dict", lambda d: {**d, "levels": [1, 2, 3]}),
    ("not_an_object", lambda d: [d]),
])
def test_bad_cache_entries_are_measured_again(cache, name, poison):
    ref = simulate(small(), cache / "ref.h5", created=CREATED)
    files = poison_all(poison)
    with pytest.warns(RuntimeWarning, match="profile cache"):
        again = simulate(small(), cache / "again.h5", created=CREATED)
    assert frames_bytes(again.trace_path) == frames_bytes(ref.trace_path)
    for p in files:  # rewritten with good entries
        levels = json.loads(p.read_text())["levels"]
        assert all(v[0] > 0 and v[1] > 0 for v in levels.values())


def test_unparsable_cache_file(cache):
    ref = simulate(small(), cache / "ref.h5", created=CREATED)
    for p in cache_dir().glob("*.json"):
        p.write_text("{truncated")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again = simulate(small(), cache / "again.h5", created=CREATED)
    assert frames_bytes(again.trace_path) == frames_bytes(ref.trace_path)
