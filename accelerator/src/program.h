// A layer program: per layer one fixed-size record of int64 fields (written by
// accelerator/mapping.py; enum Field, Kind and Dim are generated from its PROGRAM_FIELD_DECLS,
// KINDS and DIMS by accelerator/codegen.py), and the tile walker
// that generates the tiles of one layer in loop order, with what each tile loads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "config.h"
#include "program_fields.gen.h"

namespace dynvit {

// Check one layer record before it is walked: kinds, loop orders and sizes in range, so a bad
// program is an exception, not a crash.
inline void check_layer(const int64_t* L, int64_t i) {
    const std::string at = "program layer " + std::to_string(i) + ": ";
    require(L[F_KIND] == KIND_MAC || L[F_KIND] == KIND_PPU, at + "kind must be 0 (MAC) or 1 (PPU)");
    require(L[F_DB] >= 1 && L[F_ACCB] >= 1, at + "data_bytes and accum_bytes must be >= 1");
    if (L[F_KIND] == KIND_PPU) {
        require(L[F_ELEMS] >= 0 && L[F_IN_ELEMS] >= 0, at + "elements must be >= 0");
        require(L[F_ET] >= 1, at + "E_t must be >= 1");
        require(L[F_PASSES] >= 0, at + "passes must be >= 0");
        return;
    }
    int seen = 0;
    for (int d = 0; d < NUM_DIMS; ++d) {
        const int64_t o = L[F_ORD0 + d];
        require(o >= 0 && o < NUM_DIMS && !(seen & (1 << o)), at + "order0..order4 must be a permutation of 0..4");
        seen |= 1 << (int)o;
    }
    require(L[F_ORD0 + NUM_DIMS - 1] == DIM_C, at + "the reduction loop (c) must be innermost");
    for (int f : {F_N, F_C, F_K, F_H, F_W, F_P, F_Q, F_R, F_S})
        require(L[f] >= 0, at + std::string(field_name(f)) + " must be >= 0");
    for (int f : {F_NT, F_KT, F_CT, F_PT, F_QT, F_PK, F_PP, F_STRIDE, F_GROUPS, F_AENT})
        require(L[f] >= 1, at + std::string(field_name(f)) + " must be >= 1");
    require(L[F_PAD] >= 0, at + "padding must be >= 0");
}

struct Program {
    int64_t id = 0;
    int64_t n_layers = 0;
    std::vector<int64_t> f;  // n_layers * NUM_FIELDS
    const int64_t* layer(int64_t i) const { return f.data() + i * NUM_FIELDS; }
};

// Rows (or columns) of the input window that output positions [o0, o0+ot) read,
// clipped to the input [0, size).
inline int64_t window(int64_t o0, int64_t ot, int64_t stride, int64_t r, int64_t pad, int64_t size) {
    int64_t lo = o0 * stride - pad, hi = (o0 + ot - 1) * stride - pad + r;
    lo = std::max<int64_t>(lo, 0);
    hi = std::min<int64_t>(hi, size);
    return std::max<int64_t>(hi - lo, 0);
}

// What one tile does: produced by the walker (DMA load engine), consumed by the PE array
// or the PPU and (for the last reduction tile) by the store engine.
struct TileWork {
    int kind = KIND_MAC;
    bool last_c = false;       // last reduction tile of its outputs: outputs are stored after it
    bool last = false;         // last tile of the layer
    // loads (bytes)
    int64_t dram_read = 0;     // DRAM -> global buffer
    int64_t noc_in = 0;        // global buffer / DMA -> PEs over the NoC (multicast counted once)
    int64_t glb_write = 0;     // into the global buffer (inputs from DRAM)
    int64_t glb_read = 0;      // out of the global buffer (inputs to the PEs or the PPU)
    int64_t wbuf_write = 0;    // into the PE weight buffers (replicated per PE)
    int64_t ibuf_write = 0;    // into the PE input buffers (replicated per PE)
    // compute
    int64_t chunk_cycles = 0;  // cycles of the largest per-PE chunk
    int64_t drain_cycles = 0;  // reading the accumulators out (last reduction tile)
    int64_t nchunks = 0;       // chunks the tile is split into (one per PE when all are active)
    int64_t ppu_cycles = 0;
    int64_t macs_useful = 0, macs_issued = 0;
    int64_t wbuf_read = 0, ibuf_read = 0, acc_read = 0, acc_write = 0, ppu_ops = 0;
    // store (bytes)
    int64_t out_bytes = 0;
    bool out_via_noc = true;   // MAC outputs cross the NoC; the PPU sits at the global buffer
};

// Generates the tiles of one layer in the loop order of its mapping. Loads only the
// operand tiles whose index changed since the previous tile; an operand held resident in
// the global buffer comes from DRAM only on its first visit (all loops it does not
// depend on at index 0), later from the global buffer.
class TileWalker {
  public:
    TileWalker() = default;
    TileWalker(const int64_t* L, const HwConfig& hw) { init(L, hw); }

