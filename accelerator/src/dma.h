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

    // load channel: the inference being walked (its walk is kept with it: Job::walker)
    Job* job = nullptr;
    // a preempted inference whose checkpoint spill is in flight until vacate_ps
    Job* vacate_job = nullptr;
    int64_t vacate_ps = 0;
    sc_core::sc_event ev_vacated{"ev_vacated"};
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
        sensitive << core.ev_job << ev_store_done << ev_vacated;
        dont_initialize();
    }

    void engine() {
        core.count_activation();
        core.engine_running = true;
        const int64_t t = now_ps();
        if (vacate_job && t >= vacate_ps) {  // a checkpoint's spill is in DRAM: the inference leaves
            Job* v = vacate_job;
            vacate_job = nullptr;
            if (!v->finished && v == core.active) vacate(v, t);
        }
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
            job = j;
            if (j->suspended) {
                resume(j, t);
            } else {
                j->started = true;
                j->start_ps = t;
                j->next_layer = 0;
                start_layers(j);
            }
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
            if (j->next_layer >= prog.n_layers) { core.end_job(j, j->abort_req); return; }
            if (j->abort_req) { core.end_job(j, true); return; }
            if (j->preempt_req) { suspend(j, now_ps(), nullptr); return; }  // at a layer boundary
            const int64_t l = j->next_layer++;
            j->walker.init(prog.layer(l), core.hw);
            core.begin_layer(j, l);
            if (j->walker.num_tiles() == 0) {  // nothing to do
                core.end_layer(j);
                continue;
            }
            fill(now_ps());
            core.ev_in_ready[j->walker.kind()].notify();
            return;
        }
    }

    // Temporal decoupling across a layer boundary: when the open layer's last store completes
    // by the horizon and the next layer has tiles, end the layer and start the next one in
    // local time at that instant -- what engine() would do then -- and return that time (-1:
    // left to engine(): the inference's end, an abort, per-tile mode, or past the horizon).
    int64_t layer_end_inline() {
        Job* j = layer_end_job;
        if (!j || core.sync_tile || layer_end_ps > core.horizon_ps || j->abort_req || j->preempt_req || j->finished)
            return -1;
        if (layer_end_epoch != core.epoch || j != core.active || j != job) return -1;
        const Program& prog = *j->prog;
        if (j->next_layer >= prog.n_layers) return -1;  // the inference ends: at the kernel's time
        if (TileWalker::count_tiles(prog.layer(j->next_layer)) == 0) return -1;
        const int64_t te = layer_end_ps;
        layer_end_job = nullptr;
        ev_store_done.cancel();
        core.retire_outputs(te);
        j->row(j->cur_layer)[CTR_STALL_DRAM_PS] += te - j->last_compute_end;
        core.end_layer(j, te, true);
        const int64_t l = j->next_layer++;
        j->walker.init(prog.layer(l), core.hw);
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
        TileWalker& walker = j->walker;
        while (!core.in.full() && walker.has_next()) {
            // build the next tile in place in the free slot
            InTile& tile = core.in.back_free();
            TileLoad& load = tile.load;
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

    // -- preemption (tenants) ----------------------------------------------------------
    // The inference j stops at time t (the kernel's): at a tile boundary (done_tile: the tile it
    // just computed, its slot already popped) or at a layer boundary (nullptr). KILL discards its
    // progress (it restarts from its first layer; the work it did stays counted, and its useful
    // MACs in preempt_discarded_macs). CHECKPOINT and DRAIN keep it: outputs already handed to
    // the store channel reach DRAM, then the partial sums of the output tile in progress are
    // spilled (DRAM write through the NoC and the global buffer); at a layer boundary nothing is
    // live on chip (every layer's outputs are in DRAM). The inference leaves the accelerator when
    // the spill is in DRAM (a completion with `preempted`, and sc_pause, at that instant).
    void suspend(Job* j, int64_t t, const InTile* done_tile) {
        const int64_t layer = std::max<int64_t>(0, std::min<int64_t>(j->cur_layer, j->prog->n_layers - 1));
        int64_t* row = j->row(layer);
        row[CTR_PREEMPTIONS] += 1;
        ++core.epoch;  // work of the stopped run in flight (stores, the other unit) is dropped
        j->preempt_req = false;
        j->preempt_from = t;
        layer_end_job = nullptr;
        j->ahead.clear();
        if (j->preempt_mech == PREEMPT_KILL) {
            int64_t macs = 0;  // useful MACs since the last kill (earlier kills' are counted already)
            for (int64_t l = 0; l < j->prog->n_layers; ++l)
                macs += j->row(l)[CTR_MACS_USEFUL] - j->row(l)[CTR_PREEMPT_DISCARDED_MACS];
            row[CTR_PREEMPT_DISCARDED_MACS] += macs;
            if (core.layer_open) core.end_layer(j, t, false);
            j->layers_done = 0;
            j->next_layer = 0;
            j->cur_layer = -1;
            j->ck = Checkpoint();
            vacate(j, t);
            return;
        }
        Checkpoint ck;
        if (done_tile) {
            ck.mid_layer = true;
            const TileLoad& h = done_tile->load;
            ck.psum = done_tile->w->last_c ? 0 : done_tile->w->psum_bytes;
            ck.held_w = h.held_w; ck.held_wbuf = h.held_wbuf; ck.held_i = h.held_i; ck.held_ibuf = h.held_ibuf;
            ck.resident = h.resident;
            while (!core.in.empty()) { j->ahead.push_back(core.in.front()); core.in.pop(); }
        }
        core.in.clear();
        int64_t t0 = t;  // stores in flight complete first
        for (unsigned i = 0; i < core.out.count; ++i) t0 = std::max(t0, core.out.at(i).done_ps);
        int64_t done = t0;
        if (ck.psum) {
            done = std::max(dram.reserve(ck.psum, t0), noc.reserve(ck.psum, t0));
            row[CTR_PREEMPT_SPILL] += ck.psum;
            row[CTR_PREEMPT_NOC] += ck.psum;
            row[CTR_PREEMPT_ACCBUF_READ] += ck.psum;
            row[CTR_PREEMPT_GLB_WRITE] += ck.psum;
            row[CTR_PREEMPT_GLB_READ] += ck.psum;
        }
        j->ck = ck;
        if (core.layer_open) { core.mark_cycles(j, t); core.layer_open = false; }  // the layer stays open in j
        row[CTR_PREEMPT_PS] += done - t;
        if (done <= now_ps()) {
            vacate(j, now_ps());
        } else {
            vacate_job = j;
            vacate_ps = done;
            ev_vacated.notify(ps(done - now_ps()));
        }
    }

    // j leaves the accelerator now (suspended): the host sees a completion marked preempted.
    void vacate(Job* j, int64_t t) {
        j->suspended = true;
        core.in.clear();
        core.out.clear();
        if (core.active == j) core.active = nullptr;
        if (job == j) job = nullptr;
        // no compute unit holds a tile of j now (the input slots were emptied when it stopped, and a
        // tile of another run would be dropped by the epoch), so none is woken
        if (!core.queue.empty() && !core.engine_running) core.ev_job.notify();
        core.completions.push_back(Completion{j->id, t, false, true});
        core.horizon_ps = t;
        sc_core::sc_pause();
    }

    // Take a suspended inference back at time t. At a layer boundary (or after a KILL) it goes
    // on with its next layer. Inside a layer the DMA first reloads what the checkpoint left:
    // the partial sums (DRAM -> global buffer -> NoC -> accumulation banks), the operand tiles of
    // the PE buffers (weights bypass the global buffer), the resident operands (DRAM -> global
    // buffer) and the tiles it had fetched ahead (their loads again); no tile starts before the
    // restore is in.
    void resume(Job* j, int64_t t) {
        j->suspended = false;
        const Checkpoint ck = j->ck;
        j->ck = Checkpoint();
        if (!ck.mid_layer) { start_layers(j); return; }
        int64_t* row = j->row(j->cur_layer);
        int64_t dr = ck.psum + ck.held_w + ck.held_i + ck.resident, nc = ck.psum + ck.held_w + ck.held_i;
        int64_t gw = ck.psum + ck.held_i + ck.resident, gr = ck.psum + ck.held_i;
        int64_t ww = ck.held_wbuf, iw = ck.held_ibuf;
        for (const InTile& a : j->ahead) {
            dr += a.load.dram_read; nc += a.load.noc_in; gw += a.load.glb_write; gr += a.load.glb_read;
            ww += a.load.wbuf_write; iw += a.load.ibuf_write;
        }
        int64_t done = dram.reserve(dr, t);
        if (nc) done = std::max(done, noc.reserve(nc, t));
        row[CTR_PREEMPT_RESTORE] += dr;
        row[CTR_PREEMPT_NOC] += nc;
        row[CTR_PREEMPT_GLB_WRITE] += gw;
        row[CTR_PREEMPT_GLB_READ] += gr;
        row[CTR_PREEMPT_ACCBUF_WRITE] += ck.psum;
        row[CTR_PREEMPT_WBUF_WRITE] += ww;
        row[CTR_PREEMPT_IBUF_WRITE] += iw;
        row[CTR_PREEMPT_PS] += done - t;
        core.layer_open = true;
        j->cyc_mark = t;
        j->last_compute_end = t;
        j->stall_floor = t;
        core.in.clear();
        core.out.clear();
        for (InTile& a : j->ahead) { a.ready_ps = done; core.in.push(a); }
        j->ahead.clear();
        fill(t);
        for (unsigned i = 0; i < core.in.count; ++i) {
            InTile& a = core.in.at(i);
            a.ready_ps = std::max(a.ready_ps, done);
        }
        if (!core.in.empty()) core.ev_in_ready[core.in.front().w->kind].notify();
    }
};

}  // namespace dynvit
