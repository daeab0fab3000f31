// Command-line parsing for the vmplguard subcommands. Parsing only checks
// syntax and values; files are opened later, by the command that uses them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "findings.h"

namespace vg::cli {

enum class ReportFormat { kText, kJson, kSarif };

struct AnalyzeOptions {
  std::string vmlinux;
  std::string policy_path;  // -o; empty: no policy written
  ReportFormat format = ReportFormat::kText;
  std::string output_path;  // --output; empty: standard output
  FailOn fail_on;
  unsigned jobs = 0;  // 0: one per core, at most two
  bool quiet = false;
  bool verbose = false;
  // --module-hash NAME=SHA256 (repeatable) and --allow-bpf-jit: the
  // provisioning step's allowlist (docs/replay.md, "Modules").
  std::vector<std::pair<std::string, std::array<uint8_t, 32>>> module_hashes;
  bool allow_bpf_jit = false;
  bool allow_kprobes = false;  // --allow-kprobes
};

struct PolicyShowOptions {
  std::string file;
  ReportFormat format = ReportFormat::kText;  // text or json
};

struct PolicyVerifyOptions {
  std::string file;
  std::string vmlinux;  // empty: structure and digest only
};

// What to print instead of running a command.
struct HelpRequest {
  std::string text;
};
struct VersionRequest {};

using Command =
    std::variant<AnalyzeOptions, PolicyShowOptions, PolicyVerifyOptions, HelpRequest, VersionRequest>;

// Errors are one line without the "vmplguard: " prefix.
Result<Command, std::string> parse_command_line(const std::vector<std::string>& args);

extern const char* const kMainHelp;
extern const char* const kAnalyzeHelp;
extern const char* const kPolicyHelp;
extern const char* const kPolicyShowHelp;
extern const char* const kPolicyVerifyHelp;

}  // namespace vg::cli