    // Start walking the layer L (a record of a Program); no allocation.
    void init(const int64_t* L, const HwConfig& hw) {
        *this = TileWalker();
        L_ = L;
        hw_ = &hw;
        kind_ = (int)L[F_KIND];
        if (kind_ == KIND_PPU) {
            E_ = L[F_ELEMS];
            IN_ = L[F_IN_ELEMS];
            ET_ = std::max<int64_t>(1, L[F_ET]);
            ntiles_ = E_ > 0 ? cdiv(E_, ET_) : 0;
            return;
        }
        dim_[DIM_N] = L[F_N]; dim_[DIM_K] = L[F_K]; dim_[DIM_P] = L[F_P]; dim_[DIM_Q] = L[F_Q];
        dim_[DIM_C] = L[F_C];
        tsz_[DIM_N] = L[F_NT]; tsz_[DIM_K] = L[F_KT]; tsz_[DIM_P] = L[F_PT]; tsz_[DIM_Q] = L[F_QT];
        tsz_[DIM_C] = L[F_CT];
        ntiles_ = 1;
        for (int d = 0; d < NUM_DIMS; ++d) {
            tsz_[d] = std::max<int64_t>(1, std::min(tsz_[d], dim_[d]));
            trips_[d] = dim_[d] > 0 ? cdiv(dim_[d], tsz_[d]) : 0;
            ntiles_ *= trips_[d];
            ord_[d] = (int)L[F_ORD0 + d];
            idx_[d] = 0;
            prev_[d] = -1;
        }
        const bool wact = L[F_WACT] != 0;
        const bool grouped = L[F_GROUPS] > 1;
        wmask_ = (1 << DIM_K) | (1 << DIM_C) | (wact ? (1 << DIM_N) : 0);
        imask_ = (1 << DIM_N) | (1 << DIM_P) | (1 << DIM_Q) | (1 << DIM_C) | (grouped ? (1 << DIM_K) : 0);
        kg_ = L[F_GROUPS] > 0 ? std::max<int64_t>(1, L[F_K] / L[F_GROUPS]) : L[F_K];
        // per-tile quantities depend on a tile's sizes only through "full or edge tile"
        // along each dimension: precompute both cases (no divisions per tile)
        const int64_t lanes = hw.lanes, vs = hw.vector_size;
        const int64_t PK = std::max<int64_t>(1, L[F_PK]), PP = std::max<int64_t>(1, L[F_PP]);
        for (int d = 0; d < NUM_DIMS; ++d) last_[d] = dim_[d] - (trips_[d] - 1) * tsz_[d];
        for (int c = 0; c < 2; ++c) {
            const int64_t kt = c ? last_[DIM_K] : tsz_[DIM_K];
            groups_[c] = cdiv(kt, lanes);
            kpe_[c] = cdiv(groups_[c], PK);
            nk_[c] = cdiv(groups_[c], kpe_[c]);
            const int64_t pt = c ? last_[DIM_P] : tsz_[DIM_P];
            ppe_[c] = cdiv(pt, PP);
            np_[c] = cdiv(pt, ppe_[c]);
            vec_[c] = cdiv(c ? last_[DIM_C] : tsz_[DIM_C], vs);
        }
    }

