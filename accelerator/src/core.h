// State shared by the modules of one accelerator instance (no globals): the inference
// queue, the double-buffered tile slots between the DMA engine and the compute units,
// the events that synchronise them, and the per-inference counters.
#pragma once
#include <algorithm>
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
    const double v = (double)cycles * 1e12 / clock_hz + 0.5;
    // a tile longer than the int64 picosecond range (~106 days) cannot be simulated
    if (!(v < 9.2e18)) throw std::overflow_error("dynvit: a tile would last beyond the int64 picosecond range");
    return (int64_t)v;
}

// Preemption (PREMA's mechanisms; Choi and Rhu, HPCA 2020): codes shared with vocab.names.
enum PreemptMech { PREEMPT_NONE = 0, PREEMPT_KILL = 1, PREEMPT_CHECKPOINT = 2, PREEMPT_DRAIN = 3 };
enum PreemptGran { GRAN_NONE = 0, GRAN_LAYER = 1, GRAN_TILE = 2 };

struct Job;

struct InTile {
    Job* job = nullptr;
    int64_t layer = 0;
    int64_t ready_ps = 0;  // when its operands are in the PE (or PPU) buffers
    const TileWork* w = nullptr;  // the walker's (valid while the layer runs)
    TileLoad load;         // what it loaded (a checkpoint's restore re-fetches or reloads it)
};

// What a checkpoint at a tile boundary leaves to restore: the partial sums of the output tile in
// progress, the operand tiles in the PE buffers, the resident operands in the global buffer and
// the tiles the DMA had fetched ahead (re-fetched on resume).
struct Checkpoint {
    bool mid_layer = false;  // stopped inside a layer (at a tile boundary)
    int64_t psum = 0, held_w = 0, held_wbuf = 0, held_i = 0, held_ibuf = 0, resident = 0;
};

// One submitted inference.
struct Job {
    int64_t id = 0;
    const Program* prog = nullptr;
    std::vector<int64_t> ctr;  // n_layers x NUM_COUNTERS
    std::vector<int64_t> acts; // kernel activations per layer (not a counter: it depends on the sync mode)
    bool started = false, finished = false, abort_req = false, aborted = false;
    int64_t submit_ps = 0, start_ps = -1, end_ps = -1;
    int64_t layers_done = 0;
    // bookkeeping of the layer in flight (one layer at a time)
    int64_t cur_layer = -1;
    double cyc_acc = 0.0;        // cycles so far, each interval at the clock of its tile
    int64_t cyc_mark = 0;        // time up to which cyc_acc is accounted
    int64_t last_compute_end = 0;
    int64_t* row(int64_t layer) { return ctr.data() + layer * NUM_COUNTERS; }
    // the load channel's walk of this inference (kept with it: a preempted inference resumes it)
    TileWalker walker;
    int64_t next_layer = 0;
    // preemption: requested (mechanism, granularity), stopped (suspended), its checkpoint
    int preempt_mech = PREEMPT_NONE, preempt_gran = GRAN_NONE;
    bool preempt_req = false, suspended = false;
    int64_t preempt_from = 0;   // when the preemption took effect (vacating starts)
    int64_t stall_floor = 0;    // compute-stall accounting starts no earlier (a resume)
    Checkpoint ck;
    std::vector<InTile> ahead;  // tiles fetched ahead when it stopped (re-fetched on resume)
    // stops at a tile boundary (kill, checkpoint at tile granularity); else at the layer's end
    bool stops_at_tile() const { return preempt_req && preempt_gran == GRAN_TILE && preempt_mech != PREEMPT_DRAIN; }
};

struct Completion {
    int64_t job = 0;
    int64_t end_ps = 0;
    bool aborted = false;
    bool preempted = false;  // stopped, not ended: the host resumes it later
};

// A fixed-capacity FIFO of slots: the double buffers between the engines.
template <typename T, unsigned CAP>
struct Slots {
    static_assert((CAP & (CAP - 1)) == 0, "a power of two: slot indices wrap with a mask");
    T item[CAP];
    unsigned head = 0, count = 0;
    bool empty() const { return count == 0; }
    bool full() const { return count == CAP; }
    T& front() { return item[head]; }
    T& back_free() { return item[(head + count) & (CAP - 1)]; }  // the slot push() fills next
    void push(const T& v) { back_free() = v; ++count; }
    void pop() { head = (head + 1) & (CAP - 1); --count; }
    T& at(unsigned i) { return item[(head + i) & (CAP - 1)]; }  // i-th from the front
    void clear() { head = 0; count = 0; }
};

struct OutTile {
    int64_t done_ps = -1;  // when its DRAM write completes: the slot is free from then
};

