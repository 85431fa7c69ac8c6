// Per-layer action counters of the accelerator model: enum Counter, NUM_COUNTERS and
// counter_name are generated from accelerator/counters.py (COUNTERS; the memory levels' byte
// counters from accelerator/hierarchy.py) by accelerator/codegen.py.
#pragma once
#include "counters.gen.h"
