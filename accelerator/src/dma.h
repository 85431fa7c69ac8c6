// DMA engines: a load thread and a store thread.
//
// load_thread: takes the next inference from the queue and, layer by layer (a layer
//   starts when the previous layer's outputs are all stored), walks its tiles in loop
//   order. For each tile it waits for a free input slot (double buffering: the load of
//   tile i+1 overlaps the compute of tile i), issues the transfer of the operand tiles
//   whose index changed (DRAM -> global buffer -> NoC -> PE buffers; the DRAM and the NoC
//   are bandwidth servers, so the transfer's completion time is known when it is issued)
//   and puts the tile into the slot with that ready time; the compute unit waits for it.
// store_thread: takes each finished output tile (after its last reduction tile) from
//   the output double buffer in the global buffer and issues its write
//   PEs -> NoC -> global buffer -> DRAM, which overlaps the compute of later tiles; the
//   slot frees when the write completes. After the last output of a layer it waits for
//   that write and ends the layer (and, after the last layer, the inference: sc_pause).
#pragma once
#include <algorithm>
#include <systemc>

#include "core.h"
#include "dram.h"
#include "global_buffer.h"
#include "noc.h"

namespace dynvit {

SC_MODULE(Dma) {
    Core& core;
    Dram& dram;
    Noc& noc;
    GlobalBuffer& glb;

    SC_HAS_PROCESS(Dma);
    Dma(sc_core::sc_module_name name, Core& c, Dram& d, Noc& n, GlobalBuffer& g)
        : sc_module(name), core(c), dram(d), noc(n), glb(g) {
        SC_THREAD(load_thread);
        SC_THREAD(store_thread);
    }

    void wait_act(const sc_core::sc_event& e) { wait(e); ++core.activations; }

    void load_thread() {
        for (;;) {
            while (core.layer_open) wait_act(core.ev_layer_done);
            while (core.queue.empty()) wait_act(core.ev_job);
            Job* j = core.queue.front();
            core.queue.pop_front();
            core.active = j;
            j->started = true;
            j->start_ps = now_ps();
            run_job(j);
            // The store thread ends the job when its last output is stored; a job whose
            // last layers have no tiles, or an abort seen at a layer boundary, ends here.
            if (!j->finished && !core.layer_open && (j->abort_req || j->layers_done == j->prog->n_layers))
                core.end_job(j, j->abort_req);
        }
    }

    void run_job(Job* j) {
        const Program& prog = *j->prog;
        for (int64_t l = 0; l < prog.n_layers; ++l) {
            while (core.layer_open && !j->finished) wait_act(core.ev_layer_done);
            if (j->finished) return;
            if (j->abort_req) { core.end_job(j, true); return; }
            TileWalker walker(prog.layer(l), core.hw);
            core.begin_layer(j, l);
            if (walker.num_tiles() == 0) {  // nothing to do
                core.end_layer(j);
                continue;
            }
            int64_t* row = j->row(l);
            while (walker.has_next()) {
                while (core.in.full() && !j->finished) wait_act(core.ev_in_free);
                if (j->finished || j->abort_req) return;  // abort: compute ends the job at its tile boundary
                // build the next tile in place in the free slot
                InTile& tile = core.in.item[(core.in.head + core.in.count) % 2];
                walker.next(tile.w);
                tile.job = j;
                tile.layer = l;
                const TileWork& w = tile.w;
                // issue the transfer: DRAM (bandwidth server) and NoC in parallel
                int64_t done = dram.reserve(w.dram_read);
                if (w.noc_in) done = std::max(done, noc.reserve(w.noc_in));
                row[CTR_DRAM_READ] += w.dram_read;
                glb.write(row, w.glb_write);
                glb.read(row, w.glb_read);
                row[CTR_NOC] += w.noc_in;
                row[CTR_WBUF_WRITE] += w.wbuf_write;
                row[CTR_IBUF_WRITE] += w.ibuf_write;
                tile.ready_ps = done;
                ++core.in.count;
                if (w.kind == KIND_MAC) core.ev_in_ready_mac.notify();
                else core.ev_in_ready_ppu.notify();
            }
        }
    }

    int first_unissued() const {
        for (int i = 0; i < core.out.count; ++i)
            if (core.out.item[(core.out.head + i) % 2].done_ps < 0) return (core.out.head + i) % 2;
        return -1;
    }

    void store_thread() {
        for (;;) {
            int slot;
            while ((slot = first_unissued()) < 0) wait_act(core.ev_out_ready);
            OutTile& o = core.out.item[slot];
            Job* j = o.job;
            int64_t* row = j->row(o.layer);
            int64_t done = dram.reserve(o.bytes);
            if (o.via_noc) done = std::max(done, noc.reserve(o.bytes));
            o.done_ps = done;
            core.ev_out_issued.notify();
            row[CTR_DRAM_WRITE] += o.bytes;
            if (o.via_noc) row[CTR_NOC] += o.bytes;  // PEs -> NoC -> global buffer
            glb.write(row, o.bytes);                   // (the PPU writes the GLB directly)
            glb.read(row, o.bytes);                    // global buffer -> DRAM
            if (o.last) {  // the layer ends when its last output is in DRAM
                const int64_t t = now_ps();
                if (done > t) { wait(ps(done - t)); ++core.activations; }
                if (j->finished) continue;  // aborted meanwhile
                core.retire_outputs();
                row[CTR_STALL_DRAM_PS] += now_ps() - j->last_compute_end;
                core.end_layer(j);
                if (j->layers_done == j->prog->n_layers) core.end_job(j, false);
            }
        }
    }
};

}  // namespace dynvit
