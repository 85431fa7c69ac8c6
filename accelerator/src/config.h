// Hardware parameters fixed at elaboration, and the resources settable at run time.
#pragma once
#include <cstdint>

namespace dynvit {

// Elaboration-time parameters (a subset of accelerator.params.HardwareParams that the
// timing model needs; buffer capacities are used by the mapper in Python).
struct HwConfig {
    int64_t num_pes = 16;
    int64_t lanes = 4;
    int64_t vector_size = 4;
    int64_t noc_bytes_per_cycle = 32;
    int64_t ppu_elements_per_cycle = 16;
    double dram_bandwidth_bytes_per_s = 25.6e9;
    int64_t dram_latency_ps = 43125;
    double clock_hz = 1e9;  // nominal clock (the initial runtime clock)
    int64_t accum_drain_cycles = 1;  // per output after the reduction (1: single-ported accumulation bank)
};

// Resources the host may change between sc_start calls. They are read at the start of
// each tile (clock, active PEs) and of each DRAM transfer (share), so a change takes
// effect at the next tile boundary.
struct Runtime {
    double clock_hz = 1e9;
    int64_t active_pes = 16;
    double dram_share = 1.0;
};

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace dynvit
