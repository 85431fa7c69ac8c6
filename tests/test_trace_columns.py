"""Reading a trace validates every table against the schema's types and the file's own vocabulary
(issue 20 item 6): a damaged column is one line naming the table and the column, in `traces.open`,
`cosim report` and `cosim export`, and no partial output is left."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import traces
from test_trace_vocabulary import write


def rewrite(src, dst, table: str, column: str, dtype=None) -> None:
    """A copy of ``src`` whose ``table.column`` is stored as ``dtype`` (None: left out)."""
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for t in f:
            data = f[t][()]
            if t == table:
                names = [n for n in data.dtype.names if n != column or dtype is not None]
                dt = np.dtype([(n, dtype if n == column else data.dtype[n]) for n in names])
                new = np.empty(len(data), dt)
                for n in names:
                    if n != column:
                        new[n] = data[n]
                    elif np.dtype(dtype).kind == "i":  # e.g. stream names as numbers
                        new[n] = np.arange(len(data))
                    else:
                        new[n] = data[n].astype(dtype)
                data = new
            ds = g.create_dataset(t, data=data, maxshape=(None,), chunks=True)
            for k, v in f[t].attrs.items():
                ds.attrs[k] = v


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from cosim.recorder import Recorder
    from test_trace_vocabulary import ENERGY_COMPONENTS  # the components of a run that cannot preempt

    p = tmp_path_factory.mktemp("cols") / "good.h5"
    write(p, Recorder.trace_vocabulary(ENERGY_COMPONENTS))  # a trace that declares its vocabulary
    with traces.open(p) as t:
        assert t.vocabulary.counter_columns and "c_macs_useful" in t.vocabulary.counter_columns
    return p


CASES = [
    ("frames", "stream", np.int64, r"column 'stream' of /frames is stored as int64, not str"),
    ("layers", "start_s", "S24", r"column 'start_s' of /layers is stored as \|S24, not float"),
    ("layers", "c_macs_useful", None, r"column 'c_macs_useful' of /layers is missing, though the file's vocabulary "
                                      r"declares it"),
]


@pytest.mark.parametrize("table, column, dtype, pattern", CASES)
def test_a_damaged_column_is_named_on_open(good, tmp_path, table, column, dtype, pattern):
    bad = tmp_path / "bad.h5"
    rewrite(good, bad, table, column, dtype)
    with pytest.raises(traces.TraceFormatError, match=pattern):
        traces.open(bad)


@pytest.mark.parametrize("table, column, dtype, pattern", CASES)
def test_report_and_export_say_one_line_and_leave_nothing(good, tmp_path, table, column, dtype, pattern):
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    bad = tmp_path / "bad.h5"
    rewrite(good, bad, table, column, dtype)
    runner = CliRunner()
    for args, left in ((["report", str(bad), "-o", str(tmp_path / "rep")], tmp_path / "rep"),
                       (["export", str(bad), "--chrome-trace", str(tmp_path / "x.json")], tmp_path / "x.json"),
                       (["export", str(bad), "--perfetto", str(tmp_path / "x.pftrace")], tmp_path / "x.pftrace")):
        r = runner.invoke(app, args, terminal_width=400)
        out = " ".join(r.output.split())
        assert r.exit_code == 2 and "Traceback" not in out and f"/{table}" in out and repr(column) in out, out
        assert not left.exists()
