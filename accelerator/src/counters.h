// Per-layer action counters of the accelerator model.
// Mirrors accelerator/counters.py (COUNTERS), THE definition; tests/test_accelerator.py
// checks that names and order agree.
#pragma once

namespace dynvit {

enum Counter : int {
    CTR_START_PS = 0,
    CTR_END_PS,
    CTR_CYCLES,
    CTR_COMPUTE_CYCLES,
    CTR_TILES,
    CTR_MACS_USEFUL,
    CTR_MACS_ISSUED,
    CTR_WBUF_READ,
    CTR_WBUF_WRITE,
    CTR_IBUF_READ,
    CTR_IBUF_WRITE,
    CTR_ACCBUF_READ,
    CTR_ACCBUF_WRITE,
    CTR_GLB_READ,
    CTR_GLB_WRITE,
    CTR_NOC,
    CTR_DRAM_READ,
    CTR_DRAM_WRITE,
    CTR_PPU_OPS,
    CTR_STALL_DRAM_PS,
    NUM_COUNTERS
};

inline const char* counter_name(int i) {
    static const char* const names[NUM_COUNTERS] = {
        "start_ps", "end_ps", "cycles", "compute_cycles", "tiles",
        "macs_useful", "macs_issued",
        "wbuf_read_bytes", "wbuf_write_bytes", "ibuf_read_bytes", "ibuf_write_bytes",
        "accbuf_read_bytes", "accbuf_write_bytes", "glb_read_bytes", "glb_write_bytes",
        "noc_bytes", "dram_read_bytes", "dram_write_bytes", "ppu_ops", "stall_dram_ps",
    };
    return (i >= 0 && i < NUM_COUNTERS) ? names[i] : "";
}

}  // namespace dynvit
