// Hardware parameters fixed at elaboration, and the resources settable at run time.
// HwConfig and check_hw are generated from accelerator/hw_config.py (accelerator/codegen.py).
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "hw_config.gen.h"

namespace dynvit {

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

}  // namespace dynvit
