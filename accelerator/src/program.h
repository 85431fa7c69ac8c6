// A layer program: per layer one fixed-size record of int64 fields (written by
// accelerator/program.py; enum Field, Kind and Dim are generated from its PROGRAM_FIELD_DECLS,
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

// What one tile loads (bytes): produced by the walker, issued by the DMA's load channel.
struct TileLoad {
    int64_t dram_read = 0;     // DRAM -> global buffer
    int64_t noc_in = 0;        // global buffer / DMA -> PEs over the NoC (multicast counted once)
    int64_t glb_write = 0;     // into the global buffer (inputs from DRAM)
    int64_t glb_read = 0;      // out of the global buffer (inputs to the PEs or the PPU)
    int64_t wbuf_write = 0;    // into the PE weight buffers (replicated per PE)
    int64_t ibuf_write = 0;    // into the PE input buffers (replicated per PE)
    // what the PE buffers and the global buffer hold once this tile is in (a checkpoint's
    // restore reloads it): the operand tiles (DRAM bytes; replicated into the PE buffers) and
    // the resident operands loaded so far in this layer
    int64_t held_w = 0, held_wbuf = 0, held_i = 0, held_ibuf = 0, resident = 0;
};

// What one tile computes and stores: produced by the walker, consumed by the PE array or the
// PPU and (for the last reduction tile) by the store channel. It depends only on the tile's
// class (TileWalker), so tiles refer to their class's copy.
struct TileWork {
    int kind = KIND_MAC;
    bool last_c = false;       // last reduction tile of its outputs: outputs are stored after it
    bool last = false;         // last tile of the layer
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
    int64_t psum_bytes = 0;    // partial sums of its outputs in the accumulation banks (live until last_c)
};

// Generates the tiles of one layer in the loop order of its mapping. Loads only the
// operand tiles whose index changed since the previous tile; an operand held resident in
// the global buffer comes from DRAM only on its first visit (all loops it does not
// depend on at index 0), later from the global buffer.
//
// Speed (this runs once per tile): a MAC tile's sizes differ from the layer's tile sizes
// only along the dimensions where it is the last (edge) tile, so everything a tile
// computes, and the weight tile it loads, depends on which dimensions are at their edge:
// at most 2^5 tile classes per layer, each worked out on first use (TileClass). Per tile
// the walker then advances the loop odometer (usually only the innermost loop moves), hands
// out its class's work and computes its load: the weight tile (a class constant) and the
// input tile, whose size also depends on where the tile lies (the clipped input window, a
// grouped convolution's channel span). The layer's last tile is the one class at the edge
// along every loop.
class TileWalker {
  public:
    TileWalker() = default;

    // Tiles of the layer L (a record of a Program), without walking it.
    static int64_t count_tiles(const int64_t* L) {
        if (L[F_KIND] == KIND_PPU) return L[F_ELEMS] > 0 ? cdiv(L[F_ELEMS], std::max<int64_t>(1, L[F_ET])) : 0;
        int64_t n = 1;
        for (int d = 0; d < NUM_DIMS; ++d) {
            const int64_t dim = L[kDimField[d]];
            n *= dim > 0 ? cdiv(dim, std::max<int64_t>(1, std::min(L[kTileField[d]], dim))) : 0;
        }
        return n;
    }

