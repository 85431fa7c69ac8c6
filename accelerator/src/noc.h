// NoC between the global buffer and the PEs: a bandwidth server of
// noc_bytes_per_cycle at the current clock (read at the start of each transfer),
// shared by operand delivery (loads) and output collection (stores). Multicast of one
// operand tile to several PEs is one transfer.
#pragma once
#include <algorithm>
#include <systemc>

#include "core.h"

namespace dynvit {

SC_MODULE(Noc) {
    Core& core;
    int64_t free_at = 0;  // ps

    Noc(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) {}

    int64_t reserve(int64_t bytes, int64_t t) {  // issued at (local) time t
        if (bytes <= 0) return t;
        const int64_t cyc = cdiv(bytes, core.hw.noc_bytes_per_cycle);
        const int64_t start = std::max(t, free_at);
        free_at = start + cycles_to_ps(cyc, core.rt.clock_hz);
        return free_at;
    }
};

}  // namespace dynvit
