// DMA engine: one process driving two DMA channels, a load channel and a store channel.
//
// Load channel: layer by layer (a layer starts when the previous layer's outputs are all
//   stored), walks the layer's tiles in loop order. Whenever an input slot is free it
//   issues the transfer of the next tile's operand tiles whose index changed (DRAM ->
//   global buffer -> NoC -> PE buffers; the DRAM and the NoC are bandwidth servers, so the
//   transfer's completion time is known when it is issued) and puts the tile into the slot
//   with that ready time (double buffering: the load of tile i+1 overlaps the compute of
//   tile i); the compute unit starts the tile when its operands are in.
// Store channel: each finished output tile (after its last reduction tile) takes a slot of
//   the output double buffer in the global buffer and its write PEs -> NoC -> global
//   buffer -> DRAM is issued at once; it overlaps the compute of later tiles and the slot
//   frees when the write completes. The layer ends when its last output is in DRAM (and,
//   after the last layer, the inference: sc_pause).
//
// Timing is the same as with one SystemC thread per channel woken by "slot free" and
// "output ready" events, but without those wake-ups: the compute unit hands a finished
// tile over with a zero-time call at its tile boundary (store() of its outputs, then fill()
// of the freed input slot: the order in which the two threads issued them), and the engine's
// process (an SC_METHOD) runs only to start inferences and layers and to end a layer when
// its last store completes (a timed notification). Requests are served by the DRAM and
// NoC servers in issue order, so the two channels contend for bandwidth as before.
#pragma once
#include <algorithm>
#include <systemc>

#include "bandwidth_server.h"
#include "core.h"
#include "global_buffer.h"

