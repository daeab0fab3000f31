// Our freestanding SHA-256 must agree with OpenSSL on every length, because
// the monitor and an attestation verifier computing the policy digest with a
// standard library must get the same answer.
#include "base/sha256.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

std::string hex(const vg::Sha256Digest& digest) {
  char out[65];
  vg::to_hex(digest, out);
  return out;
}

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(hex(vg::Sha256::of("", 0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(vg::Sha256::of("abc", 3)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(hex(vg::Sha256::of(two_blocks.data(), two_blocks.size())),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MatchesOpenSslForEveryLengthAndSplit) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t length = 0; length <= data.size(); ++length) {
    uint8_t expected[32];
    SHA256(data.data(), length, expected);
    // Feed in two uneven pieces to exercise the buffering path.
    vg::Sha256 hasher;
    size_t split = length / 3;
    hasher.update(data.data(), split);
    hasher.update(data.data() + split, length - split);
    vg::Sha256Digest digest = hasher.finish();
    ASSERT_EQ(0, std::memcmp(expected, digest.bytes, 32)) << "length " << length;
  }
}

}  // namespace
