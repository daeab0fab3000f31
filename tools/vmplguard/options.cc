#include "options.h"

#include <charconv>
#include <optional>
#include <string_view>

#include "base/hex.h"

namespace vg::cli {

const char* const kMainHelp =
    "usage: vmplguard <command> [options]\n"
    "\n"
    "Turns a Linux vmlinux into a vmplguard policy and reports what it found.\n"
    "\n"
    "commands:\n"
    "  analyze VMLINUX        analyze a kernel, write its policy and a report\n"
    "  policy show FILE       print what a policy file holds\n"
    "  policy verify FILE     check a policy's structure and digest (and its kernel)\n"
    "\n"
    "options:\n"
    "  -h, --help             this text; 'vmplguard <command> --help' for a command\n"
    "  --version              print the version\n"
    "\n"
    "exit status: 0 ok, 1 findings selected by --fail-on or a failed verification,\n"
    "2 usage or input error. See docs/cli.md.\n";

const char* const kAnalyzeHelp =
    "usage: vmplguard analyze VMLINUX [options]\n"
    "\n"
    "Analyzes an uncompressed ELF vmlinux (the debug one from a -dbg package has\n"
    "DWARF for object sizes) and reports regions, patch sites, privileged\n"
    "instructions, critical objects, the trusted region and findings.\n"
    "\n"
    "options:\n"
    "  -o, --policy POLICY     write the policy file to POLICY\n"
    "  --format FORMAT         report format: text (default), json, sarif\n"
    "  --output FILE           write the report to FILE instead of standard output\n"
    "  --fail-on WHAT          exit 1 if a finding matches WHAT: a severity (error,\n"
    "                          warning, note: that level and above) or rule ids\n"
    "                          (VG001,VG004)\n"
    "  -j, --jobs N            threads for the analysis (default: 2 if the machine\n"
    "                          has them; 1 runs the stages one after another)\n"
    "  --module-hash NAME=SHA256\n"
    "                          allowlist a module whose text (as loaded, after\n"
    "                          relocation) has this SHA-256; repeatable\n"
    "  --allow-bpf-jit         let the kernel map BPF JIT images executable\n"
    "  --allow-kprobes         let the kernel arm kprobes inside functions outside\n"
    "                          the trusted region\n"
    "  -q, --quiet             no progress; the text report shows findings only\n"
    "  -v, --verbose           progress even when standard error is not a\n"
    "                          terminal, and stage timings\n"
    "  -h, --help              this text\n"
    "\n"
    "Color: only on a terminal, never with NO_COLOR set.\n";

const char* const kPolicyHelp =
    "usage: vmplguard policy show FILE [--format text|json]\n"
    "       vmplguard policy verify FILE [--vmlinux VMLINUX]\n"
    "\n"
    "'vmplguard policy show --help' and 'vmplguard policy verify --help' say more.\n";

const char* const kPolicyShowHelp =
    "usage: vmplguard policy show FILE [--format text|json]\n"
    "\n"
    "Validates FILE completely (structure, sort order, cross references, SHA-256\n"
    "trailer) and prints its header, digest, regions and table summaries.\n";

const char* const kPolicyVerifyHelp =
    "usage: vmplguard policy verify FILE [--vmlinux VMLINUX]\n"
    "\n"
    "Validates FILE completely and prints its SHA-256 digest. With --vmlinux,\n"
    "also checks that the policy was made from that kernel: same build id,\n"
    "release and _text address. Exit 0 if everything holds, 1 if the policy does\n"
    "not match the kernel, 2 if a file is unreadable or malformed.\n";

namespace {

// Walks the arguments of one subcommand: options with values in either
// "--name value" or "--name=value" form, positionals in order.
class ArgCursor {
 public:
  ArgCursor(const std::vector<std::string>& args, size_t first) : args_(args), next_(first) {}

  bool done() const { return next_ >= args_.size(); }
  const std::string& peek() const { return args_[next_]; }

