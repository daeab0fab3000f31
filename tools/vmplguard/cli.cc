#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <variant>

#include "file_io.h"
#include "findings.h"
#include "options.h"
#include "policy/reader.h"
#include "policy_commands.h"
#include "report.h"

#ifndef VMPLGUARD_VERSION
#error "VMPLGUARD_VERSION must come from the build (CMake's project version)"
#endif

namespace vg::cli {
namespace {

// Summary of the policy bytes the pipeline built. The builder's output always
// parses (it is tested to); a failure here is a broken invariant of the
// builder, reported as an input-independent error rather than trusted.
Result<PolicySummary, std::string> summarize_policy(const std::string& path,
                                                    const std::vector<uint8_t>& bytes) {
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
  auto view =
      policy::PolicyView::parse(ByteView{reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size()});
  if (!view.ok()) return Err{std::string("built policy does not parse: ") + policy::describe(view.error())};
  char digest[65];
  to_hex(view->digest(), digest);
  return PolicySummary{path, digest, bytes.size()};
}

unsigned choose_jobs(const AnalyzeOptions& options, const Terminal& terminal) {
  if (options.jobs != 0) return options.jobs;
  // The pipeline has two independent branches; more threads gain nothing.
  return terminal.hardware_threads >= 2 ? 2 : 1;
}

int analyze(const AnalyzeOptions& options, const Backend& backend, const Terminal& terminal,
            std::ostream& out, std::ostream& err) {
  const bool live = terminal.stderr_is_tty && !options.quiet;
  ProgressReporter progress(err, live, options.verbose);
  AnalyzeRequest request;
  request.vmlinux = options.vmlinux;
  request.jobs = choose_jobs(options, terminal);
  request.module_digests = options.module_hashes;
  request.allow_bpf_jit = options.allow_bpf_jit;
  request.allow_kprobes = options.allow_kprobes;
  auto result = backend.analyze(request, progress);
  progress.finish();
  if (!result.ok()) {
    err << "vmplguard: " << result.error().to_string() << "\n";
    return kExitUsage;
  }
  AnalyzeOutput& output = result.value();

  ReportInput input;
  input.analysis = &output.analysis;
  input.tool_version = VMPLGUARD_VERSION;
  if (!options.policy_path.empty()) {
    auto summary = summarize_policy(options.policy_path, output.policy);
    if (!summary.ok()) {
      err << "vmplguard: " << options.vmlinux << ": " << summary.error() << "\n";
      return kExitUsage;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(output.policy.data()), output.policy.size());
    auto written = write_file_atomic(options.policy_path, bytes);
    if (!written.ok()) {
      err << "vmplguard: " << options.policy_path << ": " << written.error() << "\n";
      return kExitUsage;
    }
    input.policy = std::move(summary).value();
  }
  const std::vector<Finding> findings = evaluate(output.analysis);
  input.findings = &findings;

  const bool to_terminal = options.output_path.empty() && terminal.stdout_is_tty;
  std::string report;
  switch (options.format) {
    case ReportFormat::kText:
      report =
          render_text(input, TextOptions{to_terminal && !terminal.no_color, options.quiet, options.verbose});
      break;
    case ReportFormat::kJson: report = render_json(input); break;
    case ReportFormat::kSarif: report = render_sarif(input); break;
  }
  if (options.output_path.empty()) {
    out << report << std::flush;
  } else {
    auto written = write_file_atomic(options.output_path, report);
    if (!written.ok()) {
      err << "vmplguard: " << options.output_path << ": " << written.error() << "\n";
      return kExitUsage;
    }
  }
  return options.fail_on.any(findings) ? kExitFindings : kExitOk;
}

}  // namespace

Terminal detect_terminal() {
  Terminal terminal;
  terminal.stdout_is_tty = ::isatty(STDOUT_FILENO) == 1;
  terminal.stderr_is_tty = ::isatty(STDERR_FILENO) == 1;
  // NO_COLOR: any non-empty value disables color (https://no-color.org).
  const char* no_color = std::getenv("NO_COLOR");
  terminal.no_color = no_color != nullptr && no_color[0] != '\0';
  terminal.hardware_threads = std::max(1u, std::thread::hardware_concurrency());
  return terminal;
}

int run(const std::vector<std::string>& args, const Backend& backend, const Terminal& terminal,
        std::ostream& out, std::ostream& err) {
  auto command = parse_command_line(args);
  if (!command.ok()) {
    err << "vmplguard: " << command.error() << "\n"
        << "Try 'vmplguard --help'.\n";
    return kExitUsage;
  }
  if (const auto* help = std::get_if<HelpRequest>(&command.value())) {
    out << help->text;
    return kExitOk;
  }
  if (std::holds_alternative<VersionRequest>(command.value())) {
    out << "vmplguard " << VMPLGUARD_VERSION << " (policy format " << policy::kFormatMajor << "."
        << policy::kFormatMinor << ", report schema " << kReportSchemaVersion << ")\n";
    return kExitOk;
  }
  if (const auto* analyze_options = std::get_if<AnalyzeOptions>(&command.value())) {
    return analyze(*analyze_options, backend, terminal, out, err);
  }
  if (const auto* show = std::get_if<PolicyShowOptions>(&command.value()))
    return policy_show(*show, out, err);
  return policy_verify(std::get<PolicyVerifyOptions>(command.value()), backend, out, err);
}

}  // namespace vg::cli
