// write_seed_policy OUT: writes the policy tests' sample policy (every table
// kind) to OUT, as the seed of the policy parser's fuzzer.
#include <cstdio>

#include "policy_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seed_policy OUT\n");
    return 2;
  }
  auto bytes = vg::policy::testing::sample_builder().build();
  if (!bytes.ok()) {
    std::fprintf(stderr, "write_seed_policy: %s\n", bytes.error().c_str());
    return 1;
  }
  FILE* out = std::fopen(argv[1], "wb");
  if (out == nullptr || std::fwrite(bytes->data(), 1, bytes->size(), out) != bytes->size() ||
      std::fclose(out) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