    // Start walking the layer L (a record of a Program); no allocation.
    void init(const int64_t* L, const HwConfig& hw) {
        L_ = L;
        hw_ = &hw;
        kind_ = (int)L[F_KIND];
        done_ = 0;
        if (kind_ == KIND_PPU) {
            E_ = L[F_ELEMS];
            IN_ = L[F_IN_ELEMS];
            ET_ = std::max<int64_t>(1, L[F_ET]);
            ntiles_ = E_ > 0 ? cdiv(E_, ET_) : 0;
            // input elements read up to a slice's end: floor(IN * end / E), kept as quotient and
            // remainder (no division per tile)
            in_q_ = in_r_ = 0;
            if (E_ > 0) { in_step_q_ = IN_ * ET_ / E_; in_step_r_ = IN_ * ET_ % E_; }
            const int64_t passes = std::max<int64_t>(1, L[F_PASSES]);
            for (int c = 0; c < 2; ++c) {  // a full slice, the last slice
                TileWork& t = ppu_[c];
                t = TileWork();
                t.kind = KIND_PPU;
                const int64_t et = c ? E_ - (ntiles_ - 1) * ET_ : ET_;
                t.ppu_ops = et * passes;
                t.ppu_cycles = cdiv(t.ppu_ops, hw.ppu_elements_per_cycle);
                t.out_bytes = et * L[F_DB];
                t.out_via_noc = false;
                t.last_c = true;
                t.last = c == 1;
            }
            return;
        }
        ntiles_ = 1;
        for (int d = 0; d < NUM_DIMS; ++d) {
            dim_[d] = L[kDimField[d]];
            tsz_[d] = std::max<int64_t>(1, std::min(L[kTileField[d]], dim_[d]));
            trips_[d] = dim_[d] > 0 ? cdiv(dim_[d], tsz_[d]) : 0;
            ntiles_ *= trips_[d];
            last_[d] = dim_[d] - (trips_[d] - 1) * tsz_[d];
            idx_[d] = 0;
        }
        // the odometer skips loops of one trip (their index never moves)
        nlevels_ = 0;
        for (int lvl = 0; lvl < NUM_DIMS; ++lvl) {
            const int d = (int)L[F_ORD0 + lvl];
            if (trips_[d] > 1) ord_[nlevels_++] = d;
        }
        const bool wact = L[F_WACT] != 0;
        grouped_ = L[F_GROUPS] > 1;
        wmask_ = (1u << DIM_K) | (1u << DIM_C) | (wact ? (1u << DIM_N) : 0u);
        imask_ = (1u << DIM_N) | (1u << DIM_P) | (1u << DIM_Q) | (1u << DIM_C) | (grouped_ ? (1u << DIM_K) : 0u);
        kg_ = L[F_GROUPS] > 0 ? std::max<int64_t>(1, L[F_K] / L[F_GROUPS]) : L[F_K];
        edges_ = nonzero_ = 0;
        classes_ = 0;
        ib_ = ibuf_ = resident_ = 0;
    }

    int64_t num_tiles() const { return ntiles_; }
    bool has_next() const { return done_ < ntiles_; }
    int kind() const { return kind_; }

    // The next tile: what it computes (valid until the walker starts another layer), and its
    // load; nullptr when the layer has no more tiles.
    const TileWork* next(TileLoad& load) {
        if (done_ >= ntiles_) return nullptr;
        load = TileLoad();
        const TileWork* w = kind_ == KIND_PPU ? ppu_tile(load) : mac_tile(load);
        ++done_;
        return w;
    }

  private:
    // the record fields of each loop dimension's size and tile size
    static constexpr int kDimField[NUM_DIMS] = {F_N, F_K, F_P, F_Q, F_C};
    static constexpr int kTileField[NUM_DIMS] = {F_NT, F_KT, F_PT, F_QT, F_CT};

    const TileWork* ppu_tile(TileLoad& t) {
        const bool last = done_ == ntiles_ - 1;
        const int64_t in0 = in_q_;
        if (last) {
            in_q_ = IN_ * E_ / E_;  // the whole input (as IN * end / E with end = E)
        } else {
            in_q_ += in_step_q_;
            in_r_ += in_step_r_;
            if (in_r_ >= E_) { ++in_q_; in_r_ -= E_; }
        }
        t.dram_read = (in_q_ - in0) * L_[F_DB];
        t.glb_write = t.dram_read;
        t.glb_read = t.dram_read;
        return &ppu_[last];
    }

    // What a MAC tile computes and its weight load, given which dimensions are at their edge.
    struct TileClass {
        TileWork work;
        int64_t nt = 0, kt = 0, pt = 0, qt = 0, ct = 0;  // the tile's sizes
        int64_t nk = 0;      // PEs along K (a non-grouped input tile is multicast to them)
        int64_t wbytes = 0;  // the weight (second operand) tile
        int64_t np = 0;      // PEs along P (each holds the weight tile)
    };

