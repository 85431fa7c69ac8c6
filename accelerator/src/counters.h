// Per-layer action counters of the accelerator model: enum Counter, NUM_COUNTERS and
// counter_name are generated from vocab.names.COUNTERS, THE definition (accelerator/codegen.py).
#pragma once
#include "counters.gen.h"
