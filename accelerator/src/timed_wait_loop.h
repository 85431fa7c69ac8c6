// A bare SystemC timed-wait loop: the kernel's ceiling of timed process activations per
// second in this process, for the benchmark (benchmarks/bench_accelerator.py).
#pragma once
#include <chrono>
#include <systemc>

namespace dynvit {

SC_MODULE(TimedWaitLoop) {
    int64_t target = 0, count = 0;
    sc_core::sc_event go;

    SC_HAS_PROCESS(TimedWaitLoop);
    TimedWaitLoop(sc_core::sc_module_name name) : sc_module(name) { SC_THREAD(run); }

    void run() {
        for (;;) {
            while (count >= target) wait(go);
            const sc_core::sc_time step(1, sc_core::SC_NS);
            while (count < target) { wait(step); ++count; }
            sc_core::sc_pause();
        }
    }

    // Run n timed waits (the accelerator must be idle); returns wall seconds.
    double measure(int64_t n) {
        target = count + n;
        go.notify(sc_core::SC_ZERO_TIME);
        const auto t0 = std::chrono::steady_clock::now();
        sc_core::sc_start();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
};

}  // namespace dynvit
