// State shared by the modules of one accelerator instance (no globals): the inference
// queue, the double-buffered tile slots between the DMA engines and the compute units,
// the events that synchronise them, and the per-inference counters.
#pragma once
#include <deque>
#include <memory>
#include <systemc>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "counters.h"
#include "program.h"

namespace dynvit {

inline int64_t now_ps() { return (int64_t)sc_core::sc_time_stamp().value(); }
inline sc_core::sc_time ps(int64_t v) { return sc_core::sc_time::from_value((sc_dt::uint64)v); }
inline int64_t cycles_to_ps(int64_t cycles, double clock_hz) {
    return (int64_t)((double)cycles * 1e12 / clock_hz + 0.5);
}

// One submitted inference.
struct Job {
    int64_t id = 0;
    const Program* prog = nullptr;
    std::vector<int64_t> ctr;  // n_layers x NUM_COUNTERS
    bool started = false, finished = false, abort_req = false, aborted = false;
    int64_t submit_ps = 0, start_ps = -1, end_ps = -1;
    int64_t layers_done = 0;
    // bookkeeping of the layer in flight (one layer at a time)
    int64_t cur_layer = -1;
    double cyc_acc = 0.0;        // cycles so far, each interval at the clock of its tile
    int64_t cyc_mark = 0;        // time up to which cyc_acc is accounted
    int64_t last_compute_end = 0;
    int64_t* row(int64_t layer) { return ctr.data() + layer * NUM_COUNTERS; }
};

struct Completion {
    int64_t job = 0;
    int64_t end_ps = 0;
    bool aborted = false;
};

// A fixed-capacity FIFO of slots: the double buffers between the engines.
template <typename T, int CAP>
struct Slots {
    T item[CAP];
    int head = 0, count = 0;
    bool empty() const { return count == 0; }
    bool full() const { return count == CAP; }
    T& front() { return item[head]; }
    void push(const T& v) { item[(head + count) % CAP] = v; ++count; }
    void pop() { head = (head + 1) % CAP; --count; }
    void clear() { head = 0; count = 0; }
};

struct InTile {
    Job* job = nullptr;
    int64_t layer = 0;
    int64_t ready_ps = 0;  // when its operands are in the PE (or PPU) buffers
    TileWork w;
};

struct OutTile {
    Job* job = nullptr;
    int64_t layer = 0;
    int64_t bytes = 0;
    bool via_noc = true;
    bool last = false;     // last output of the layer
    int64_t done_ps = -1;  // when its DRAM write completes (-1: not issued yet)
};

struct Core {
    HwConfig hw;
    Runtime rt;
    std::unordered_map<int64_t, std::unique_ptr<Program>> programs;
    std::unordered_map<int64_t, std::unique_ptr<Job>> jobs;
    std::deque<Job*> queue;
    Job* active = nullptr;
    bool layer_open = false;   // a layer is executing; the next starts when its outputs are stored
    // the PE array or PPU computes a tile in [busy_from, busy_until)
    int64_t busy_from = 0, busy_until = 0;
    bool compute_busy() const { const int64_t t = now_ps(); return t >= busy_from && t < busy_until; }
    std::vector<Completion> completions;
    int64_t activations = 0;   // process activations (resumes after wait) in the model's modules
    int64_t next_job = 1;

    // Input double buffer: a slot is taken when the load DMA issues a tile's transfer
    // (ready at InTile::ready_ps) and freed when the compute unit finishes the tile.
    Slots<InTile, 2> in;
    // Output double buffer in the global buffer: a slot is taken when a tile's outputs
    // are complete and freed when their DRAM write completes (OutTile::done_ps).
    Slots<OutTile, 2> out;

    sc_core::sc_event ev_job{"ev_job"};
    sc_core::sc_event ev_in_ready_mac{"ev_in_ready_mac"};
    sc_core::sc_event ev_in_ready_ppu{"ev_in_ready_ppu"};
    sc_core::sc_event ev_in_free{"ev_in_free"};
    sc_core::sc_event ev_out_ready{"ev_out_ready"};
    sc_core::sc_event ev_out_issued{"ev_out_issued"};
    sc_core::sc_event ev_layer_done{"ev_layer_done"};
    sc_core::sc_event ev_abort{"ev_abort"};
    sc_core::sc_event ev_compute_wake{"ev_compute_wake"};  // resources changed / inference ended

