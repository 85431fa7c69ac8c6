// Top module: the accelerator (DMA engine, DRAM, NoC, global buffer, PE array, PPU)
// plus the bare timed-wait loop used as the kernel's speed ceiling. It implements the API
// that accelerator/model.py drives between sc_start calls (dynvit::Model, model_api.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <systemc>

#include "core.h"
#include "dma.h"
#include "bandwidth_server.h"
#include "global_buffer.h"
#include "model_api.h"
#include "partition.h"
#include "pe_array.h"
#include "ppu.h"
#include "timed_wait_loop.h"

namespace dynvit {

class Accelerator : public sc_core::sc_module, public Slot, public Model {
  public:
    // its Slot (core, dram, noc, glb, dma, pes, ppu) is partition 0
    TimedWaitLoop ceiling;
    // spatial sharing: the other tenant slots (partition.h); partition 0 is this module's core
    std::unique_ptr<Partition> parts[MAX_PARTITIONS - 1];
    bool bw_partitioned = false;

    SC_HAS_PROCESS(Accelerator);
    Accelerator(sc_core::sc_module_name name, const HwConfig& hw)
        : sc_module((check_hw(hw), name)),
          Slot(),
          ceiling("timed_wait_loop") {
        set_runtime(core, hw);
        SC_METHOD(abort_method);
        sensitive << core.ev_abort;
        dont_initialize();
        for (int64_t p = 1; p < MAX_PARTITIONS; ++p)
            parts[p - 1] = std::make_unique<Partition>(("partition" + std::to_string(p)).c_str(), p, hw, dram, noc);
    }

    // The core of partition p (0: this module's), and of the partition a job runs in.
    Core& core_at(int64_t p) {
        require(p >= 0 && p < MAX_PARTITIONS, "partition must be in [0, " + std::to_string(MAX_PARTITIONS) + ")");
        return p == 0 ? core : parts[p - 1]->core;
    }
    const Core& core_at(int64_t p) const { return const_cast<Accelerator*>(this)->core_at(p); }
    Core& core_of(int64_t job) { return core_at(partition_of_job(job)); }
    const Core& core_of(int64_t job) const { return core_at(partition_of_job(job)); }

