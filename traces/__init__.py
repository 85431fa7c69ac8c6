"""HDF5 traces of dynvit-cosim runs: schema, writer, reader, summaries.

It imports only `vocab`: a trace describes itself (its component, counter and op-class
names travel in the file), so the schema the rest of the project writes and reads owes
nothing to the accelerator (contracts in ``pyproject.toml``).

    from traces import TraceWriter
    import traces

    with TraceWriter("run.h5", seed=1, scenario=src, hardware=hw, tool_version="0.1.0",
                     created="2025-01-01T00:00:00Z",
                     layer_extra_columns=["energy_mac_j", "energy_dram_j"]) as w:
        w.add_config("segformer-b2@512x512", model="segformer-b2", knobs={}, macs=..., params=...)
        w.append_layers({"stream": "cam0", "frame": 0, "layer": idx, "name": names, ...})
        w.append_frames([{"stream": "cam0", "frame": 0, ...}])

    with traces.open("run.h5") as t:
        t.frames, t.layers, t.resources, t.configs, t.meta
        t.vocabulary      # energy components, counters, op classes, levels (from the file)
        traces.summary(t)
"""

from .output import OutputClaim, OutputError
from .reader import Trace, TraceFormatError, open
from .schema import SCHEMA_MINOR_VERSION, SCHEMA_VERSION
from .summary import accuracy_metrics, config_counts, summary, summary_dict
from .superblock import clear_write_flags
from .vocabulary import TraceVocabulary
from .writer import TraceWriteError, TraceWriter

__all__ = [
    "OutputClaim",
    "OutputError",
    "SCHEMA_MINOR_VERSION",
    "SCHEMA_VERSION",
    "Trace",
    "TraceFormatError",
    "TraceVocabulary",
    "TraceWriteError",
    "TraceWriter",
    "accuracy_metrics",
    "clear_write_flags",
    "config_counts",
    "open",
    "summary",
    "summary_dict",
]
