// An exact memo of durations: the per-tile path computes a duration (a transfer's occupancy, a
// tile's compute time) from a size and the runtime rates with a floating-point division; a
// layer's tiles have a handful of distinct sizes, so most find theirs here instead.
#pragma once
#include <cstdint>
#include <cstring>

// cling's JIT (accelerator/loader.py) leaves these small per-transfer calls out of line, which
// costs the model ~1.5x its g++ -O2 speed; forced inline, the JIT matches g++.
#define DYNVIT_INLINE __attribute__((always_inline)) inline

namespace dynvit {

// A duration (ps) that depends on one size and on two rate inputs. Same inputs, same
// arithmetic: the results are identical to computing every time.
struct DurationMemo {
    static constexpr int BITS = 8, N = 1 << BITS;  // direct-mapped entries (fewer: more collisions)
    struct Entry { int64_t key = -1, val = 0; };  // key -1: empty (sizes are >= 0)
    Entry entry[N];  // key and value side by side: one cache line per lookup
    // the rate inputs the entries were computed with, as bit patterns (equal bits, equal
    // arithmetic); initially a NaN no rate has, so the first call fills the memo
    uint64_t rate_a = ~0ull, rate_b = ~0ull;

    template <class F>
    DYNVIT_INLINE int64_t get(int64_t size, double a, double b, F compute) {
        uint64_t ba, bb;
        std::memcpy(&ba, &a, sizeof ba);
        std::memcpy(&bb, &b, sizeof bb);
        if ((ba ^ rate_a) | (bb ^ rate_b)) {  // a rate changed (or first use): drop every entry
            for (Entry& e : entry) e.key = -1;
            rate_a = ba;
            rate_b = bb;
        }
        const int i = (int)(((uint64_t)size * 0x9E3779B97F4A7C15ull) >> (64 - BITS));  // Fibonacci hashing
        Entry& e = entry[i];
        if (e.key != size) {
            e.val = compute();  // may throw (out of range): nothing is stored then
            e.key = size;
        }
        return e.val;
    }
};

}  // namespace dynvit