    int64_t num_tiles() const { return ntiles_; }
    bool has_next() const { return done_ < ntiles_; }
    int kind() const { return kind_; }

    // Fill the next tile; false when the layer has no more tiles.
    bool next(TileWork& t) {
        if (done_ >= ntiles_) return false;
        t.dram_read = t.noc_in = t.glb_write = t.glb_read = t.wbuf_write = t.ibuf_write = 0;
        t.chunk_cycles = t.drain_cycles = t.nchunks = t.ppu_cycles = 0;
        t.macs_useful = t.macs_issued = t.wbuf_read = t.ibuf_read = t.acc_read = t.acc_write = t.ppu_ops = 0;
        t.kind = kind_;
        if (kind_ == KIND_PPU) ppu_tile(t); else mac_tile(t);
        ++done_;
        t.last = done_ == ntiles_;
        return true;
    }

  private:
    void ppu_tile(TileWork& t) {
        const int64_t db = L_[F_DB];
        const int64_t e0 = done_ * ET_, et = std::min(ET_, E_ - e0);
        const int64_t in0 = in_prev_, in1 = IN_ * (e0 + et) / E_;
        in_prev_ = in1;
        t.dram_read = (in1 - in0) * db;
        t.glb_write = t.dram_read;
        t.glb_read = t.dram_read;
        t.ppu_ops = et * std::max<int64_t>(1, L_[F_PASSES]);
        t.ppu_cycles = cdiv(t.ppu_ops, hw_->ppu_elements_per_cycle);
        t.out_bytes = et * db;
        t.out_via_noc = false;
        t.last_c = true;
    }

