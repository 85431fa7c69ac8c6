"""Export a trace to Perfetto's binary trace format (protobuf), in parts the Perfetto UI opens.

The Chrome-trace JSON export (:mod:`traces.chrome`) spends ~330 bytes per layer event: a 30-minute
default run is 4.47 GB, beyond what the UI loads. This writes the documented protobuf schema
(``perfetto.protos.Trace``: ``TracePacket`` / ``TrackEvent`` / ``TrackDescriptor`` /
``InternedData``, field numbers from Perfetto's ``protos/perfetto/trace/*.proto``) with a minimal
encoder: slices as BEGIN/END pairs, event names and categories interned, about 40 bytes a layer.

Size limit: the UI runs the trace processor in the browser, whose memory is typically limited to
~2 GB, and a proto trace inflates 2-4x in memory (perfetto.dev/docs/visualization/large-traces).
So the output is cut into self-contained parts of at most :data:`MAX_PART_BYTES` (256 MiB, at most
~1 GiB in memory), each covering a span of simulated time; ``OUT.pftrace`` when one part holds it
all, else ``OUT-001.pftrace``, ``OUT-002.pftrace``, ... A part never splits a frame from its layers.

Layout (as the JSON export): process "host (frames per stream)" with a thread per stream holding
each frame as a slice (args: config, arrival, deadline, latency, energy, accuracy, missed,
dropped) and dropped frames as instants; process "accelerator" with lanes ("inference", ...)
holding each frame's span with its layers nested inside (category = op class); process
"resources" with one counter track per resource (infinite values as instants "unlimited").
Times are integer nanoseconds of simulated time (Perfetto's unit; the JSON export keeps ps).
"""

from __future__ import annotations

import math
import os
import struct
from typing import Any, Iterator

import numpy as np

from .lanes import take_lane
from .output import OutputError, check_not_input, prepare_parent
from .reader import Trace
from .reader import open as _open_trace

__all__ = ["export_perfetto", "MAX_PART_BYTES"]

#: Largest part written (bytes): 256 MiB, ~1 GiB in the UI's memory at the documented 4x inflation.
MAX_PART_BYTES = 256 * 2**20
LAYER_CHUNK_ROWS = 1 << 15

# field numbers (perfetto/protos/perfetto/trace/...)
_PKT_TS, _PKT_SEQ, _PKT_TE, _PKT_INTERNED, _PKT_FLAGS, _PKT_TD = 8, 10, 11, 12, 13, 60
_TE_CAT_IIDS, _TE_ANN, _TE_TYPE, _TE_NAME_IID, _TE_TRACK, _TE_NAME, _TE_DCOUNTER = 3, 4, 9, 10, 11, 23, 44
_BEGIN, _END, _INSTANT, _COUNTER = 1, 2, 3, 4
_TD_UUID, _TD_NAME, _TD_PROCESS, _TD_THREAD, _TD_PARENT, _TD_COUNTER = 1, 2, 3, 4, 5, 8
_ID_CATS, _ID_NAMES, _ID_ANN_NAMES = 1, 2, 3
_ANN_NAME_IID, _ANN_BOOL, _ANN_INT, _ANN_DOUBLE, _ANN_STR = 1, 2, 4, 5, 6
_SEQ_CLEARED, _SEQ_NEEDS = 1, 2
_SEQ_ID = 1  # one packet sequence (interning is per sequence)

_SEQ = bytes([(_PKT_SEQ << 3), _SEQ_ID])  # trusted_packet_sequence_id = 1

# track uuids
_U_HOST, _U_ACCEL, _U_RES, _U_RES_THREAD = 1, 2, 3, 4
_U_STREAM0, _U_LANE0, _U_COUNTER0 = 1000, 2000, 3000