  // True if the current argument is option `name` (or `alias`); consumes it,
  // with "--name=value" split so that value() finds the value.
  bool take(std::string_view name, std::string_view alias = {}) {
    const std::string& arg = args_[next_];
    if (arg == name || (!alias.empty() && arg == alias)) {
      ++next_;
      pending_.reset();
      current_ = std::string(name);
      return true;
    }
    if (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 && arg[name.size()] == '=') {
      ++next_;
      pending_ = arg.substr(name.size() + 1);
      current_ = std::string(name);
      return true;
    }
    return false;
  }

  Result<std::string, std::string> value() {
    if (pending_) {
      std::string v = *pending_;
      pending_.reset();
      return v;
    }
    if (done()) return Err{current_ + " needs a value"};
    return args_[next_++];
  }

  // For an option that takes no value: "--allow-kprobes=no" must not turn
  // the option on.
  Result<void, std::string> no_value() {
    if (!pending_) return Ok{};
    const std::string given = *pending_;
    pending_.reset();
    return Err{current_ + " takes no value (given '" + given + "')"};
  }

  std::string positional() { return args_[next_++]; }

 private:
  const std::vector<std::string>& args_;
  size_t next_;
  std::optional<std::string> pending_;
  std::string current_;
};

bool looks_like_option(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-';
}

Result<ReportFormat, std::string> parse_format(const std::string& text, bool allow_sarif) {
  if (text == "text") return ReportFormat::kText;
  if (text == "json") return ReportFormat::kJson;
  if (text == "sarif" && allow_sarif) return ReportFormat::kSarif;
  return Err{"--format: unknown format '" + text + "' (use text, json" + (allow_sarif ? ", sarif)" : ")")};
}

Result<unsigned, std::string> parse_jobs(const std::string& text) {
  unsigned jobs = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), jobs);
  if (error != std::errc() || end != text.data() + text.size() || jobs == 0 || jobs > 256) {
    return Err{"--jobs: '" + text + "' is not a number from 1 to 256"};
  }
  return jobs;
}

// NAME=SHA256: a module name as the kernel reports it and 64 hex digits.
Result<std::pair<std::string, std::array<uint8_t, 32>>, std::string> parse_module_hash(
    const std::string& text) {
  const size_t equals = text.find('=');
  const std::string bad = "--module-hash: '" + text + "' is not NAME=SHA256 (64 hex digits)";
  if (equals == std::string::npos || equals == 0 || equals > 55 || text.size() - equals - 1 != 64)
    return Err{bad};
  std::array<uint8_t, 32> digest{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = text[equals + 1 + i];
    const int nibble = hex_digit(c, HexCase::kEither);
    if (nibble < 0) return Err{bad};
    digest[i / 2] = static_cast<uint8_t>(digest[i / 2] << 4 | nibble);
  }
  return std::make_pair(text.substr(0, equals), digest);
}

