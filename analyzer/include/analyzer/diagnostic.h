// Errors the analyzer reports about its input, objtool style:
// "FILE: what is wrong" on one line; the CLI exits 2 for any of them.
#pragma once

#include <string>

namespace vg::analyzer {

struct Diagnostic {
  std::string file;     // the input that is at fault
  std::string message;  // what is wrong with it, lower case, no trailing period

  std::string to_string() const { return file + ": " + message; }
};

}  // namespace vg::analyzer
