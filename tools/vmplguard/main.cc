// vmplguard: the command-line front end. Everything but the choice of the
// real analyzer pipeline lives in cli.cc, where tests can reach it.
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "pipeline.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const vg::cli::Backend backend{vg::cli::run_pipeline, vg::cli::identify_kernel};
  return vg::cli::run(args, backend, vg::cli::detect_terminal(), std::cout, std::cerr);
}
