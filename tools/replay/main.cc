// vmplguard-replay: feeds recorded kernel behaviour (vgtrace files) through
// the real monitor and KCI on the simulated SEV-SNP platform, with the real
// policy of the same kernel. docs/replay.md.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "base/sha256.h"
#include "replay/session.h"
#include "replay/summary.h"

namespace {

using namespace vg::replay;

constexpr char kUsage[] =
    "usage: vmplguard-replay --vmlinux VMLINUX --policy POLICY [--trace BENIGN] [--attack-trace ATTACK]\n"
    "                        [--scenarios] [--json FILE]\n"
    "       vmplguard-replay provision TRACE...\n"
    "\n"
    "  --trace          replay a benign trace: every event must be allowed\n"
    "  --attack-trace   replay a trace whose 'attack' phase is hostile, then the monitor's\n"
    "                   attack scenarios translated to this kernel\n"
    "  --scenarios      run the translated scenarios even without --attack-trace\n"
    "  --json FILE      also write the summary as JSON ('-' for standard output)\n"
    "  --accept TEXT    false positives whose cause contains TEXT are known gaps: still\n"
    "                   reported, but they do not make the exit status 1 (repeatable)\n"
    "  provision        print the --module-hash NAME=SHA256 options that allowlist the\n"
    "                   modules of TRACE... (hashes of the text the replay places)\n"
    "Exit: 0 all benign events allowed and all attacks denied with attribution, 1 otherwise,\n"
    "2 usage or input error.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "vmplguard-replay: %s\n%s", message.c_str(), kUsage);
  return 2;
}

int provision(int argc, char** argv) {
  std::set<std::string> printed;
  for (int i = 2; i < argc; ++i) {
    auto trace = read_trace_file(argv[i]);
    if (!trace.ok()) return std::fprintf(stderr, "vmplguard-replay: %s\n", trace.error().c_str()), 2;
    for (const Event& event : trace.value().events) {
      if (event.kind != EventKind::kModule || trace.value().phases[event.phase] == "attack") continue;
      const std::vector<uint8_t> text = standin_module_text(event);
      const vg::Sha256Digest digest = vg::Sha256::of(text.data(), text.size());
      std::string line = event.name + "=";
      char pair[3];
      for (uint8_t byte : digest.bytes) {
        std::snprintf(pair, sizeof(pair), "%02x", byte);
        line += pair;
      }
      if (printed.insert(line).second) std::printf("%s\n", line.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "provision") == 0) return provision(argc, argv);
  std::string vmlinux, policy_path, benign, attack, json, accept;
  std::vector<std::string> accepted_causes;
  bool scenarios = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") return std::fputs(kUsage, stdout), 0;
    if (!accept.empty()) {
      accepted_causes.push_back(accept);
      accept.clear();
    }
    if (arg == "--scenarios") {
      scenarios = true;
    } else if (!((arg == "--vmlinux" && value(vmlinux)) || (arg == "--policy" && value(policy_path)) ||
                 (arg == "--trace" && value(benign)) || (arg == "--attack-trace" && value(attack)) ||
                 (arg == "--json" && value(json)) || (arg == "--accept" && value(accept)))) {
      return usage_error("unknown option or missing value: " + arg);
    }
  }
  if (vmlinux.empty() || policy_path.empty()) return usage_error("--vmlinux and --policy are required");
  if (benign.empty() && attack.empty() && !scenarios) return usage_error("nothing to replay");
  const auto start = std::chrono::steady_clock::now();

  auto image = load_kernel_image(vmlinux);
  if (!image.ok()) return std::fprintf(stderr, "vmplguard-replay: %s\n", image.error().c_str()), 2;
  std::ifstream file(policy_path, std::ios::binary);
  if (!file) return std::fprintf(stderr, "vmplguard-replay: %s: cannot open\n", policy_path.c_str()), 2;
  const std::vector<uint8_t> policy((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

  if (!accept.empty()) accepted_causes.push_back(accept);
  ReplayReport report;
  report.accepted_causes = accepted_causes;
  auto read = [&](const std::string& path, Trace& out) -> bool {
    auto parsed = read_trace_file(path);
    if (!parsed.ok()) return std::fprintf(stderr, "vmplguard-replay: %s\n", parsed.error().c_str()), false;
    out = std::move(parsed.value());
    return true;
  };
  Trace benign_trace, attack_trace;
  if (!benign.empty() && !read(benign, benign_trace)) return 2;
  if (!attack.empty() && !read(attack, attack_trace)) return 2;
  if (benign.empty()) {
    // No benign trace: boot from the first trace given, or from nothing
    // (scenarios alone: an empty trace of the vmlinux's own kernel).
    if (!attack.empty()) {
      benign_trace.kernel = attack_trace.kernel;
    } else {
      benign_trace.kernel.build_id = image.value().build_id;
      benign_trace.kernel.link_text = image.value().link_text;
    }
    benign_trace.file = "(no benign trace)";
    benign_trace.phases.emplace_back("(start)");
  }
  Session session(image.value(), policy, benign_trace, report, "benign");
  auto booted = session.boot();
  if (!booted.ok()) return std::fprintf(stderr, "vmplguard-replay: %s\n", booted.error().c_str()), 2;
  session.replay_events();
  if (!attack.empty()) {
    // The attack trace is recorded later in the same boot: same guest.
    if (!session.continue_with(attack_trace, "attack"))
      return std::fprintf(stderr, "vmplguard-replay: %s: not the benign trace's kernel and slide\n",
                          attack.c_str()),
             2;
    session.replay_events();
  }
  if (!attack.empty() || scenarios) {
    session.continue_with(benign_trace, "attack");
    session.run_attack_scenarios();
  }

  RunFacts facts;
  facts.policy = policy_path;
  facts.vmlinux = vmlinux;
  facts.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  facts.max_rss_kib = usage.ru_maxrss;
  std::fputs(summary_text(report, facts).c_str(), stdout);
  if (!json.empty()) {
    const std::string text = summary_json(report, facts);
    if (json == "-") {
      std::fputs(text.c_str(), stdout);
    } else {
      std::ofstream out(json);
      out << text;
      if (!out) return std::fprintf(stderr, "vmplguard-replay: %s: cannot write\n", json.c_str()), 2;
    }
  }
  return summary_status(report);
}
