// The translation unit of the C++ model: every source (dynvit.h) and the factory behind the
// thin declaration (model_api.h). accelerator/loader.py compiles it into a shared library,
// or (JIT path) has cppyy compile it in the process.
#include "dynvit.h"

namespace dynvit {

Model* make_model(const HwConfig& hw) { return new Accelerator("accelerator", hw); }

}  // namespace dynvit