    const TileClass& tile_class(unsigned edges) {
        return (classes_ & (1u << edges)) ? class_[edges] : make_class(edges);
    }

    const TileClass& make_class(unsigned edges) {
        TileClass& c = class_[edges];
        classes_ |= 1u << edges;
        int64_t s[NUM_DIMS];
        for (int d = 0; d < NUM_DIMS; ++d) s[d] = (edges >> d) & 1 ? last_[d] : tsz_[d];
        const int64_t* L = L_;
        const int64_t db = L[F_DB], RS = L[F_R] * L[F_S];
        const int64_t lanes = hw_->lanes, vs = hw_->vector_size;
        const int64_t PK = std::max<int64_t>(1, L[F_PK]), PP = std::max<int64_t>(1, L[F_PP]);
        const int64_t nt = s[DIM_N], kt = s[DIM_K], pt = s[DIM_P], qt = s[DIM_Q], ct = s[DIM_C];
        // partition over PEs: output channels in whole lane groups x output rows
        const int64_t groups_t = cdiv(kt, lanes);
        const int64_t kpe = cdiv(groups_t, PK), nk = cdiv(groups_t, kpe);
        const int64_t ppe = cdiv(pt, PP), np = cdiv(pt, ppe);
        const int64_t vec = cdiv(ct, vs);
        TileWork& t = c.work;
        t = TileWork();
        t.kind = KIND_MAC;
        t.nchunks = nk * np;
        t.chunk_cycles = kpe * ppe * qt * nt * vec * RS;
        t.last_c = (edges >> DIM_C) & 1;
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
        const int64_t block = std::max<int64_t>(1, std::min<int64_t>(pos, L[F_AENT]));
        const int64_t fetches = groups_t * np * vec * RS * cdiv(pos, block);
        t.wbuf_read = fetches * lanes * vs * db;
        t.ibuf_read = pe_cycles * vs * db;  // one input vector per PE cycle, shared by the lanes
        const int64_t psum = pe_cycles * lanes * L[F_ACCB];
        t.acc_write = psum;
        t.acc_read = psum + (t.last_c ? nt * kt * pt * qt * L[F_ACCB] : 0);  // + drain
        t.out_bytes = t.last_c ? nt * kt * pt * qt * db : 0;
        t.psum_bytes = nt * kt * pt * qt * L[F_ACCB];
        t.out_via_noc = true;
        t.last = edges == (1u << NUM_DIMS) - 1;  // at the edge along every loop: the last tile
        c.nt = nt; c.kt = kt; c.pt = pt; c.qt = qt; c.ct = ct;
        c.nk = nk;
        c.np = np;
        c.wbytes = L[F_WACT] ? nt * kt * ct * db : kt * ct * RS * db;
        return c;
    }

