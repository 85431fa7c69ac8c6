// Global buffer shared by the PEs: the staging point of every DRAM transfer and of
// operand delivery to the PEs. Capacity is enforced by the mapper (tiles are chosen so
// that the double-buffered tiles and any resident operand fit); here it counts traffic.
#pragma once
#include <systemc>

#include "core.h"

namespace dynvit {

SC_MODULE(GlobalBuffer) {
    Core& core;

    GlobalBuffer(sc_core::sc_module_name name, Core& c) : sc_module(name), core(c) {}

    void write(int64_t* row, int64_t bytes) { row[CTR_GLB_WRITE] += bytes; }
    void read(int64_t* row, int64_t bytes) { row[CTR_GLB_READ] += bytes; }
};

}  // namespace dynvit
