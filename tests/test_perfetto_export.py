"""Perfetto protobuf export (issue 26 item 4): decoded here with Perfetto's own schema (the
`perfetto` package's generated `perfetto_trace_pb2`), slices balanced per track, every interned
name defined in the part that uses it, long traces cut into self-contained parts a frame never
straddles, and ~40 bytes a layer instead of the JSON export's ~330."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import traces
from test_analysis import make_trace
from traces.perfetto import export_perfetto

pb = pytest.importorskip("perfetto.protos.perfetto.trace.perfetto_trace_pb2")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    p = tmp_path_factory.mktemp("pf") / "t.h5"
    make_trace(str(p), n_frames=120)
    return p


def decode(path) -> list:
    return list(pb.Trace.FromString(Path(path).read_bytes()).packet)


def check_part(packets) -> dict:
    """Structure of one part: returns counts; asserts it is self-contained and balanced."""
    TE = pb.TrackEvent
    assert packets[0].sequence_flags & 1, "a part starts by clearing the incremental state"
    tracks = {p.track_descriptor.uuid for p in packets if p.HasField("track_descriptor")}
    names, cats, anns = {}, {}, {}
    stacks: dict[int, list] = {}
    n = {"layers": 0, "frames": 0, "counters": 0, "instants": 0}
    events = []
    for i, p in enumerate(packets):
        assert p.trusted_packet_sequence_id == 1
        if p.HasField("interned_data"):
            names.update({e.iid: e.name for e in p.interned_data.event_names})
            cats.update({e.iid: e.name for e in p.interned_data.event_categories})
            anns.update({e.iid: e.name for e in p.interned_data.debug_annotation_names})
        if not p.HasField("track_event"):
            continue
        e = p.track_event
        assert e.track_uuid in tracks
        if e.name_iid:
            assert e.name_iid in names and p.sequence_flags & 2
        for c in e.category_iids:
            assert c in cats
        for a in e.debug_annotations:
            assert a.name_iid in anns
        events.append((p.timestamp, i, e))
    for ts, _, e in sorted(events, key=lambda x: (x[0], x[1])):
        if e.type == TE.TYPE_SLICE_BEGIN:
            stacks.setdefault(e.track_uuid, []).append(ts)
            n["layers" if e.name_iid else "frames"] += 1
        elif e.type == TE.TYPE_SLICE_END:
            assert stacks.get(e.track_uuid), "an END without its BEGIN"
            assert stacks[e.track_uuid].pop() <= ts
        elif e.type == TE.TYPE_COUNTER:
            n["counters"] += 1
            assert math.isfinite(e.double_counter_value)
        else:
            n["instants"] += 1
    assert all(not s for s in stacks.values()), "a BEGIN without its END"
    return n


def test_one_part_holds_every_event_of_the_trace(src, tmp_path):
    out = export_perfetto(src, tmp_path / "t.pftrace")
    assert out == [str(tmp_path / "t.pftrace")]
    n = check_part(decode(out[0]))
    with traces.open(src) as t:
        F, L, R = t.frames, t.layers, t.resources
        ran = F["start_s"].notna() & F["end_s"].notna()
        assert n["layers"] == len(L)
        assert n["frames"] == 2 * int(ran.sum())                 # host slice + accelerator span
        assert n["counters"] == int(R["value"].map(math.isfinite).sum())
        assert n["instants"] == int(F["dropped"].sum()) + int((~R["value"].map(math.isfinite)).sum())
    # the point of it: a fraction of the JSON export's size per layer
    bare = export_perfetto(src, tmp_path / "bare.pftrace", layers=False)[0]
    per_layer = (os.path.getsize(out[0]) - os.path.getsize(bare)) / len(L)
    assert per_layer < 45, per_layer
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_long_trace_is_cut_into_self_contained_parts(src, tmp_path):
    whole = os.path.getsize(export_perfetto(src, tmp_path / "one.pftrace")[0])
    parts = export_perfetto(src, tmp_path / "t.pftrace", max_bytes=whole // 5)
    assert len(parts) >= 4 and parts[0].endswith("t-001.pftrace") and not (tmp_path / "t.pftrace").exists()
    totals = {"layers": 0, "frames": 0}
    last_end = -1
    for p in parts:
        packets = decode(p)
        n = check_part(packets)  # balanced within the part: no frame is split from its layers
        totals["layers"] += n["layers"]
        totals["frames"] += n["frames"]
        assert os.path.getsize(p) <= whole // 5 + 200_000
        ts = [q.timestamp for q in packets if q.HasField("track_event") and q.track_event.type == 1
              and not q.track_event.name_iid]
        assert min(ts) >= last_end - 1e9  # parts follow each other in simulated time
        last_end = max(ts)
    with traces.open(src) as t:
        assert totals["layers"] == len(t.layers)


def test_cli_export_perfetto(src, tmp_path):
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    out = tmp_path / "x.pftrace"
    r = CliRunner().invoke(app, ["export", str(src), "--perfetto", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "perfetto trace:" in r.output
    r = CliRunner().invoke(app, ["export", str(src), "--perfetto", str(out)])
    assert r.exit_code == 2 and "exists; give --force" in r.output
