// PE array: num_pes PEs, each with `lanes` vector-MAC units of width vector_size and its
// own weight / input / accumulation buffers (capacities enforced by the mapper).
//
// compute_thread: takes the head tile of the input double buffer, waits until its
// operands have arrived (the load DMA issued the transfer earlier), and computes it.
// The mapping splits a tile into chunks, one per PE: output channels in whole lane
// groups x output rows. A chunk costs
//     ceil(K_pe/lanes) x rows x Q_t x N_t x ceil(C_t/VS) x R x S cycles
// (whole vectors along the reduction, whole lanes along the output channels) plus, after
// the last reduction tile, reading the partial sums out of the accumulation banks (one
// per lane per cycle). When a tile's reduction is complete within the tile, a PE sweeps
// its share in accumulation-bank-sized blocks; the cycle count is the same sum. With
// fewer active PEs than chunks the chunks run in rounds. Active PEs and the clock are
// read at the start of each tile (runtime resources act at tile boundaries). After the
// last reduction tile the outputs take an output slot in the global buffer for the
// store DMA. Buffer accesses (output-stationary inside the PE): per PE cycle one input
// vector (broadcast to the lanes) and one weight vector per lane; a lane keeps its partial
// sum over the tile's reduction and reads/writes the accumulation buffer once per output
// per reduction tile.
#pragma once
#include <algorithm>
#include <systemc>

#include "core.h"

namespace dynvit {

SC_MODULE(PeArray) {
    Core& core;

    SC_HAS_PROCESS(PeArray);
    PeArray(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) { SC_THREAD(compute_thread); }

    void compute_thread() {
        for (;;) {
            const int64_t idle_since = now_ps();
            while (core.in.empty() || core.in.front().w.kind != KIND_MAC) {
                wait(core.ev_in_ready_mac);
                ++core.activations;
            }
            const InTile& t = core.in.front();  // stays in its slot until popped
            Job* j = t.job;
            int64_t* row = j->row(t.layer);
            if (t.w.last_c && !core.acquire_out_slot(j)) continue;
            const int64_t cycles = core.run_tile(j, t.ready_ps, [&] {
                const int64_t active = std::max<int64_t>(1, std::min(core.rt.active_pes, core.hw.num_pes));
                return cdiv(t.w.nchunks, active) * (t.w.chunk_cycles + t.w.drain_cycles);
            });
            if (cycles < 0) continue;
            // waiting for operands or an output slot = waiting for the DMA
            row[CTR_STALL_DRAM_PS] += core.busy_from - std::max(idle_since, row[CTR_START_PS]);
            j->last_compute_end = now_ps();
            row[CTR_COMPUTE_CYCLES] += cycles;
            row[CTR_TILES] += 1;
            row[CTR_MACS_USEFUL] += t.w.macs_useful;
            row[CTR_MACS_ISSUED] += t.w.macs_issued;
            row[CTR_WBUF_READ] += t.w.wbuf_read;
            row[CTR_IBUF_READ] += t.w.ibuf_read;
            row[CTR_ACCBUF_READ] += t.w.acc_bytes;
            row[CTR_ACCBUF_WRITE] += t.w.acc_bytes;
            core.in.pop();
            core.ev_in_free.notify();
            if (j->abort_req) { core.end_job(j, true); continue; }
            if (t.w.last_c) {
                core.out.push(OutTile{j, t.layer, t.w.out_bytes, true, t.w.last, -1});
                core.ev_out_ready.notify();
            }
        }
    }
};

}  // namespace dynvit
