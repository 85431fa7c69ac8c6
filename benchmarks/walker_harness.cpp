// The accelerator model's walker outside Python: runs one layer program (as accelerator/model.py
// sends it) to completion N times and prints the wall time per inference, so the per-tile C++
// cost can be measured compiled by g++ next to cling's JIT (benchmarks/bench_accelerator.py
// --gxx builds and runs it). Checks that every run gives the counters of the first (relative to
// the inference's start) and, if given, those of a reference file.
//
//   walker_harness DIR RUNS SYNC   (DIR: program.bin, hw.txt, optional counters_ref.bin; SYNC: tile|decoupled)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <systemc>
#include <vector>

#include "dynvit.h"

using namespace dynvit;

static std::vector<int64_t> read_int64(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return {};
    f.seekg(0, std::ios::end);
    const size_t n = (size_t)f.tellg();
    f.seekg(0);
    std::vector<int64_t> v(n / sizeof(int64_t));
    f.read(reinterpret_cast<char*>(v.data()), (std::streamsize)(v.size() * sizeof(int64_t)));
    return v;
}

// counters relative to the inference's start (start_ps, end_ps are absolute times)
static void relative(std::vector<int64_t>& c, int64_t start) {
    for (size_t i = 0; i < c.size(); i += NUM_COUNTERS) { c[i + CTR_START_PS] -= start; c[i + CTR_END_PS] -= start; }
}

int sc_main(int argc, char** argv) {
    if (argc < 4) { std::fprintf(stderr, "usage: walker_harness DIR RUNS tile|decoupled\n"); return 2; }
    const std::string dir = argv[1];
    const int runs = std::max(1, std::atoi(argv[2]));
    const bool tile = std::string(argv[3]) == "tile";
    HwConfig hw;
    std::ifstream h(dir + "/hw.txt");
#define DYNVIT_READ_FIELD(f) h >> hw.f;
    DYNVIT_HW_CONFIG_FIELDS(DYNVIT_READ_FIELD)  // generated: the fields in declaration order
#undef DYNVIT_READ_FIELD
    if (!h) { std::fprintf(stderr, "walker_harness: cannot read %s/hw.txt\n", dir.c_str()); return 2; }
    std::vector<int64_t> prog = read_int64(dir + "/program.bin");
    std::vector<int64_t> ref = read_int64(dir + "/counters_ref.bin");
    const int64_t n_layers = (int64_t)prog.size() / NUM_FIELDS;

    Accelerator* acc = make_accelerator(hw);
    acc->init();
    acc->set_sync_tile(tile);
    acc->load_program(1, n_layers, prog.data(), (int64_t)prog.size());
    std::vector<double> walls;
    std::vector<int64_t> first, ctr(n_layers * NUM_COUNTERS);
    int64_t tiles = 0, activations = 0;
    bool same = true;
    for (int r = 0; r < runs; ++r) {
        const int64_t a0 = acc->activations();
        const auto t0 = std::chrono::steady_clock::now();
        const int64_t job = acc->submit(1);
        while (acc->advance(INT64_C(1000000000000000)) == 0) {}
        walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        activations = acc->activations() - a0;
        acc->copy_counters(job, ctr.data(), (int64_t)ctr.size());
        relative(ctr, acc->job_start_ps(job));
        if (r == 0) first = ctr; else same = same && ctr == first;
        acc->clear_completions();
        acc->release(job);
    }
    tiles = 0;
    for (int64_t l = 0; l < n_layers; ++l) tiles += first[l * NUM_COUNTERS + CTR_TILES];
    bool ref_same = true;
    if (!ref.empty()) { relative(ref, ref[CTR_START_PS]); ref_same = ref == first; }
    std::sort(walls.begin(), walls.end());
    std::printf("%lld tiles %lld activations median_s %.9f best_s %.9f deterministic %d reference %s\n",
                (long long)tiles, (long long)activations, walls[walls.size() / 2], walls[0], (int)same,
                ref.empty() ? "none" : ref_same ? "identical" : "DIFFERENT");
    return same && ref_same ? 0 : 1;
}
