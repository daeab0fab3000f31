// SHA-256 [FIPS 180-4], freestanding.
//
// The policy digest is what an attestation report vouches for, and the monitor
// must recompute it inside VMPL0 without a crypto library; the analyzer uses
// the same code so that both sides can never disagree on the digest.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vg {

struct Sha256Digest {
  uint8_t bytes[32];
  friend bool operator==(const Sha256Digest&, const Sha256Digest&) = default;
};

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t length);
  Sha256Digest finish();

  static Sha256Digest of(const void* data, size_t length) {
    Sha256 hasher;
    hasher.update(data, length);
    return hasher.finish();
  }

 private:
  void compress(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Writes 64 lowercase hex characters and a NUL into `out` (65 bytes).
void to_hex(const Sha256Digest& digest, char out[65]);

}  // namespace vg