def _varint_slow(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 as two's complement (10 bytes)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [_varint_slow(n) for n in range(1 << 14)]  # lengths, iids, tags: one lookup


def _varint(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 16384 else _varint_slow(n)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _vf(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(int(n))


def _bf(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def _sf(field: int, s: str) -> bytes:
    return _bf(field, s.encode("utf-8"))


def _df(field: int, x: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", x)


def _ns(t_s: float) -> int:
    return int(round(float(t_s) * 1e9))


class _PartWriter:
    """Packets into numbered parts of at most ``max_bytes``; each part restarts the sequence's
    incremental state (interned names) and repeats the track descriptors."""

    def __init__(self, out: str, max_bytes: int, descriptors: list[bytes]) -> None:
        self.out, self.max_bytes, self.descriptors = out, max_bytes, descriptors
        self.tmp: list[str] = []
        self.fh = None
        self._open()

    def _open(self) -> None:
        if self.fh is not None:
            self.fh.close()
        head, tail = os.path.split(os.path.abspath(self.out))
        path = os.path.join(head, f".{tail}.part{len(self.tmp) + 1}.{os.getpid()}.tmp")
        self.tmp.append(path)
        self.fh = open(path, "wb")
        self.size = 0
        self.names: dict[str, int] = {}
        self.cats: dict[str, int] = {}
        self.ann: dict[str, int] = {}
        self.first = True
        for d in self.descriptors:
            self._raw(_bf(_PKT_TD, d))

    def _raw(self, fields: bytes) -> None:
        pkt = _SEQ + fields
        if self.first:  # the first packet of a part clears the sequence's incremental state
            pkt = _vf(_PKT_FLAGS, _SEQ_CLEARED) + pkt
            self.first = False
        data = b"\x0a" + _varint(len(pkt)) + pkt
        self.fh.write(data)
        self.size += len(data)

    def packets(self, pkts: list[bytes]) -> None:
        """Packets already encoded (their fields after the sequence id), written at once."""
        data = b"".join(b"\x0a" + _varint(len(p) + 2) + _SEQ + p for p in pkts)
        self.fh.write(data)
        self.size += len(data)

    def boundary(self) -> None:
        """A point where a new part may start (between frames)."""
        if self.size >= self.max_bytes:
            self._open()

    def intern(self, table: dict[str, int], field: int, text: str, pending: list[bytes]) -> int:
        iid = table.get(text)
        if iid is None:
            iid = table[text] = len(table) + 1
            pending.append(_bf(field, _vf(1, iid) + _sf(2, text)))
        return iid

    def event(self, ts_ns: int, te: bytes, pending: list[bytes], interned: bool = False) -> None:
        """One TrackEvent packet; ``interned``: it refers to interned names (``pending`` holds
        the ones this packet defines)."""
        fields = _vf(_PKT_TS, ts_ns) + _bf(_PKT_TE, te)
        if pending:
            fields += _bf(_PKT_INTERNED, b"".join(pending))
        self._raw(fields + _vf(_PKT_FLAGS, _SEQ_NEEDS) if interned else fields)

    def close(self) -> list[str]:
        self.fh.close()
        self.fh = None
        if len(self.tmp) == 1:
            finals = [self.out]
        else:
            stem, ext = os.path.splitext(self.out)
            finals = [f"{stem}-{i + 1:03d}{ext or '.pftrace'}" for i in range(len(self.tmp))]
        for t, f in zip(self.tmp, finals):
            os.chmod(t, 0o644)
            os.replace(t, f)
        return finals

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
        for t in self.tmp:
            try:
                os.unlink(t)
            except OSError:
                pass


def _track(uuid: int, name: str, parent: int = 0, process: int = 0, thread: tuple[int, int] | None = None,
           counter: bool = False) -> bytes:
    d = _vf(_TD_UUID, uuid) + _sf(_TD_NAME, name)
    if parent:
        d += _vf(_TD_PARENT, parent)
    if process:
        d += _bf(_TD_PROCESS, _vf(1, process) + _sf(6, name))
    if thread is not None:
        d += _bf(_TD_THREAD, _vf(1, thread[0]) + _vf(2, thread[1]) + _sf(5, name))
    if counter:
        d += _bf(_TD_COUNTER, b"")
    return d


def _lanes(F) -> tuple[dict[tuple[str, int], int], int]:
    """Accelerator lane of every frame that ran (frames that overlap go to further lanes)."""
    start, end = F["start_s"].to_numpy(float), F["end_s"].to_numpy(float)
    ran = np.isfinite(start) & np.isfinite(end)
    lanes_end: list[int] = []
    lane_of: dict[tuple[str, int], int] = {}
    streams, frames = F["stream"].astype(str).to_numpy(), F["frame"].to_numpy()
    for i in np.argsort(np.where(ran, start, np.inf), kind="stable"):
        if not ran[i]:
            break
        lane_of[(str(streams[i]), int(frames[i]))] = take_lane(lanes_end, _ns(start[i]), _ns(end[i]))
    return lane_of, max(1, len(lanes_end))


def export_perfetto(trace, out: str | os.PathLike, layers: bool = True, max_bytes: int = MAX_PART_BYTES) -> list[str]:
    """Write ``trace`` (a Trace or a trace path) as Perfetto protobuf part(s) (see the module doc);
    returns the paths written. ``layers=False`` leaves out the layer slices."""
    out = os.fspath(out)
    src = trace.path if isinstance(trace, Trace) else os.fspath(trace)
    if os.path.isdir(out):
        raise OutputError(f"perfetto trace {out} is a folder; give a file name")
    check_not_input(out, (src,), "perfetto trace")
    prepare_parent(out, "perfetto trace")
    if isinstance(trace, Trace):
        return _write(trace, out, layers, max_bytes)
    with _open_trace(trace) as t:
        return _write(t, out, layers, max_bytes)


def _write(t: Trace, out: str, layers: bool, max_bytes: int) -> list[str]:
    F = t.frames
    R = t.resources
    streams = sorted(F["stream"].astype(str).unique())
    lane_of, n_lanes = _lanes(F)
    res_names = sorted({(str(r), str(u)) for r, u in zip(R["resource"], R["unit"])})
    desc = [_track(_U_HOST, "host (frames per stream)", process=1), _track(_U_ACCEL, "accelerator", process=2),
            _track(_U_RES, "resources", process=3), _track(_U_RES_THREAD, "resources", parent=_U_RES, thread=(3, 1))]
    desc += [_track(_U_STREAM0 + i, f"stream {s}", parent=_U_HOST, thread=(1, i + 1)) for i, s in enumerate(streams)]
    desc += [_track(_U_LANE0 + k, "inference" if k == 0 else f"inference ({k + 1})", parent=_U_ACCEL,
                    thread=(2, k + 1)) for k in range(n_lanes)]
    counter_of = {}
    for j, (r, u) in enumerate(res_names):
        counter_of[(r, u)] = _U_COUNTER0 + j
        desc.append(_track(_U_COUNTER0 + j, f"{r} [{u}]" if u else r, parent=_U_RES, counter=True))
    w = _PartWriter(out, max_bytes, desc)
    try:
        _events(t, w, F, R, streams, lane_of, counter_of, layers)
        return w.close()
    except BaseException:
        w.abort()
        raise


def _layer_runs(t: Trace) -> Iterator[tuple[tuple[str, int], dict[str, np.ndarray]]]:
    """The /layers rows, one frame's run of rows at a time (rows of one frame are consecutive)."""
    cols = ["stream", "frame", "name", "op_class", "start_s", "end_s"]
    carry = None
    for L in t.iter_table("layers", cols, chunk_rows=LAYER_CHUNK_ROWS):
        if not len(L):
            continue
        data = {c: L[c].to_numpy() for c in cols}
        data["stream"] = data["stream"].astype(str)
        key_change = np.flatnonzero((data["frame"][1:] != data["frame"][:-1]) |
                                    (data["stream"][1:] != data["stream"][:-1])) + 1
        bounds = [0, *key_change.tolist(), len(L)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            run = {c: v[a:b] for c, v in data.items()}
            key = (str(run["stream"][0]), int(run["frame"][0]))
            if carry is not None and carry[0] == key:
                carry = (key, {c: np.concatenate([carry[1][c], run[c]]) for c in cols})
                continue
            if carry is not None:
                yield carry
            carry = (key, run)
    if carry is not None:
        yield carry


def _events(t: Trace, w: _PartWriter, F, R, streams, lane_of, counter_of, layers: bool) -> None:
    tid_of = {s: _U_STREAM0 + i for i, s in enumerate(streams)}
    runs = _layer_runs(t) if layers else iter(())
    pending_run = next(runs, None)
    res_t = R["time_s"].to_numpy(float) if len(R) else np.empty(0)
    res_order = np.argsort(res_t, kind="stable")
    ri = 0
    cols = {c: F[c].to_numpy() for c in F.columns}
    for i in range(len(F)):
        s, n = str(cols["stream"][i]), int(cols["frame"][i])
        start, end = float(cols["start_s"][i]), float(cols["end_s"][i])
        horizon = end if math.isfinite(end) else float(cols["deadline_s"][i])
        while ri < len(res_order) and res_t[res_order[ri]] <= horizon:  # counters in time order
            _resource(w, R, int(res_order[ri]), counter_of)
            ri += 1
        run = None
        if pending_run is not None and pending_run[0] == (s, n):
            run, pending_run = pending_run[1], next(runs, None)
        _frame(w, cols, i, s, n, start, end, tid_of[s], lane_of.get((s, n)), run)
        w.boundary()
    while pending_run is not None:  # layer rows of no frame row (a killed run's last frame)
        _layers(w, pending_run[1], _U_LANE0)
        pending_run = next(runs, None)
    while ri < len(res_order):
        _resource(w, R, int(res_order[ri]), counter_of)
        ri += 1


def _frame(w: _PartWriter, cols, i, s, n, start, end, track, lane, run) -> None:
    config, dropped, missed = str(cols["config"][i]), bool(cols["dropped"][i]), bool(cols["missed"][i])
    ran = math.isfinite(start) and math.isfinite(end)
    if not ran and not dropped:
        return  # nothing to show (names are interned only for packets that are written)
    label = f"{s} #{n}"
    ann: list[bytes] = []
    pend: list[bytes] = []

    def a(name: str, value: Any) -> None:
        iid = w.intern(w.ann, _ID_ANN_NAMES, name, pend)
        if isinstance(value, bool):
            v = _vf(_ANN_BOOL, int(value))
        elif isinstance(value, (int, np.integer)):
            v = _vf(_ANN_INT, int(value))
        elif isinstance(value, float):
            v = _df(_ANN_DOUBLE, value) if math.isfinite(value) else _sf(_ANN_STR, "unknown")
        else:
            v = _sf(_ANN_STR, str(value))
        ann.append(_bf(_TE_ANN, _vf(_ANN_NAME_IID, iid) + v))

    a("config", config)
    a("arrival_s", float(cols["arrival_s"][i]))
    a("deadline_s", float(cols["deadline_s"][i]))
    a("latency_ms", float(cols["latency_s"][i]) * 1e3)
    a("energy_mj", float(cols["energy_j"][i]) * 1e3)
    a("accuracy", float(cols["accuracy"][i]))
    a("missed", missed)
    a("dropped", dropped)
    group = ""
    if "pe_first" in cols and ran:  # a spatial run (traces.tenancy): the frame's partition and PE group
        first, count = float(cols["pe_first"][i]), float(cols["pe_count"][i])
        a("partition", int(cols["partition"][i]))
        a("pe_group", f"PEs {int(first)}-{int(first + count) - 1}")
        a("pe_share", float(cols["pe_share"][i]))
        a("dram_share", float(cols["dram_share"][i]))
        group = f" [PEs {int(first)}-{int(first + count) - 1}]"
    args = b"".join(ann)
    if ran:
        name = f"{label} {config}".strip() + group + (" (missed)" if missed else " (aborted)" if dropped else "")
        ts, te = _ns(start), _ns(end)
        w.event(ts, _vf(_TE_TYPE, _BEGIN) + _vf(_TE_TRACK, track) + _sf(_TE_NAME, name) + args, pend, True)
        w.event(te, _vf(_TE_TYPE, _END) + _vf(_TE_TRACK, track), [])
        lane_uuid = _U_LANE0 + (lane or 0)
        w.event(ts, _vf(_TE_TYPE, _BEGIN) + _vf(_TE_TRACK, lane_uuid) + _sf(_TE_NAME, name), [])
        if run is not None:
            _layers(w, run, lane_uuid)
        w.event(te, _vf(_TE_TYPE, _END) + _vf(_TE_TRACK, lane_uuid), [])
        pend = []
    if dropped:
        t_drop = end if ran else float(cols["deadline_s"][i])
        why = "aborted at its end" if ran else "never run; marked at its deadline"
        a("when", why)
        w.event(_ns(t_drop), _vf(_TE_TYPE, _INSTANT) + _vf(_TE_TRACK, track) + _sf(_TE_NAME, f"dropped {label}")
                + b"".join(ann), pend, True)


def _layers(w: _PartWriter, run: dict[str, np.ndarray], lane_uuid: int) -> None:
    """The layer slices of one frame: the hot loop (one BEGIN and one END packet a layer, built
    from pre-encoded pieces: about 40 bytes a layer)."""
    ts = np.rint(run["start_s"].astype(float) * 1e9).astype(np.int64)
    te = np.maximum(ts, np.rint(run["end_s"].astype(float) * 1e9).astype(np.int64))
    names = run["name"].tolist()
    cats = run["op_class"].tolist()
    track = _vf(_TE_TRACK, lane_uuid)
    end_te = _vf(_TE_TYPE, _END) + track
    end_tail = _key(_PKT_TE, 2) + _varint(len(end_te)) + end_te
    begin = _vf(_TE_TYPE, _BEGIN) + track
    needs = _vf(_PKT_FLAGS, _SEQ_NEEDS)
    k_ts, k_te, k_id = _key(_PKT_TS, 0), _key(_PKT_TE, 2), _key(_PKT_INTERNED, 2)
    k_nid, k_cid = _key(_TE_NAME_IID, 0), _key(_TE_CAT_IIDS, 0)
    pkts: list[bytes] = []
    for k, (a, b) in enumerate(zip(ts.tolist(), te.tolist())):
        name, cat = names[k], cats[k]
        nid, cid = w.names.get(name), w.cats.get(cat)
        pend = b""
        if nid is None or cid is None:
            p: list[bytes] = []
            nid = w.intern(w.names, _ID_NAMES, str(name), p) if nid is None else nid
            cid = w.intern(w.cats, _ID_CATS, str(cat), p) if cid is None else cid
            w.names[name], w.cats[cat] = nid, cid
            body = b"".join(p)
            pend = k_id + _varint(len(body)) + body
        te_b = begin + k_nid + _varint(nid) + k_cid + _varint(cid)
        pkts.append(k_ts + _varint(a) + k_te + _varint(len(te_b)) + te_b + pend + needs)
        pkts.append(k_ts + _varint(b) + end_tail)
    w.packets(pkts)


def _resource(w: _PartWriter, R, i: int, counter_of) -> None:
    r, u, v = str(R["resource"].iat[i]), str(R["unit"].iat[i]), float(R["value"].iat[i])
    ts = _ns(R["time_s"].iat[i])
    if math.isfinite(v):
        w.event(ts, _vf(_TE_TYPE, _COUNTER) + _vf(_TE_TRACK, counter_of[(r, u)]) + _df(_TE_DCOUNTER, v), [])
    else:
        w.event(ts, _vf(_TE_TYPE, _INSTANT) + _vf(_TE_TRACK, _U_RES_THREAD)
                + _sf(_TE_NAME, f"{r} = {'unlimited' if v > 0 else v}"), [])
