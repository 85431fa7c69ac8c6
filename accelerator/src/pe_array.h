// PE array: num_pes PEs, each with `lanes` vector-MAC units of width vector_size and its
// own weight / input / accumulation buffers (capacities enforced by the mapper).
//
// The unit (compute_unit.h) takes the head tile of the input double buffer, waits until
// its operands have arrived (the load DMA issued the transfer earlier), and computes it.
// The mapping splits a tile into chunks, one per PE: output channels in whole lane
// groups x output rows. A chunk costs
//     ceil(K_pe/lanes) x rows x Q_t x N_t x ceil(C_t/VS) x R x S cycles
// (whole vectors along the reduction, whole lanes along the output channels) plus, after
// the last reduction tile, reading the partial sums out of the accumulation banks
// (HwConfig::accum_drain_cycles per output: 1 with a single-ported bank, 0 with two ports).
// A PE sweeps its output positions in accumulation-bank-sized blocks (a
// weight vector is fetched again per block; the cycle count is the same sum). With
// fewer active PEs than chunks the chunks run in rounds. Active PEs and the clock are
// read at the start of each tile (runtime resources act at tile boundaries). After the
// last reduction tile the outputs take an output slot in the global buffer for the
// store DMA. Buffer accesses follow Simba's weight-stationary lane dataflow (see
// TileWalker::mac_tile): per PE cycle one input vector shared by the lanes, a weight vector
// held in each lane while it streams its output positions, and one partial-sum read and
// write per lane-cycle in the accumulation bank.
#pragma once
#include <algorithm>
#include <systemc>

#include "compute_unit.h"

namespace dynvit {

struct PeArray : ComputeUnit<PeArray> {
    PeArray(sc_core::sc_module_name name, Core& c, Dma& d) : ComputeUnit<PeArray>(name, c, d, KIND_MAC) {}

    int64_t tile_cycles(const TileWork& w) const {
        const int64_t active = std::max<int64_t>(1, std::min(core.rt.active_pes, core.hw.num_pes));
        const int64_t rounds = w.nchunks > active ? cdiv(w.nchunks, active) : (w.nchunks > 0);  // no division for one round
        return rounds * (w.chunk_cycles + w.drain_cycles);
    }
    bool completes_outputs(const TileWork& w) const { return w.last_c; }
    void account(int64_t* row, const TileWork& w) const {
        row[CTR_MACS_USEFUL] += w.macs_useful;
        row[CTR_MACS_ISSUED] += w.macs_issued;
        row[CTR_WBUF_READ] += w.wbuf_read;
        row[CTR_IBUF_READ] += w.ibuf_read;
        row[CTR_ACCBUF_READ] += w.acc_read;
        row[CTR_ACCBUF_WRITE] += w.acc_write;
    }
};

}  // namespace dynvit
