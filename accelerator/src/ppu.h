// Post-processing unit: non-MAC operations (softmax, layer norm, GELU, resize,
// element-wise, pooling, ...) at ppu_elements_per_cycle element-operations per cycle,
// at the clock read at the start of each tile. It sits at the global buffer (no NoC).
// Each tile is a slice of the layer's output elements; `passes` element-operations per
// output element (set by the mapper per op type).
#pragma once
#include <systemc>

#include "compute_unit.h"

namespace dynvit {

struct Ppu : ComputeUnit<Ppu> {
    Ppu(sc_core::sc_module_name name, Core& c, Dma& d) : ComputeUnit<Ppu>(name, c, d, KIND_PPU) {}

    int64_t tile_cycles(const TileWork& w) const { return w.ppu_cycles; }
    bool completes_outputs(const TileWork&) const { return true; }
    void account(int64_t* row, const TileWork& w) const { row[CTR_PPU_OPS] += w.ppu_ops; }
};

}  // namespace dynvit
