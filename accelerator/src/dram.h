// DRAM: a bandwidth server shared by the DMA engines (load and store).
// A transfer requested at time t starts when the channel is free, occupies it for
// bytes / (bandwidth x share) and completes one access latency later (latency is
// pipelined: it does not occupy the channel). Requests are served in request order.
// The share is read at the start of each transfer (runtime resource).
#pragma once
#include <algorithm>
#include <cmath>
#include <systemc>

#include "core.h"

namespace dynvit {

SC_MODULE(Dram) {
    Core& core;
    int64_t free_at = 0;  // ps

    Dram(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) {}

    // Reserve a transfer issued at time t (the model's local time, >= the kernel's); returns
    // its completion time (ps).
    int64_t reserve(int64_t bytes, int64_t t) {
        if (bytes <= 0) return t;
        const double rate = core.hw.dram_bandwidth_bytes_per_s * core.rt.dram_share;  // B/s
        const double occ_d = std::ceil((double)bytes * 1e12 / rate);
        if (!(occ_d < 9.2e18)) throw std::overflow_error("dynvit: a DRAM transfer would last beyond the int64 ps range");
        const int64_t occ = (int64_t)occ_d;
        const int64_t start = std::max(t, free_at);
        free_at = start + occ;
        return free_at + core.hw.dram_latency_ps;
    }
};

}  // namespace dynvit