    const TileWork* mac_tile(TileLoad& t) {
        unsigned changed;  // dimensions whose tile index changed since the previous tile
        if (done_ == 0) {
            changed = (1u << NUM_DIMS) - 1;  // every operand tile is new
        } else {  // advance the odometer, innermost loop first
            changed = 0;
            for (int lvl = nlevels_ - 1; lvl >= 0; --lvl) {
                const int d = ord_[lvl];
                changed |= 1u << d;
                if (++idx_[d] < trips_[d]) break;
                idx_[d] = 0;  // wrapped to its first tile
            }
        }
        for (unsigned m = changed; m; m &= m - 1) {
            const int d = __builtin_ctz(m);
            const unsigned bit = 1u << d;
            edges_ = idx_[d] == trips_[d] - 1 ? edges_ | bit : edges_ & ~bit;
            nonzero_ = idx_[d] != 0 ? nonzero_ | bit : nonzero_ & ~bit;
        }
        const TileClass& c = tile_class(edges_);
        const int64_t* L = L_;
        // operand loads: only tiles whose index changed
        if (changed & wmask_) {
            const bool first = (nonzero_ & ~wmask_) == 0;  // every loop it does not depend on at 0
            const int64_t wb = c.wbytes;
            // weights (and a matmul's second operand) bypass the global buffer as in
            // Simba: DRAM -> NoC -> PE weight buffers, unless held resident in the GLB
            t.noc_in += wb;
            t.wbuf_write += wb * c.np;  // each row partition needs its channel slice
            if (L[F_WRES]) {
                t.glb_read += wb;
                if (first) { t.dram_read += wb; t.glb_write += wb; resident_ += wb; }
            } else {
                t.dram_read += wb;
            }
        }
        if (changed & imask_) {
            const bool first = (nonzero_ & ~imask_) == 0;
            const int64_t stride = L[F_STRIDE], pad = L[F_PAD];
            if (changed & (1u << DIM_P)) rows_ = window(idx_[DIM_P] * tsz_[DIM_P], c.pt, stride, L[F_R], pad, L[F_H]);
            if (changed & (1u << DIM_Q)) cols_ = window(idx_[DIM_Q] * tsz_[DIM_Q], c.qt, stride, L[F_S], pad, L[F_W]);
            if (!grouped_) {
                cin_ = c.ct;
            } else if (changed & ((1u << DIM_K) | (1u << DIM_C))) {  // the groups the K tile spans
                const int64_t o = idx_[DIM_K] * tsz_[DIM_K];
                cin_ = ((o + c.kt - 1) / kg_ - o / kg_ + 1) * c.ct;
            }
            const int64_t ib = c.nt * cin_ * rows_ * cols_ * L[F_DB];
            // inputs: DRAM -> global buffer -> NoC (multicast) -> PE input buffers
            t.noc_in += ib;
            t.glb_read += ib;
            ib_ = ib;
            ibuf_ = ib * (grouped_ ? 1 : c.nk);
            t.ibuf_write += ibuf_;  // grouped: each PE reads its own channels
            if (!L[F_IRES] || first) { t.dram_read += ib; t.glb_write += ib; }
            if (L[F_IRES] && first) resident_ += ib;
        }
        t.held_w = c.wbytes;
        t.held_wbuf = c.wbytes * c.np;
        t.held_i = ib_;
        t.held_ibuf = ibuf_;
        t.resident = resident_;
        return &c.work;
    }

    const int64_t* L_ = nullptr;
    const HwConfig* hw_ = nullptr;
    int kind_ = KIND_MAC;
    int64_t ntiles_ = 0, done_ = 0;
    // PPU: a full and the last slice; the input read so far (quotient, remainder of IN * end / E)
    int64_t E_ = 0, IN_ = 0, ET_ = 1;
    int64_t in_q_ = 0, in_r_ = 0, in_step_q_ = 0, in_step_r_ = 0;
    TileWork ppu_[2];
    // MAC: loop nest
    int64_t dim_[NUM_DIMS] = {}, tsz_[NUM_DIMS] = {}, trips_[NUM_DIMS] = {}, last_[NUM_DIMS] = {},
            idx_[NUM_DIMS] = {};
    int ord_[NUM_DIMS] = {};  // the loops of more than one trip, outermost first
    int nlevels_ = 0;
    unsigned wmask_ = 0, imask_ = 0;  // dimensions the weight / input tile depends on
    unsigned edges_ = 0;              // dimensions at their last (edge) tile
    unsigned nonzero_ = 0;            // dimensions not at their first tile
    bool grouped_ = false;
    int64_t kg_ = 1;
    int64_t rows_ = 0, cols_ = 0;     // input window of the current tile (follow P and Q)
    int64_t cin_ = 0;                 // input channels of the current tile (follow K and C)
    int64_t ib_ = 0, ibuf_ = 0;       // the current input tile: DRAM bytes, PE input-buffer bytes
    int64_t resident_ = 0;            // resident operand bytes loaded into the global buffer so far
    // tile classes by edge pattern, worked out on first use (bit e of classes_: class_[e] valid)
    uint32_t classes_ = 0;
    TileClass class_[1 << NUM_DIMS];
};

}  // namespace dynvit