    void mac_tile(TileWork& t) {
        if (done_ > 0) {  // advance the odometer, innermost loop first
            for (int lvl = NUM_DIMS - 1; lvl >= 0; --lvl) {
                const int d = ord_[lvl];
                if (++idx_[d] < trips_[d]) break;
                idx_[d] = 0;
            }
        }
        int64_t o[NUM_DIMS], s[NUM_DIMS];
        int e[NUM_DIMS];  // 1 for the last (edge) tile along a dimension
        for (int d = 0; d < NUM_DIMS; ++d) {
            e[d] = idx_[d] == trips_[d] - 1;
            o[d] = idx_[d] * tsz_[d];
            s[d] = e[d] ? last_[d] : tsz_[d];
        }
        const int64_t db = L_[F_DB], RS = L_[F_R] * L_[F_S];
        const int64_t lanes = hw_->lanes, vs = hw_->vector_size;
        const int64_t nt = s[DIM_N], kt = s[DIM_K], pt = s[DIM_P], qt = s[DIM_Q], ct = s[DIM_C];
        const int64_t groups_t = groups_[e[DIM_K]], kpe = kpe_[e[DIM_K]], nk = nk_[e[DIM_K]];
        const int64_t ppe = ppe_[e[DIM_P]], np = np_[e[DIM_P]], vec = vec_[e[DIM_C]];

        // partition over PEs: output channels in whole lane groups x output rows
        t.nchunks = nk * np;
        t.chunk_cycles = kpe * ppe * qt * nt * vec * RS;
        t.last_c = e[DIM_C];
        t.drain_cycles = t.last_c ? kpe * ppe * qt * nt * hw_->accum_drain_cycles : 0;
        t.macs_useful = nt * kt * pt * qt * ct * RS;
        const int64_t pe_cycles = groups_t * nt * pt * qt * vec * RS;  // lane-group cycles
        t.macs_issued = pe_cycles * lanes * vs;
        // Simba's PE dataflow (weight stationary in the lane): each lane holds a weight
        // vector in a register while the PE streams the output positions of its share, one
        // input vector per cycle shared by the lanes, and accumulates every cycle into its
        // accumulation bank (read + write of one partial sum per lane-cycle). A weight
        // vector is fetched again only when the positions exceed the bank's entries.
        const int64_t pos = ppe * qt * nt;  // output positions per PE
        const int64_t block = std::max<int64_t>(1, std::min<int64_t>(pos, L_[F_AENT]));
        const int64_t fetches = groups_t * np * vec * RS * cdiv(pos, block);
        t.wbuf_read = fetches * lanes * vs * db;
        t.ibuf_read = pe_cycles * vs * db;  // one input vector per PE cycle, shared by the lanes
        const int64_t psum = pe_cycles * lanes * L_[F_ACCB];
        t.acc_write = psum;
        t.acc_read = psum + (t.last_c ? nt * kt * pt * qt * L_[F_ACCB] : 0);  // + drain

        // operand loads: only tiles whose index changed
        bool wchg = false, ichg = false, wfirst = true, ifirst = true;
        for (int d = 0; d < NUM_DIMS; ++d) {
            const bool changed = idx_[d] != prev_[d];
            if (wmask_ & (1 << d)) wchg |= changed; else wfirst &= idx_[d] == 0;
            if (imask_ & (1 << d)) ichg |= changed; else ifirst &= idx_[d] == 0;
            prev_[d] = idx_[d];
        }
        if (wchg) {
            const int64_t wb = L_[F_WACT] ? nt * kt * ct * db : kt * ct * RS * db;
            // weights (and a matmul's second operand) bypass the global buffer as in
            // Simba: DRAM -> NoC -> PE weight buffers, unless held resident in the GLB
            t.noc_in += wb;
            t.wbuf_write += wb * np;  // each row partition needs its channel slice
            if (L_[F_WRES]) {
                t.glb_read += wb;
                if (wfirst) { t.dram_read += wb; t.glb_write += wb; }
            } else {
                t.dram_read += wb;
            }
        }
        if (ichg) {
            const int64_t stride = L_[F_STRIDE], pad = L_[F_PAD];
            const int64_t rows = window(o[DIM_P], pt, stride, L_[F_R], pad, L_[F_H]);
            const int64_t cols = window(o[DIM_Q], qt, stride, L_[F_S], pad, L_[F_W]);
            const bool grouped = L_[F_GROUPS] > 1;
            const int64_t cin = grouped ? ((o[DIM_K] + kt - 1) / kg_ - o[DIM_K] / kg_ + 1) * ct : ct;
            const int64_t ib = nt * cin * rows * cols * db;
            // inputs: DRAM -> global buffer -> NoC (multicast) -> PE input buffers
            t.noc_in += ib;
            t.glb_read += ib;
            t.ibuf_write += ib * (grouped ? 1 : nk);  // grouped: each PE reads its own channels
            if (!L_[F_IRES] || ifirst) { t.dram_read += ib; t.glb_write += ib; }
        }
        t.out_bytes = t.last_c ? nt * kt * pt * qt * db : 0;
        t.out_via_noc = true;
    }

    const int64_t* L_ = nullptr;
    const HwConfig* hw_ = nullptr;
    int kind_ = KIND_MAC;
    int64_t ntiles_ = 0, done_ = 0;
    // PPU
    int64_t E_ = 0, IN_ = 0, ET_ = 1, in_prev_ = 0;
    // MAC
    int64_t dim_[NUM_DIMS] = {}, tsz_[NUM_DIMS] = {}, trips_[NUM_DIMS] = {}, idx_[NUM_DIMS] = {},
            prev_[NUM_DIMS] = {};
    int ord_[NUM_DIMS] = {};
    int wmask_ = 0, imask_ = 0;
    int64_t kg_ = 1;
    int64_t last_[NUM_DIMS] = {};
    int64_t groups_[2] = {}, kpe_[2] = {}, nk_[2] = {}, ppe_[2] = {}, np_[2] = {}, vec_[2] = {};
};

}  // namespace dynvit