    // Free the output slots whose DRAM write has completed (stores complete in order).
    void retire_outputs() {
        const int64_t t = now_ps();
        while (!out.empty() && out.front().done_ps >= 0 && out.front().done_ps <= t) out.pop();
    }

    // Compute side, before a tile whose outputs complete: wait until an output slot is
    // free. False if the inference ended meanwhile (abort).
    bool acquire_out_slot(Job* j) {
        retire_outputs();
        while (out.full()) {
            const OutTile& f = out.front();
            if (f.done_ps >= 0) sc_core::wait(ps(f.done_ps - now_ps()));
            else sc_core::wait(ev_out_issued);
            ++activations;
            if (j->finished) return false;
            retire_outputs();
        }
        return true;
    }

    // Compute side: run one tile. It starts when its operands have arrived (the load DMA
    // issued the transfer earlier; InTile::ready_ps) and lasts cycles_fn() cycles at the
    // clock, both read at its start. Waiting for the operands and computing is one timed
    // wait; a resource change before the start (ev_compute_wake) recomputes the tile's
    // timing, one after the start does not. Returns the tile's cycles, or -1 if the
    // inference ended meanwhile.
    template <class F>
    int64_t run_tile(Job* j, int64_t ready, F cycles_fn) {
        int64_t cyc = 0, end = 0;
        bool started = false;
        for (;;) {
            const int64_t t = now_ps();
            if (!started) {
                const int64_t start = std::max(ready, t);
                cyc = cycles_fn();
                end = start + cycles_to_ps(cyc, rt.clock_hz);
                busy_from = start;
                busy_until = end;
            }
            if (end > t) {
                sc_core::wait(ps(end - t), ev_compute_wake);
                ++activations;
            }
            if (j->finished) { busy_until = busy_from; return -1; }
            const int64_t now = now_ps();
            if (now >= end) return cyc;
            started = now > busy_from;  // woken early: before the start, recompute
        }
    }

    // Account the time since the last mark as cycles at the current clock.
    void mark_cycles(Job* j) {
        const int64_t t = now_ps();
        j->cyc_acc += (double)(t - j->cyc_mark) * rt.clock_hz * 1e-12;
        j->cyc_mark = t;
    }

    void begin_layer(Job* j, int64_t layer) {
        const int64_t t = now_ps();
        j->cur_layer = layer;
        j->cyc_acc = 0.0;
        j->cyc_mark = t;
        j->last_compute_end = t;
        j->row(layer)[CTR_START_PS] = t;
        layer_open = true;
    }

    void end_layer(Job* j, bool complete = true) {
        if (j->cur_layer < 0 || !layer_open) return;
        mark_cycles(j);
        int64_t* r = j->row(j->cur_layer);
        r[CTR_END_PS] = now_ps();
        r[CTR_CYCLES] = (int64_t)(j->cyc_acc + 0.5);
        if (complete) j->layers_done = j->cur_layer + 1;
        layer_open = false;
        ev_layer_done.notify();
    }

    // The inference ends now (all outputs stored, or aborted at a tile boundary):
    // record it, drop its pending tiles, and pause the kernel so that sc_start returns
    // at exactly this time.
    void end_job(Job* j, bool aborted) {
        if (j->finished) return;
        if (layer_open) end_layer(j, !aborted);
        j->finished = true;
        j->aborted = aborted;
        j->end_ps = now_ps();
        if (!in.empty()) { in.clear(); ev_in_free.notify(); }
        if (!out.empty()) { out.clear(); ev_out_issued.notify(); }
        if (active == j) active = nullptr;
        ev_compute_wake.notify();
        completions.push_back(Completion{j->id, j->end_ps, aborted});
        ev_layer_done.notify();
        sc_core::sc_pause();
    }
};

}  // namespace dynvit
