// The mem* functions the compiler may call in freestanding code (for struct
// copies and __builtin_mem*) [GCC manual, "Standards": freestanding code
// must provide memcpy, memmove, memset and memcmp]. Byte loops, written so
// the compiler cannot turn them back into calls to themselves.
#include <stddef.h>
#include <stdint.h>

extern "C" {

// optimize("no-tree-loop-distribute-patterns") keeps GCC from recognizing
// the loops as memcpy/memset and calling them recursively.
#define VG_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

VG_NO_LIBCALL void* memcpy(void* __restrict destination, const void* __restrict source, size_t length) {
  auto* out = static_cast<uint8_t*>(destination);
  const auto* in = static_cast<const uint8_t*>(source);
  for (size_t i = 0; i < length; ++i) out[i] = in[i];
  return destination;
}

VG_NO_LIBCALL void* memmove(void* destination, const void* source, size_t length) {
  auto* out = static_cast<uint8_t*>(destination);
  const auto* in = static_cast<const uint8_t*>(source);
  if (out < in) {
    for (size_t i = 0; i < length; ++i) out[i] = in[i];
  } else {
    for (size_t i = length; i > 0; --i) out[i - 1] = in[i - 1];
  }
  return destination;
}

VG_NO_LIBCALL void* memset(void* destination, int value, size_t length) {
  auto* out = static_cast<uint8_t*>(destination);
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<uint8_t>(value);
  return destination;
}

VG_NO_LIBCALL int memcmp(const void* left, const void* right, size_t length) {
  const auto* a = static_cast<const uint8_t*>(left);
  const auto* b = static_cast<const uint8_t*>(right);
  for (size_t i = 0; i < length; ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

}  // extern "C"