    // Re-target the idle model to other hardware parameters. None of them shapes the
    // module hierarchy (the PE array, buffers and servers are modelled per tile), so a
    // process can simulate several hardware points one after another.
    void reconfigure(const HwConfig& hw) override {
        if (busy()) throw std::runtime_error("dynvit: reconfigure needs an idle accelerator");
        int64_t unreleased = 0;
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p) {
            for (const auto& kv : core_at(p).jobs)
                if (kv.second->suspended) throw std::runtime_error("dynvit: reconfigure needs no preempted inference");
            unreleased += static_cast<int64_t>(core_at(p).jobs.size());
        }
        // it frees every program: refused while a job not yet released still points to one
        if (unreleased)
            throw std::runtime_error("dynvit: reconfigure refused: " + std::to_string(unreleased) +
                                     " job(s) not yet released still reference programs (release them first)");
        check_hw(hw);
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p) set_runtime(core_at(p), hw);
        set_bandwidth_partitioned(false);
        core.programs.clear();
    }

    // Finish elaboration and initialise the kernel before the first request.
    void init() override {
        if (sc_core::sc_get_time_resolution() != sc_core::sc_time(1, sc_core::SC_PS))
            throw std::runtime_error("dynvit: SystemC time resolution must be 1 ps");
        sc_core::sc_report_handler::set_handler(&report_to_stderr);
        start(sc_core::SC_ZERO_TIME);
    }

    // SystemC's own diagnostics (e.g. W536) on stderr: the default handler prints them on
    // stdout, between the tool's results. Everything else (log, throw, stop) as by default.
    static void report_to_stderr(const sc_core::sc_report& r, const sc_core::sc_actions& a) {
        if (a & sc_core::SC_DISPLAY) std::cerr << sc_core::sc_report_compose_message(r) << std::endl;
        sc_core::sc_report_handler::default_handler(r, a & ~sc_core::SC_DISPLAY);
    }

    // sc_start, with a SystemC report (how the kernel rethrows what a process threw) turned
    // into a std::runtime_error of the same text: Python sees the compiled model through a
    // declaration that names no SystemC type, and cppyy would cut an unknown type down to a
    // bare std::exception without its message.
    static void start(const sc_core::sc_time& t) {
        try {
            sc_core::sc_start(t);
        } catch (const sc_core::sc_report& e) {
            throw std::runtime_error(e.what());
        }
    }

    // -- programs and inferences ---------------------------------------------------
    // data: n_layers x NUM_FIELDS int64 (size = the number of int64 values given)
    void load_program(int64_t pid, int64_t n_layers, const int64_t* data, int64_t size) override {
        require(n_layers >= 0 && data != nullptr, "load_program: n_layers must be >= 0 and data non-null");
        require(size == n_layers * NUM_FIELDS, "load_program: " + std::to_string(size) + " values for " +
                std::to_string(n_layers) + " layers of " + std::to_string(NUM_FIELDS) + " fields");
        for (int64_t i = 0; i < n_layers; ++i) check_layer(data + i * NUM_FIELDS, i);
        // replacing a program frees the old one: refused while a job not yet released points to it
        auto old = core.programs.find(pid);
        if (old != core.programs.end())
            for (int64_t part = 0; part < MAX_PARTITIONS; ++part)
                for (const auto& kv : core_at(part).jobs)
                    if (kv.second->prog == old->second.get())
                        throw std::runtime_error("dynvit: load_program refused: program " + std::to_string(pid) +
                                                 " is referenced by job " + std::to_string(kv.first) +
                                                 ", not yet released");
        auto p = std::make_unique<Program>();
        p->id = pid;
        p->n_layers = n_layers;
        p->f.assign(data, data + n_layers * NUM_FIELDS);
        core.programs[pid] = std::move(p);
    }
    bool has_program(int64_t pid) const override { return core.programs.count(pid) != 0; }

    int64_t submit(int64_t pid) override { return submit_to(pid, 0); }
    // Queue an inference in partition `part` (spatial sharing; programs are the accelerator's).
    int64_t submit_to(int64_t pid, int64_t part) override {
        auto it = core.programs.find(pid);
        if (it == core.programs.end()) throw std::runtime_error("dynvit: unknown program id");
        return enqueue(core_at(part), it->second.get());
    }
    int64_t enqueue(Core& core, const Program* prog) {
        auto j = std::make_unique<Job>();
        j->id = core.next_job++;
        j->prog = prog;
        j->ctr.assign(j->prog->n_layers * NUM_COUNTERS, 0);
        j->acts.assign(j->prog->n_layers, 0);
        j->submit_ps = now_ps();
        Job* raw = j.get();
        core.jobs[raw->id] = std::move(j);
        core.queue.push_back(raw);
        core.ev_job.notify(sc_core::SC_ZERO_TIME);
        return raw->id;
    }

    // Stop the running inference at the next tile boundary; false if none runs.
    bool request_abort() override { return request_abort_in(0); }
    bool request_abort_in(int64_t part) override {
        Core& core = core_at(part);
        Job* j = core.active;
        if (!j || j->finished) return false;
        j->abort_req = true;
        core.ev_abort.notify(sc_core::SC_ZERO_TIME);
        return true;
    }

    // Preempt the running inference (mech: 1 kill, 2 checkpoint, 3 drain; gran: 1 layer, 2 tile):
    // it stops at the next boundary of that granularity (drain: at the end of its layer) and
    // leaves when its state is saved; the host sees a completion marked preempted then. False if
    // none runs or one is already being preempted.
    bool request_preempt(int64_t mech, int64_t gran) override {
        require(mech >= PREEMPT_KILL && mech <= PREEMPT_DRAIN, "request_preempt: mech must be 1 (kill), 2 (checkpoint) or 3 (drain)");
        require(gran == GRAN_LAYER || gran == GRAN_TILE, "request_preempt: gran must be 1 (layer) or 2 (tile)");
        // the running one; or, submitted at this instant and not yet taken by the DMA engine (its
        // delta cycle has not run), the one it takes next: it stops at its first layer boundary
        Job* j = core.active ? core.active : core.queue.empty() ? nullptr : core.queue.front();
        if (!j || j->finished || j->preempt_req || j->abort_req || dma.vacate_job == j) return false;
        j->preempt_req = true;
        j->preempt_mech = (int)mech;
        j->preempt_gran = (int)gran;
        core.ev_compute_wake.notify(sc_core::SC_ZERO_TIME);
        return true;
    }
    // The preempted (suspended, not finished) inference `job` of `core`; else an error naming `what`.
    static Job* preempted_job(Core& core, int64_t job, const char* what) {
        auto it = core.jobs.find(job);
        require(it != core.jobs.end() && it->second->suspended && !it->second->finished,
                std::string(what) + ": job " + std::to_string(job) + " is not a preempted inference");
        return it->second.get();
    }
    // Queue a preempted inference again (it runs when the accelerator takes it, in queue order).
    void resume(int64_t job) override {
        Core& core = core_of(job);
        Job* j = preempted_job(core, job, "resume");
        require(std::find(core.queue.begin(), core.queue.end(), j) == core.queue.end(), "resume: job already queued");
        core.queue.push_back(j);
        core.ev_job.notify(sc_core::SC_ZERO_TIME);
    }
    // End a preempted (not running) inference as aborted, now, without a completion.
    void discard(int64_t job) override {
        Core& core = core_of(job);
        Job* j = preempted_job(core, job, "discard");
        core.queue.erase(std::remove(core.queue.begin(), core.queue.end(), j), core.queue.end());
        j->suspended = false;
        j->finished = true;
        j->aborted = true;
        j->end_ps = now_ps();
        if (j->ck.mid_layer && j->cur_layer >= 0) {  // the layer it left open ends where it stopped
            int64_t* r = j->row(j->cur_layer);
            r[CTR_END_PS] = std::max(r[CTR_START_PS], j->preempt_from);
            r[CTR_CYCLES] = (int64_t)(j->cyc_acc + 0.5);
        }
    }
    bool job_suspended(int64_t job) const override { return core_of(job).jobs.at(job)->suspended; }

    void abort_method() { abort_if_requested(core); }

    // -- runtime resources (take effect at the next tile boundary) ---------------------
    void set_clock_hz(double hz) override {
        require(std::isfinite(hz) && hz > 0, "set_clock_hz: the clock must be finite and > 0");
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p) {  // one clock for the chip
            Core& core = core_at(p);
            if (core.active && core.layer_open) core.mark_cycles(core.active);
            core.rt.clock_hz = hz;
            // an idle partition's units have nothing to re-time (no wake-up: a run that uses
            // partition 0 only activates the kernel as the single-tenant model did)
            if (p == 0 || core.active) core.ev_compute_wake.notify(sc_core::SC_ZERO_TIME);
        }
    }
    void set_active_pes(int64_t n) override {
        require(n >= 1, "set_active_pes: at least one PE");
        core.rt.active_pes = n;
        core.ev_compute_wake.notify(sc_core::SC_ZERO_TIME);
    }
    void set_dram_share(double s) override {
        require(std::isfinite(s) && s > 0 && s <= 1, "set_dram_share: the share must be in (0, 1]");
        core.rt.dram_share = s;
    }
    // A partition's PE group (its active PEs) and DRAM share (its own channel's when the bandwidth
    // is partitioned; partition 0's share is the shared channel's otherwise).
    void set_partition_resources(int64_t part, int64_t active_pes, double dram_share) override {
        require(active_pes >= 1, "set_partition_resources: at least one PE");
        require(std::isfinite(dram_share) && dram_share > 0 && dram_share <= 1,
                "set_partition_resources: the share must be in (0, 1]");
        Core& c = core_at(part);
        c.rt.active_pes = active_pes;
        c.rt.dram_share = dram_share;
        if (c.active) c.ev_compute_wake.notify(sc_core::SC_ZERO_TIME);  // idle: nothing to re-time
    }
    void set_bandwidth_partitioned(bool on) override {
        bw_partitioned = on;
        for (auto& p : parts) p->dram.via = on ? nullptr : &dram;
    }
    bool bandwidth_partitioned() const override { return bw_partitioned; }
    int64_t partitions() const override { return MAX_PARTITIONS; }
    int64_t partition_active_pes(int64_t part) const override { return core_at(part).rt.active_pes; }
    double clock_hz() const override { return core.rt.clock_hz; }
    int64_t active_pes() const override { return core.rt.active_pes; }
    double dram_share() const override { return core.rt.dram_share; }

    // -- time ------------------------------------------------------------------------
    int64_t now() const override { return now_ps(); }
    // Advance by dt ps, or less if an inference completes (sc_pause). Returns the
    // number of completions waiting to be read.
    int64_t advance(int64_t dt) override {
        require(dt >= 0 && dt <= INT64_MAX - now_ps(), "advance: dt must be >= 0 and keep the time within int64 ps");
        if (dt > 0) {
            for (int64_t p = 0; p < MAX_PARTITIONS; ++p)
                core_at(p).horizon_ps = now_ps() + dt;  // the host changes nothing before then
            start(ps(dt));
        }
        for (auto& p : parts) {  // the other partitions' completions are reported with partition 0's
            core.completions.insert(core.completions.end(), p->core.completions.begin(), p->core.completions.end());
            p->core.completions.clear();
        }
        return (int64_t)core.completions.size();
    }
    bool busy() const override {
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p)
            if (core_at(p).active != nullptr || !core_at(p).queue.empty()) return true;
        return false;
    }
    // true: one kernel activation per tile (the reference mode); false: temporal decoupling
    void set_sync_tile(bool on) override {
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p) core_at(p).sync_tile = on;
    }
    bool sync_tile() const override { return core.sync_tile; }
    int64_t queued() const override {
        int64_t n = 0;
        for (int64_t p = 0; p < MAX_PARTITIONS; ++p) n += (int64_t)core_at(p).queue.size();
        return n;
    }
    int64_t activations() const override {
        int64_t n = core.activations;
        for (const auto& p : parts) n += p->core.activations;
        return n;
    }
    int64_t backlog_until() const override {
        int64_t t = std::max({dram.free_at, noc.free_at, core.busy_until});
        t = dma.layer_end_job ? std::max(t, dma.layer_end_ps) : t;
        for (const auto& p : parts) {
            t = std::max({t, p->dram.free_at, p->core.busy_until});
            if (p->dma.layer_end_job) t = std::max(t, p->dma.layer_end_ps);
        }
        return t;
    }

    // -- completions and results -----------------------------------------------------
    int64_t n_completions() const override { return (int64_t)core.completions.size(); }
    int64_t completion_job(int64_t i) const override { return core.completions.at(i).job; }
    int64_t completion_end_ps(int64_t i) const override { return core.completions.at(i).end_ps; }
    bool completion_aborted(int64_t i) const override { return core.completions.at(i).aborted; }
    bool completion_preempted(int64_t i) const override { return core.completions.at(i).preempted; }
    void clear_completions() override { core.completions.clear(); }

    int64_t job_layers(int64_t job) const override { return core_of(job).jobs.at(job)->prog->n_layers; }
    int64_t job_start_ps(int64_t job) const override { return core_of(job).jobs.at(job)->start_ps; }
    int64_t job_layers_done(int64_t job) const override { return core_of(job).jobs.at(job)->layers_done; }
    // Copy the job's counters (n_layers x NUM_COUNTERS int64) into dst.
    void copy_counters(int64_t job, int64_t* dst, int64_t size) const override {
        const Job& j = *core_of(job).jobs.at(job);
        require(dst != nullptr && size == (int64_t)j.ctr.size(), "copy_counters: dst must hold " +
                std::to_string(j.ctr.size()) + " values, got " + std::to_string(size));
        std::memcpy(dst, j.ctr.data(), j.ctr.size() * sizeof(int64_t));
    }
    // Copy the job's kernel activations per layer (n_layers int64) into dst.
    void copy_activations(int64_t job, int64_t* dst, int64_t size) const override {
        const Job& j = *core_of(job).jobs.at(job);
        require(dst != nullptr && size == (int64_t)j.acts.size(), "copy_activations: dst must hold " +
                std::to_string(j.acts.size()) + " values, got " + std::to_string(size));
        std::memcpy(dst, j.acts.data(), j.acts.size() * sizeof(int64_t));
    }
    void release(int64_t job) override {
        Core& core = core_of(job);
        auto it = core.jobs.find(job);
        if (it != core.jobs.end() && it->second->finished) core.jobs.erase(it);
    }

    double measure_timed_waits(int64_t n) override { return ceiling.measure(n); }
};

}  // namespace dynvit
