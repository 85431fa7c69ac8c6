// Spatial sharing (issue 22; Planaria, MICRO 2020; MoCA, HPCA 2023): a partition is one more
// tenant slot of the accelerator -- its own inference queue and state (Core), DMA engine, PE
// group and PPU -- that runs an inference at the same time as the others on a disjoint group of
// PEs (its Runtime::active_pes). What the partitions do not partition they share: every NoC
// transfer, and every DRAM transfer unless the bandwidth is partitioned, goes through the
// accelerator's one server (BandwidthServer::via), in request order, so the tenants interfere
// there as transfers of one inference do. With the bandwidth partitioned each partition has its
// own DRAM channel of rate bandwidth x its share. Partition 0 is the accelerator's own core (a
// run that uses no other partition is the single-tenant model, unchanged).
#pragma once
#include <cstdint>
#include <systemc>

#include "bandwidth_server.h"
#include "core.h"
#include "dma.h"
#include "global_buffer.h"
#include "pe_array.h"
#include "ppu.h"

namespace dynvit {

// Partitions of one accelerator (partition 0 included): a fixed number, elaborated once.
constexpr int64_t MAX_PARTITIONS = 4;
// Job ids of partition p start at p << JOB_PARTITION_SHIFT (partition 0: 1, 2, ... as before).
constexpr int JOB_PARTITION_SHIFT = 40;
inline int64_t partition_of_job(int64_t job) { return job >> JOB_PARTITION_SHIFT; }

// A running inference stops at the next tile boundary when its abort was requested.
inline void abort_if_requested(Core& core) {
    core.count_activation();
    Job* j = core.active;
    if (j && !j->finished && j->abort_req && !core.compute_busy()) core.end_job(j, true);
}

inline void set_runtime(Core& core, const HwConfig& hw) {
    core.hw = hw;
    core.rt.clock_hz = hw.clock_hz;
    core.rt.active_pes = hw.num_pes;
    core.rt.dram_share = 1.0;
}

// One tenant slot: its inference queue and state (Core) and the units that serve it. A base of
// the sc_module that holds it (the Accelerator, partition 0, and each Partition), after
// sc_module, so that its units are that module's children ("<module>.dram", ...).
struct Slot {
    Core core;
    Dram dram;
    Noc noc;
    GlobalBuffer glb;
    Dma dma;
    PeArray pes;
    Ppu ppu;

    Slot()
        : core(),
          dram("dram", core),
          noc("noc", core),
          glb("glb", core),
          dma("dma", core, dram, noc, glb),
          pes("pe_array", core, dma),
          ppu("ppu", core, dma) {}
};

// A partition's dram is its own DRAM channel, used when the bandwidth is partitioned; its noc
// forwards to the accelerator's NoC always.
struct Partition : sc_core::sc_module, Slot {
    SC_HAS_PROCESS(Partition);
    Partition(sc_core::sc_module_name name, int64_t index, const HwConfig& hw, Dram& shared_dram, Noc& shared_noc)
        : sc_module(name), Slot() {
        set_runtime(core, hw);
        core.next_job = (index << JOB_PARTITION_SHIFT) + 1;
        dram.via = &shared_dram;
        noc.via = &shared_noc;
        SC_METHOD(abort_method);
        sensitive << core.ev_abort;
        dont_initialize();
    }

    void abort_method() { abort_if_requested(core); }
};

}  // namespace dynvit
