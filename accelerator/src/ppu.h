// Post-processing unit: non-MAC operations (softmax, layer norm, GELU, resize,
// element-wise, pooling, ...) at ppu_elements_per_cycle element-operations per cycle,
// at the clock read at the start of each tile. It sits at the global buffer (no NoC).
// Each tile is a slice of the layer's output elements; `passes` element-operations per
// output element (set by the mapper per op type).
#pragma once
#include <algorithm>
#include <systemc>

#include "core.h"

namespace dynvit {

SC_MODULE(Ppu) {
    Core& core;

    SC_HAS_PROCESS(Ppu);
    Ppu(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) { SC_THREAD(compute_thread); }

    void compute_thread() {
        for (;;) {
            const int64_t idle_since = now_ps();
            while (core.in.empty() || core.in.front().w.kind != KIND_PPU) {
                wait(core.ev_in_ready_ppu);
                ++core.activations;
            }
            const InTile& t = core.in.front();  // stays in its slot until popped
            Job* j = t.job;
            int64_t* row = j->row(t.layer);
            if (!core.acquire_out_slot(j)) continue;
            const int64_t cycles = core.run_tile(j, t.ready_ps, [&] { return t.w.ppu_cycles; });
            if (cycles < 0) continue;
            row[CTR_STALL_DRAM_PS] += core.busy_from - std::max(idle_since, row[CTR_START_PS]);
            j->last_compute_end = now_ps();
            row[CTR_COMPUTE_CYCLES] += cycles;
            row[CTR_TILES] += 1;
            row[CTR_PPU_OPS] += t.w.ppu_ops;
            core.in.pop();
            core.ev_in_free.notify();
            if (j->abort_req) { core.end_job(j, true); continue; }
            core.out.push(OutTile{j, t.layer, t.w.out_bytes, false, t.w.last, -1});
            core.ev_out_ready.notify();
        }
    }
};

}  // namespace dynvit