struct Core {
    HwConfig hw;
    Runtime rt;
    std::unordered_map<int64_t, std::unique_ptr<Program>> programs;
    std::unordered_map<int64_t, std::unique_ptr<Job>> jobs;
    std::deque<Job*> queue;
    Job* active = nullptr;
    bool layer_open = false;   // a layer is executing; the next starts when its outputs are stored
    int64_t epoch = 0;         // incremented when an inference ends: work of an ended job is dropped
    bool engine_running = false;  // the DMA engine's process is executing (it takes the next job itself)
    // the PE array or PPU computes a tile in [busy_from, busy_until)
    int64_t busy_from = 0, busy_until = 0;
    bool compute_busy() const { const int64_t t = now_ps(); return t >= busy_from && t < busy_until; }
    std::vector<Completion> completions;
    int64_t activations = 0;   // process activations (method triggers, thread resumes) of the model
    // Count one activation, also against the layer in flight: an activation counts against the
    // layer the model works on in it (the one that starts an inference: Dma::engine), so an
    // inference's activations are the sum over its layers; wake-ups of an idle unit count
    // against none.
    void count_activation() {
        ++activations;
        if (active && active->cur_layer >= 0) ++active->acts[active->cur_layer];
    }
    int64_t next_job = 1;

    // Input double buffer: a slot is taken when the load DMA issues a tile's transfer
    // (ready at InTile::ready_ps) and freed when the compute unit finishes the tile.
    Slots<InTile, 2> in;
    // Output double buffer in the global buffer: a slot is taken when a tile's outputs
    // are complete (the store DMA issues their write at once) and freed when the write
    // completes (OutTile::done_ps).
    Slots<OutTile, 2> out;

    sc_core::sc_event ev_job{"ev_job"};                  // a request was queued / an inference ended
    sc_core::sc_event ev_in_ready[2] = {sc_core::sc_event("ev_in_ready_mac"),
                                        sc_core::sc_event("ev_in_ready_ppu")};  // a layer's first tiles
    sc_core::sc_event ev_abort{"ev_abort"};
    sc_core::sc_event ev_compute_wake{"ev_compute_wake"};  // resources changed / inference ended

    // Temporal decoupling (TLM-2.0 loosely-timed style): nothing outside the model can change
    // it before `horizon_ps` (the end of the current sc_start; an inference's completion pulls
    // it in to that instant, since the host reacts then), so the compute unit runs the tiles
    // that end by then in local time inside one activation. sync_tile: one activation per
    // tile (the reference mode; results are identical).
    int64_t horizon_ps = 0;
    bool sync_tile = false;

    // Free the output slots whose DRAM write has completed by t (stores complete in order).
    void retire_outputs(int64_t t) {
        while (!out.empty() && out.front().done_ps <= t) out.pop();
    }

    // When an output slot is free for a tile whose outputs complete, no earlier than t.
    int64_t out_slot_free(int64_t t) {
        retire_outputs(t);
        return out.full() ? std::max(t, out.front().done_ps) : t;
    }

    // Account the time since the last mark as cycles at the current clock.
    void mark_cycles(Job* j) { mark_cycles(j, now_ps()); }
    void mark_cycles(Job* j, int64_t t) {
        j->cyc_acc += (double)(t - j->cyc_mark) * rt.clock_hz * 1e-12;
        j->cyc_mark = t;
    }

    void begin_layer(Job* j, int64_t layer) { begin_layer(j, layer, now_ps()); }
    void begin_layer(Job* j, int64_t layer, int64_t t) {  // at (local) time t
        j->cur_layer = layer;
        j->cyc_acc = 0.0;
        j->cyc_mark = t;
        j->last_compute_end = t;
        j->row(layer)[CTR_START_PS] = t;
        layer_open = true;
    }

    void end_layer(Job* j, bool complete = true) { end_layer(j, now_ps(), complete); }
    void end_layer(Job* j, int64_t t, bool complete) {  // at (local) time t
        if (j->cur_layer < 0 || !layer_open) return;
        mark_cycles(j, t);
        int64_t* r = j->row(j->cur_layer);
        r[CTR_END_PS] = t;
        r[CTR_CYCLES] = (int64_t)(j->cyc_acc + 0.5);
        if (complete) j->layers_done = j->cur_layer + 1;
        layer_open = false;
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
        ++epoch;
        in.clear();
        out.clear();
        if (active == j) active = nullptr;
        ev_compute_wake.notify();  // a compute unit holding a tile of this job drops it
        // the DMA engine takes the next request at once (in this delta cycle: a request that
        // completes at the same instant is reported by the same sc_start)
        if (!queue.empty() && !engine_running) ev_job.notify();
        completions.push_back(Completion{j->id, j->end_ps, aborted});
        horizon_ps = j->end_ps;  // the host reacts to the completion at this instant
        sc_core::sc_pause();
    }
};

}  // namespace dynvit
