// libFuzzer target: VG_CALL_TEXT_PATCH request decoding (kci/fuzz/fuzz_request.h).
#include "fuzz_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vg::kci::fuzzing::run_request(VG_CALL_TEXT_PATCH, data, size);
}
