// A bandwidth server: one channel that serves transfers in request order. A transfer
// issued at time t starts when the channel is free, occupies it for a time given by the
// server's rate law and completes the law's latency later (latency is pipelined: it does
// not occupy the channel). The rate is read at the start of each transfer (runtime
// resources act at once). Two instances: the DRAM and the NoC, which differ only in their
// rate law:
//   DRAM: bytes / (bandwidth x share) seconds, plus an access latency (DramRate);
//   NoC:  ceil(bytes / noc_bytes_per_cycle) cycles at the runtime clock, no latency (NocRate).
// Multicast of one operand tile to several PEs is one NoC transfer.
#pragma once
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <systemc>

#include "core.h"
#include "duration_memo.h"

namespace dynvit {

// DRAM: bytes / (bandwidth x share) seconds, rounded up to the ps, plus the access latency.
struct DramRate {
    DurationMemo memo;
    DYNVIT_INLINE int64_t occupancy_ps(const Core& core, int64_t bytes) {
        const double bw = core.hw.dram_bandwidth_bytes_per_s, share = core.rt.dram_share;
        return memo.get(bytes, bw, share, [&] {
            const double rate = bw * share;  // B/s
            const double occ = std::ceil((double)bytes * 1e12 / rate);
            if (!(occ < 9.2e18)) throw std::overflow_error("dynvit: a DRAM transfer would last beyond the int64 ps range");
            return (int64_t)occ;
        });
    }
    int64_t latency_ps(const Core& core) const { return core.hw.dram_latency_ps; }
};

// NoC: whole cycles of noc_bytes_per_cycle at the runtime clock; no latency beyond them.
struct NocRate {
    DurationMemo memo;
    DYNVIT_INLINE int64_t occupancy_ps(const Core& core, int64_t bytes) {
        const int64_t per_cycle = core.hw.noc_bytes_per_cycle;
        const double clock = core.rt.clock_hz;
        return memo.get(bytes, (double)per_cycle, clock, [&] { return cycles_to_ps(cdiv(bytes, per_cycle), clock); });
    }
    int64_t latency_ps(const Core&) const { return 0; }
};

template <class RateLaw>
struct BandwidthServer : sc_core::sc_module {
    Core& core;
    RateLaw law;
    int64_t free_at = 0;  // ps
    BandwidthServer* via = nullptr;  // a partition's unpartitioned channel: the shared server serves it

    BandwidthServer(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) {}

    // Reserve a transfer issued at time t (the model's local time, >= the kernel's); returns
    // its completion time (ps).
    DYNVIT_INLINE int64_t reserve(int64_t bytes, int64_t t) { return via ? via->serve(bytes, t) : serve(bytes, t); }
    DYNVIT_INLINE int64_t serve(int64_t bytes, int64_t t) {
        if (bytes <= 0) return t;
        const int64_t start = std::max(t, free_at);
        free_at = start + law.occupancy_ps(core, bytes);
        return free_at + law.latency_ps(core);
    }
};

using Dram = BandwidthServer<DramRate>;
using Noc = BandwidthServer<NocRate>;

}  // namespace dynvit
