// Hardware parameters fixed at elaboration, and the resources settable at run time.
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

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

// The C++ API checks what it is given and throws (cppyy turns it into a Python exception)
// instead of dividing by zero or indexing out of range.
inline void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("dynvit: " + what);
}

inline void check_hw(const HwConfig& hw) {
    require(hw.num_pes >= 1, "HwConfig.num_pes must be >= 1, got " + std::to_string(hw.num_pes));
    require(hw.lanes >= 1, "HwConfig.lanes must be >= 1, got " + std::to_string(hw.lanes));
    require(hw.vector_size >= 1, "HwConfig.vector_size must be >= 1, got " + std::to_string(hw.vector_size));
    require(hw.noc_bytes_per_cycle >= 1, "HwConfig.noc_bytes_per_cycle must be >= 1");
    require(hw.ppu_elements_per_cycle >= 1, "HwConfig.ppu_elements_per_cycle must be >= 1");
    require(std::isfinite(hw.dram_bandwidth_bytes_per_s) && hw.dram_bandwidth_bytes_per_s > 0,
            "HwConfig.dram_bandwidth_bytes_per_s must be finite and > 0");
    require(hw.dram_latency_ps >= 0, "HwConfig.dram_latency_ps must be >= 0");
    require(std::isfinite(hw.clock_hz) && hw.clock_hz > 0, "HwConfig.clock_hz must be finite and > 0");
    require(hw.accum_drain_cycles >= 0 && hw.accum_drain_cycles <= 1, "HwConfig.accum_drain_cycles must be 0 or 1");
}

}  // namespace dynvit
