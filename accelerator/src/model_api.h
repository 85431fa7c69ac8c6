// The C++ model as Python sees it: a thin declaration without <systemc>.
// accelerator/loader.py loads the compiled model (model.cpp in a shared library) and gives
// cppyy only this header, so a process does not parse the SystemC headers; the JIT path
// (DYNVIT_SYSTEMC_BUILD=jit) compiles model.cpp itself. dynvit::Accelerator
// (accelerator.h) implements the interface.
#pragma once
#include <cstdint>

#include "config.h"
#include "counters.h"
#include "program_fields.gen.h"

namespace dynvit {

class Model {
  public:
    virtual ~Model() = default;

    // elaboration
    virtual void init() = 0;  // finish elaboration, initialise the kernel before the first request
    // other hardware parameters; frees every program: refused while busy or while any job is not
    // yet released (it would point to a freed program)
    virtual void reconfigure(const HwConfig& hw) = 0;

    // programs and inferences; data: n_layers x NUM_FIELDS int64 (size = values given); loading
    // over an existing pid is refused while a job not yet released references that program
    virtual void load_program(int64_t pid, int64_t n_layers, const int64_t* data, int64_t size) = 0;
    virtual bool has_program(int64_t pid) const = 0;
    virtual int64_t submit(int64_t pid) = 0;  // returns the job id
    virtual bool request_abort() = 0;  // stop the running inference at the next tile boundary
    // preemption: mech 1 kill / 2 checkpoint / 3 drain, gran 1 layer / 2 tile (see accelerator.h)
    virtual bool request_preempt(int64_t mech, int64_t gran) = 0;
    virtual void resume(int64_t job) = 0;   // queue a preempted inference again
    virtual void discard(int64_t job) = 0;  // end a preempted inference as aborted (no completion)
    virtual bool job_suspended(int64_t job) const = 0;

    // spatial sharing (partition.h): inferences of several partitions run at once on disjoint PE
    // groups; job ids carry their partition
    virtual int64_t partitions() const = 0;
    virtual int64_t submit_to(int64_t pid, int64_t part) = 0;
    virtual bool request_abort_in(int64_t part) = 0;
    virtual void set_partition_resources(int64_t part, int64_t active_pes, double dram_share) = 0;
    virtual int64_t partition_active_pes(int64_t part) const = 0;
    virtual void set_bandwidth_partitioned(bool on) = 0;  // each partition its own DRAM channel
    virtual bool bandwidth_partitioned() const = 0;

    // runtime resources (take effect at the next tile boundary)
    virtual void set_clock_hz(double hz) = 0;
    virtual void set_active_pes(int64_t n) = 0;
    virtual void set_dram_share(double s) = 0;
    virtual double clock_hz() const = 0;
    virtual int64_t active_pes() const = 0;
    virtual double dram_share() const = 0;

    // time: advance by dt ps or less (an inference completes); returns completions waiting
    virtual int64_t now() const = 0;
    virtual int64_t advance(int64_t dt) = 0;
    virtual bool busy() const = 0;
    virtual void set_sync_tile(bool on) = 0;  // true: one kernel activation per tile (reference mode)
    virtual bool sync_tile() const = 0;
    virtual int64_t queued() const = 0;
    virtual int64_t activations() const = 0;
    // the last instant the model has work reserved (bandwidth servers, compute, a layer's last
    // store): after it, an idle model's next inference is independent of the past (cosim/reuse.py)
    virtual int64_t backlog_until() const = 0;

    // completions and results
    virtual int64_t n_completions() const = 0;
    virtual int64_t completion_job(int64_t i) const = 0;
    virtual int64_t completion_end_ps(int64_t i) const = 0;
    virtual bool completion_aborted(int64_t i) const = 0;
    virtual bool completion_preempted(int64_t i) const = 0;
    virtual void clear_completions() = 0;
    virtual int64_t job_layers(int64_t job) const = 0;
    virtual int64_t job_start_ps(int64_t job) const = 0;
    virtual int64_t job_layers_done(int64_t job) const = 0;
    virtual void copy_counters(int64_t job, int64_t* dst, int64_t size) const = 0;  // n_layers x NUM_COUNTERS
    virtual void copy_activations(int64_t job, int64_t* dst, int64_t size) const = 0;  // n_layers
    virtual void release(int64_t job) = 0;

    // seconds a bare SystemC thread takes for n timed waits (the kernel's ceiling)
    virtual double measure_timed_waits(int64_t n) = 0;
};

// The process's accelerator model (a SystemC kernel elaborates once per process).
Model* make_model(const HwConfig& hw);

}  // namespace dynvit
