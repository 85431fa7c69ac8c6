// A compute unit (the PE array or the PPU) as one SC_METHOD with one activation per tile.
//
// The unit takes the head tile of the input double buffer. The tile starts when its
// operands have arrived (the DMA issued the transfer earlier; InTile::ready_ps) and, if
// the tile completes outputs, when an output slot is free (the oldest output's DRAM write
// completes: known, since stores are issued at once); it lasts cycles(tile) cycles at the
// clock; both the cycles and the clock are read when the tile is timed. The method then
// sleeps until the tile's end (a timed notification of its own event); a resource change
// before the tile starts (ev_compute_wake) re-times it, one after the start does not:
// runtime resources act at the next tile boundary. At the end the unit accounts the tile, frees its input slot
// (the DMA's load channel issues the next tile into it), hands its outputs to the store
// channel and times the next tile, all in the same activation. Between layers the unit is
// idle, sensitive to its "first tiles of a layer are in" event only.
#pragma once
#include <algorithm>
#include <systemc>

#include "core.h"
#include "dma.h"
#include "duration_memo.h"

namespace dynvit {

// Unit: the PE array or the PPU (CRTP: the per-tile calls below are resolved at compile time)
// provides
//   int64_t tile_cycles(const TileWork&) const       cycles of a tile with the current runtime resources
//   bool completes_outputs(const TileWork&) const    does the tile complete outputs (it needs an output
//                                                    slot, and they are stored after it)?
//   void account(int64_t* row, const TileWork&) const   counters of a computed tile (besides compute
//                                                    cycles and tiles)
template <class Unit>
struct ComputeUnit : sc_core::sc_module {
    Core& core;
    Dma& dma;
    const int kind;  // KIND_MAC or KIND_PPU: the tiles this unit takes

    // the tile being timed or computed (the head of the input double buffer)
    bool holding = false;
    int64_t epoch = 0;  // Core::epoch when taken: the inference has ended if it changed
    int64_t start_ps = 0, end_ps = 0, cycles = 0;
    int64_t idle_since = 0;  // end of the unit's previous tile
    sc_core::sc_event ev_tile_end;
    DurationMemo tile_ps;  // cycles -> ps at the runtime clock

    SC_HAS_PROCESS(ComputeUnit);
    ComputeUnit(sc_core::sc_module_name name, Core& c, Dma& d, int k)
        : sc_module(name), core(c), dma(d), kind(k), ev_tile_end("ev_tile_end") {
        // static sensitivity only (cheaper than a dynamic timeout per tile)
        SC_METHOD(step);
        sensitive << core.ev_in_ready[k] << ev_tile_end << core.ev_compute_wake;
        dont_initialize();
    }

    const Unit& unit() const { return static_cast<const Unit&>(*this); }

    void step() {
        core.count_activation();
        const int64_t now = now_ps();
        int64_t t = now;
        if (holding) {
            if (epoch != core.epoch) {  // the inference ended (abort): drop the tile
                holding = false;
                ev_tile_end.cancel();
                core.busy_until = core.busy_from;
                idle_since = t;
            } else if (t < end_ps) {  // woken by a resource change
                if (t <= start_ps) {  // not started yet: re-time it
                    time_tile(t);
                    ev_tile_end.cancel();
                    ev_tile_end.notify(ps(end_ps - t));
                }
                return;
            } else {
                holding = false;
                finish(t);
            }
        }
        // Take the next tile. Temporally decoupled: a tile that ends by the horizon (nothing
        // outside can change the model before then) is finished at once in local time, and
        // the next taken; only the first tile ending later waits for the kernel. Every
        // decision is made at the same (local) time and with the same resources as with one
        // activation per tile, so the results are identical.
        // A layer whose last store completes by the horizon hands over to the next layer in
        // local time too (Dma::layer_end_inline); only a hand-over to the other unit costs it
        // an activation (at that instant).
        for (;;) {
            if (core.in.empty()) {
                const int64_t te = dma.layer_end_inline();
                if (te < 0 || core.in.empty()) return;  // idle until a layer's tiles are in
                t = te;
                if (core.in.front().w->kind != kind) {  // the other unit's layer
                    core.ev_in_ready[core.in.front().w->kind].notify(ps(te - now));
                    return;
                }
            }
            if (core.in.front().w->kind != kind) return;
            holding = true;
            epoch = core.epoch;
            time_tile(t);
            const Job* tj = core.in.front().job;
            if (core.sync_tile || end_ps > core.horizon_ps || tj->abort_req || tj->preempt_req) break;
            holding = false;
            t = end_ps;
            finish(t);
        }
        ev_tile_end.cancel();  // (woken at a tile's end by another event: its own end is still pending)
        ev_tile_end.notify(ps(end_ps - now));
    }

  private:
    void time_tile(int64_t t) {
        const InTile& tile = core.in.front();
        int64_t s = std::max(tile.ready_ps, t);
        if (unit().completes_outputs(*tile.w)) s = std::max(s, core.out_slot_free(t));
        cycles = unit().tile_cycles(*tile.w);
        start_ps = s;
        const double clock = core.rt.clock_hz;
        end_ps = s + tile_ps.get(cycles, clock, 0.0, [&] { return cycles_to_ps(cycles, clock); });
        core.busy_from = start_ps;
        core.busy_until = end_ps;
    }

    void finish(int64_t t) {
        const InTile& tile = core.in.front();  // stays in its slot until popped
        Job* j = tile.job;
        const int64_t layer = tile.layer;
        int64_t* row = j->row(layer);
        // waiting for operands or an output slot = waiting for the DMA
        row[CTR_STALL_DRAM_PS] += start_ps - std::max(std::max(idle_since, row[CTR_START_PS]), j->stall_floor);
        j->last_compute_end = t;
        idle_since = t;
        row[CTR_COMPUTE_CYCLES] += cycles;
        row[CTR_TILES] += 1;
        unit().account(row, *tile.w);
        const bool out = unit().completes_outputs(*tile.w);
        const int64_t out_bytes = tile.w->out_bytes;
        const bool via_noc = tile.w->out_via_noc, last = tile.w->last;
        core.in.pop();  // the slot is free; fill() reuses it (its contents stay until then)
        if (j->abort_req) { core.end_job(j, true); return; }
        if (j->stops_at_tile() && !last) {  // preempted at this tile boundary (the last: at the layer's end)
            if (out && j->preempt_mech != PREEMPT_KILL) dma.store(j, layer, out_bytes, via_noc, false, t);
            dma.suspend(j, t, &tile);
            return;
        }
        // the store channel issues first, then the load channel (the order of the DRAM and NoC
        // requests at one instant; the two-thread model's kernel ran them in this order)
        if (out) dma.store(j, layer, out_bytes, via_noc, last, t);
        dma.fill(t);
    }
};

}  // namespace dynvit
