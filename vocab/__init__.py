"""The shared vocabulary of dynvit-cosim: what every subsystem may name and none owns.

- `vocab.params`: typed, documented, validated parameters (`Param`, `Component`, `ParamError`,
  `format_table`), the gem5 SimObject idea;
- `vocab.units`: the one time unit (integer picoseconds) and its conversions and bounds;
- `vocab.errors`: `UserError`, the base of every bad-input error (printed as one line, exit 2);
- `vocab.names`: the enumerations several subsystems share (op classes, preemption modes);
- `vocab.paths`: the one cache folder (`$DYNVIT_CACHE_DIR`).

This package imports nothing of ours; every other package may import it (the import
contracts in ``pyproject.toml`` enforce both directions).
"""
