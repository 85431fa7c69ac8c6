// dynvit-cosim accelerator model: every C++ source, in dependency order.
// Compiled through model.cpp: into a cached shared library, or by cppyy (accelerator/loader.py).
#pragma once
#include "counters.h"
#include "config.h"
#include "program.h"
#include "model_api.h"
#include "core.h"
#include "duration_memo.h"
#include "bandwidth_server.h"
#include "global_buffer.h"
#include "dma.h"
#include "compute_unit.h"
#include "pe_array.h"
#include "ppu.h"
#include "partition.h"
#include "timed_wait_loop.h"
#include "accelerator.h"