Result<Command, std::string> parse_analyze(const std::vector<std::string>& args) {
  AnalyzeOptions options;
  ArgCursor cursor(args, 1);
  while (!cursor.done()) {
    if (cursor.take("--help", "-h")) return Command{HelpRequest{kAnalyzeHelp}};
    if (cursor.take("--policy", "-o")) {
      options.policy_path = VG_TRY(cursor.value());
    } else if (cursor.take("--format")) {
      const std::string format = VG_TRY(cursor.value());
      options.format = VG_TRY(parse_format(format, true));
    } else if (cursor.take("--output")) {
      options.output_path = VG_TRY(cursor.value());
    } else if (cursor.take("--fail-on")) {
      const std::string fail_on = VG_TRY(cursor.value());
      options.fail_on = VG_TRY(FailOn::parse(fail_on));
    } else if (cursor.take("--jobs", "-j")) {
      const std::string jobs = VG_TRY(cursor.value());
      options.jobs = VG_TRY(parse_jobs(jobs));
    } else if (cursor.take("--module-hash")) {
      const std::string value = VG_TRY(cursor.value());
      options.module_hashes.push_back(VG_TRY(parse_module_hash(value)));
    } else if (cursor.take("--allow-bpf-jit")) {
      VG_TRY_VOID(cursor.no_value());
      options.allow_bpf_jit = true;
    } else if (cursor.take("--allow-kprobes")) {
      VG_TRY_VOID(cursor.no_value());
      options.allow_kprobes = true;
    } else if (cursor.take("--quiet", "-q")) {
      VG_TRY_VOID(cursor.no_value());
      options.quiet = true;
    } else if (cursor.take("--verbose", "-v")) {
      VG_TRY_VOID(cursor.no_value());
      options.verbose = true;
    } else if (looks_like_option(cursor.peek())) {
      return Err{"analyze: unknown option '" + cursor.peek() + "'"};
    } else if (options.vmlinux.empty()) {
      options.vmlinux = cursor.positional();
    } else {
      return Err{"analyze: more than one VMLINUX given ('" + options.vmlinux + "', '" + cursor.peek() + "')"};
    }
  }
  if (options.vmlinux.empty()) return Err{"analyze: missing VMLINUX"};
  if (options.quiet && options.verbose) return Err{"analyze: --quiet and --verbose exclude each other"};
  return Command{std::move(options)};
}

Result<Command, std::string> parse_policy_show(const std::vector<std::string>& args) {
  PolicyShowOptions options;
  ArgCursor cursor(args, 2);
  while (!cursor.done()) {
    if (cursor.take("--help", "-h")) return Command{HelpRequest{kPolicyShowHelp}};
    if (cursor.take("--format")) {
      const std::string format = VG_TRY(cursor.value());
      options.format = VG_TRY(parse_format(format, false));
    } else if (looks_like_option(cursor.peek())) {
      return Err{"policy show: unknown option '" + cursor.peek() + "'"};
    } else if (options.file.empty()) {
      options.file = cursor.positional();
    } else {
      return Err{"policy show: more than one FILE given"};
    }
  }
  if (options.file.empty()) return Err{"policy show: missing FILE"};
  return Command{std::move(options)};
}

Result<Command, std::string> parse_policy_verify(const std::vector<std::string>& args) {
  PolicyVerifyOptions options;
  ArgCursor cursor(args, 2);
  while (!cursor.done()) {
    if (cursor.take("--help", "-h")) return Command{HelpRequest{kPolicyVerifyHelp}};
    if (cursor.take("--vmlinux")) {
      options.vmlinux = VG_TRY(cursor.value());
    } else if (looks_like_option(cursor.peek())) {
      return Err{"policy verify: unknown option '" + cursor.peek() + "'"};
    } else if (options.file.empty()) {
      options.file = cursor.positional();
    } else {
      return Err{"policy verify: more than one FILE given"};
    }
  }
  if (options.file.empty()) return Err{"policy verify: missing FILE"};
  return Command{std::move(options)};
}

}  // namespace

Result<Command, std::string> parse_command_line(const std::vector<std::string>& args) {
  if (args.empty()) return Err{std::string("missing command (analyze, policy)")};
  const std::string& command = args[0];
  if (command == "--help" || command == "-h" || command == "help") return Command{HelpRequest{kMainHelp}};
  if (command == "--version" || command == "-V") return Command{VersionRequest{}};
  if (command == "analyze") return parse_analyze(args);
  if (command == "policy") {
    if (args.size() < 2) return Err{std::string("policy: missing subcommand (show, verify)")};
    if (args[1] == "--help" || args[1] == "-h") return Command{HelpRequest{kPolicyHelp}};
    if (args[1] == "show") return parse_policy_show(args);
    if (args[1] == "verify") return parse_policy_verify(args);
    return Err{"policy: unknown subcommand '" + args[1] + "' (show, verify)"};
  }
  return Err{"unknown command '" + command + "' (analyze, policy)"};
}

}  // namespace vg::cli