namespace dynvit {

SC_MODULE(Dma) {
    Core& core;
    Dram& dram;
    Noc& noc;
    GlobalBuffer& glb;

    // load channel: the inference and layer being walked
    Job* job = nullptr;
    int64_t next_layer = 0;
    TileWalker walker;
    // store channel: the last output of the open layer, in flight until layer_end_ps
    // (pointers to a job are followed only while Core::epoch says it is still running:
    // an ended job may have been released by the host)
    Job* layer_end_job = nullptr;
    int64_t layer_end_ps = 0, layer_end_epoch = -1;
    sc_core::sc_event ev_store_done{"ev_store_done"};

    SC_HAS_PROCESS(Dma);
    Dma(sc_core::sc_module_name name, Core& c, Dram& d, Noc& n, GlobalBuffer& g)
        : sc_module(name), core(c), dram(d), noc(n), glb(g) {
        SC_METHOD(engine);
        sensitive << core.ev_job << ev_store_done;
        dont_initialize();
    }

    void engine() {
        core.count_activation();
        core.engine_running = true;
        const int64_t t = now_ps();
        Job* j = layer_end_job;
        if (j && t >= layer_end_ps) {  // the last output of a layer is in DRAM
            layer_end_job = nullptr;
            if (layer_end_epoch == core.epoch && j == core.active && j == job && !j->finished) {
                core.retire_outputs(t);
                j->row(j->cur_layer)[CTR_STALL_DRAM_PS] += t - j->last_compute_end;
                core.end_layer(j);
                if (j->layers_done == j->prog->n_layers) core.end_job(j, false);
                else start_layers(j);
            }
        }
        while (!core.active && !core.queue.empty()) {  // idle: take the next inference
            j = core.queue.front();
            core.queue.pop_front();
            core.active = j;
            j->started = true;
            j->start_ps = t;
            job = j;
            next_layer = 0;
            start_layers(j);
            // this activation started the inference: it counts against the layer it began
            if (!j->finished && j->cur_layer >= 0) ++j->acts[j->cur_layer];
        }
        core.engine_running = false;
    }

    // Begin the next layer that has tiles: fill the input slots and wake its compute unit.
    // Layers without tiles begin and end at once; after the last layer (or at an abort seen
    // at a layer boundary) the inference ends.
    void start_layers(Job* j) {
        const Program& prog = *j->prog;
        for (;;) {
            if (j->finished) return;
            if (next_layer >= prog.n_layers) { core.end_job(j, j->abort_req); return; }
            if (j->abort_req) { core.end_job(j, true); return; }
            const int64_t l = next_layer++;
            walker.init(prog.layer(l), core.hw);
            core.begin_layer(j, l);
            if (walker.num_tiles() == 0) {  // nothing to do
                core.end_layer(j);
                continue;
            }
            fill(now_ps());
            core.ev_in_ready[walker.kind()].notify();
            return;
        }
    }

    // Temporal decoupling across a layer boundary: when the open layer's last store completes
    // by the horizon and the next layer has tiles, end the layer and start the next one in
    // local time at that instant -- what engine() would do then -- and return that time (-1:
    // left to engine(): the inference's end, an abort, per-tile mode, or past the horizon).
    int64_t layer_end_inline() {
        Job* j = layer_end_job;
        if (!j || core.sync_tile || layer_end_ps > core.horizon_ps || j->abort_req || j->finished) return -1;
        if (layer_end_epoch != core.epoch || j != core.active || j != job) return -1;
        const Program& prog = *j->prog;
        if (next_layer >= prog.n_layers) return -1;  // the inference ends: at the kernel's time
        if (TileWalker::count_tiles(prog.layer(next_layer)) == 0) return -1;
        const int64_t te = layer_end_ps;
        layer_end_job = nullptr;
        ev_store_done.cancel();
        core.retire_outputs(te);
        j->row(j->cur_layer)[CTR_STALL_DRAM_PS] += te - j->last_compute_end;
        core.end_layer(j, te, true);
        const int64_t l = next_layer++;
        walker.init(prog.layer(l), core.hw);
        core.begin_layer(j, l, te);
        fill(te);
        return te;
    }

    // Load channel: issue the next tiles of the layer into the free input slots (called at
    // a layer's start and by the compute unit when it frees a slot), at (local) time t.
    void fill(int64_t t) {
        Job* j = job;
        if (!j || j != core.active || j->finished || j->abort_req) return;  // abort: compute ends the job at its tile boundary
        int64_t* row = j->row(j->cur_layer);
        while (!core.in.full() && walker.has_next()) {
            // build the next tile in place in the free slot
            InTile& tile = core.in.back_free();
            TileLoad load;
            tile.w = walker.next(load);
            tile.job = j;
            tile.layer = j->cur_layer;
            // issue the transfer: DRAM (bandwidth server) and NoC in parallel
            int64_t done = dram.reserve(load.dram_read, t);
            if (load.noc_in) done = std::max(done, noc.reserve(load.noc_in, t));
            row[CTR_DRAM_READ] += load.dram_read;
            glb.write(row, load.glb_write);
            glb.read(row, load.glb_read);
            row[CTR_NOC] += load.noc_in;
            row[CTR_WBUF_WRITE] += load.wbuf_write;
            row[CTR_IBUF_WRITE] += load.ibuf_write;
            tile.ready_ps = done;
            ++core.in.count;
        }
    }

    // Store channel: a tile's outputs are complete (the compute unit made sure an output
    // slot is free); issue their write at (local) time t.
    void store(Job* j, int64_t layer, int64_t bytes, bool via_noc, bool last, int64_t t) {
        int64_t* row = j->row(layer);
        int64_t done = dram.reserve(bytes, t);
        if (via_noc) done = std::max(done, noc.reserve(bytes, t));
        core.out.push(OutTile{done});
        row[CTR_DRAM_WRITE] += bytes;
        if (via_noc) row[CTR_NOC] += bytes;  // PEs -> NoC -> global buffer
        glb.write(row, bytes);                 // (the PPU writes the GLB directly)
        glb.read(row, bytes);                  // global buffer -> DRAM
        if (last) {  // the layer ends when its last output is in DRAM
            layer_end_job = j;
            layer_end_ps = done;
            layer_end_epoch = core.epoch;
            ev_store_done.cancel();
            ev_store_done.notify(ps(std::max<int64_t>(0, done - now_ps())));
        }
    }
};

}  // namespace dynvit
