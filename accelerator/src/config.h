// Hardware parameters fixed at elaboration, and the resources settable at run time.
// HwConfig and check_hw are generated from accelerator/hw_config.py, Runtime from
// accelerator/params.py's RuntimeResources (accelerator/codegen.py).
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "hw_config.gen.h"
#include "runtime.gen.h"

namespace dynvit {

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The C++ API checks what it is given and throws (cppyy turns it into a Python exception)
// instead of dividing by zero or indexing out of range.
inline void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("dynvit: " + what);
}

}  // namespace dynvit
