// The vmplguard command line: parses, runs one command, writes reports and
// returns the exit status (0 ok, 1 findings selected by --fail-on or a failed
// verification, 2 usage or input error).
//
// The analysis itself comes in through Backend, so the whole command line
// (options, reports, exit codes, file handling) is tested with synthetic
// analyses while the real binary plugs in the analyzer pipeline.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "analyzer/diagnostic.h"
#include "analyzer/model.h"
#include "base/result.h"
#include "progress.h"

namespace vg::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsage = 2;

struct AnalyzeRequest {
  std::string vmlinux;
  unsigned jobs = 1;
  // For the policy: allowlisted module digests and header flags.
  std::vector<std::pair<std::string, std::array<uint8_t, 32>>> module_digests;
  bool allow_bpf_jit = false;
  bool allow_kprobes = false;
};

struct AnalyzeOutput {
  analyzer::Analysis analysis;
  std::vector<uint8_t> policy;  // the serialized policy (format 1)
};

struct Backend {
  std::function<Result<AnalyzeOutput, analyzer::Diagnostic>(const AnalyzeRequest&, ProgressReporter&)>
      analyze;
  // Identity of a kernel (release, build id, _text) for `policy verify`.
  std::function<Result<analyzer::KernelInfo, analyzer::Diagnostic>(const std::string& vmlinux)> identify;
};

struct Terminal {
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;
  bool no_color = false;  // NO_COLOR is set (https://no-color.org)
  unsigned hardware_threads = 1;
};

// Terminal facts of the running process.
Terminal detect_terminal();

int run(const std::vector<std::string>& args, const Backend& backend, const Terminal& terminal,
        std::ostream& out, std::ostream& err);

}  // namespace vg::cli
