// vmplguard-agent: watches kernel code integrity events through eBPF probes,
// classifies them against the running kernel's vmplguard policy, and exports
// findings (NDJSON, OCSF, syslog, Prometheus). docs/agent.md is the manual.
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/classify.h"
#include "agent/kernel_identity.h"
#include "agent/metrics_server.h"
#include "agent/pipeline.h"
#include "agent/record_options.h"
#include "probes.h"
#include "record_main.h"

namespace vg::agent {
namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reopen = 0;

void on_stop(int) {
  g_stop = 1;
}
void on_hup(int) {
  g_reopen = 1;
}

struct Options {
  std::string policy = "/usr/share/vmplguard/policies";
  std::vector<std::string> outputs;
  int metrics_port = 9464;
  uint64_t dedup_window_ms = 2000;
  std::string kallsyms = "/proc/kallsyms";
  std::string notes = "/sys/kernel/notes";
  std::string ready_file;
};

void usage() {
  std::fprintf(stderr,
               "usage: vmplguard-agent [--policy FILE|DIR] [--output SPEC]... [--metrics-port N]\n"
               "                       [--dedup-window-ms N] [--ready-file PATH]\n"
               "  SPEC: native:PATH | ocsf:PATH | syslog:PATH | syslog-udp:HOST:PORT | syslog-tcp:HOST:PORT\n"
               "        (PATH '-' is standard output; default native:-)\n"
               "  --metrics-port 0 disables the Prometheus endpoint (127.0.0.1 only)\n"
               "  --dedup-window-ms 0 disables deduplication\n"
               "       vmplguard-agent --record FILE ...  (record mode; --record - --help)\n");
}

bool parse_u64(const char* text, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  out = value;
  return true;
}

Result<Options, std::string> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else if (arg == "--policy" && (v = value())) {
      options.policy = v;
    } else if (arg == "--output" && (v = value())) {
      options.outputs.emplace_back(v);
    } else if (arg == "--metrics-port" && (v = value())) {
      uint64_t port;
      if (!parse_u64(v, port) || port > 65535) return Err("--metrics-port: not a port: " + std::string(v));
      options.metrics_port = static_cast<int>(port);
    } else if (arg == "--dedup-window-ms" && (v = value())) {
      if (!parse_u64(v, options.dedup_window_ms))
        return Err("--dedup-window-ms: not a number: " + std::string(v));
    } else if (arg == "--kallsyms" && (v = value())) {
      options.kallsyms = v;
    } else if (arg == "--notes" && (v = value())) {
      options.notes = v;
    } else if (arg == "--ready-file" && (v = value())) {
      options.ready_file = v;
    } else {
      return Err("unknown or incomplete option: " + arg);
    }
  }
  if (options.outputs.empty()) options.outputs.emplace_back("native:-");
  return options;
}

Result<Output, std::string> open_output(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return Err("output '" + spec + "' has no kind (native:, ocsf:, ...)");
  const std::string kind = spec.substr(0, colon);
  const std::string where = spec.substr(colon + 1);
  Output output;
  if (kind == "native" || kind == "ocsf" || kind == "syslog") {
    output.format = kind == "native" ? Format::kNative : kind == "ocsf" ? Format::kOcsf : Format::kSyslog;
    output.transport = VG_TRY(open_file_transport(where));
  } else if (kind == "syslog-udp") {
    output.format = Format::kSyslog;
    output.transport = VG_TRY(open_udp_transport(where));
  } else if (kind == "syslog-tcp") {
    output.format = Format::kSyslog;
    output.transport = VG_TRY(open_tcp_transport(where));
  } else {
    return Err("unknown output kind '" + kind + "'");
  }
  return output;
}

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CR4 bits the kernel pins when the CPU has them [arch/x86/kernel/cpu/common.c cr4_pinned_mask].
uint64_t cr4_pinned_from_cpuinfo() {
  auto cpuinfo = read_file("/proc/cpuinfo", 8u << 20);
  if (!cpuinfo) return 0;
  const std::string text(cpuinfo->begin(), cpuinfo->end());
  const size_t flags = text.find("\nflags");
  if (flags == std::string::npos) return 0;
  const std::string line = text.substr(flags, text.find('\n', flags + 1) - flags) + " ";
  uint64_t bits = 0;
  if (line.find(" smep ") != std::string::npos) bits |= kCr4Smep;
  if (line.find(" smap ") != std::string::npos) bits |= kCr4Smap;
  if (line.find(" umip ") != std::string::npos) bits |= kCr4Umip;
  return bits;
}

// Modules loaded before the agent started: /proc/modules gives name, size
// and base; the size covers all of the module's core memory.
void preload_modules(RuntimeMap& runtime) {
  auto modules = read_file("/proc/modules", 8u << 20);
  if (!modules) return;
  std::istringstream lines(std::string(modules->begin(), modules->end()));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name, size, refs, deps, state, address;
    if (!(fields >> name >> size >> refs >> deps >> state >> address)) continue;
    RuntimeMap::Module module;
    module.base = std::strtoull(address.c_str(), nullptr, 16);
    module.size = std::strtoull(size.c_str(), nullptr, 10);
    module.name_length = static_cast<uint8_t>(std::min(name.size(), module.name.size()));
    std::memcpy(module.name.data(), name.data(), module.name_length);
    if (module.base != 0) runtime.add_module(module);
  }
}

// Out-of-line code registered before the agent started: kallsyms lists
// ftrace trampolines as `ftrace_trampoline [__builtin__ftrace]` and BPF code
// as `bpf_* [bpf]`. Sizes are not listed: one page each (they are smaller).
void preload_runtime_code(const std::string& kallsyms, RuntimeMap& runtime) {
  size_t line_start = 0;
  while (line_start < kallsyms.size()) {
    size_t line_end = kallsyms.find('\n', line_start);
    if (line_end == std::string::npos) line_end = kallsyms.size();
    const std::string_view line(kallsyms.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    const bool ftrace = line.ends_with("\t[__builtin__ftrace]");
    const bool bpf = line.ends_with("\t[bpf]");
    if (!ftrace && !bpf) continue;
    RuntimeMap::Code code;
    code.base = std::strtoull(std::string(line.substr(0, 16)).c_str(), nullptr, 16);
    code.size = 4096;
    code.kind = ftrace ? RuntimeMap::CodeKind::kFtrace : RuntimeMap::CodeKind::kBpf;
    const size_t name_start = line.find(' ', 17);
    const size_t name_end = line.find('\t');
    if (name_start != std::string_view::npos && name_end != std::string_view::npos && name_end > name_start) {
      const std::string_view name = line.substr(name_start + 1, name_end - name_start - 1);
      code.name_length = static_cast<uint8_t>(std::min(name.size(), code.name.size()));
      std::memcpy(code.name.data(), name.data(), code.name_length);
    }
    if (code.base != 0) runtime.add_code(code);
  }
}

int run(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", options.error().c_str());
    usage();
    return 2;
  }
  auto notes = read_file(options->notes, 1u << 20);
  if (!notes) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", notes.error().c_str());
    return 1;
  }
  auto build_id = build_id_from_notes(*notes);
  if (!build_id) {
    std::fprintf(stderr, "vmplguard-agent: %s: %s\n", options->notes.c_str(), build_id.error().c_str());
    return 1;
  }
  auto choice = find_policy(options->policy, *build_id);
  if (!choice) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", choice.error().c_str());
    return 1;
  }
  auto policy = policy::PolicyView::parse(ByteView{choice->bytes.data(), choice->bytes.size()});
  if (!policy) return 1;  // find_policy parsed it already
  auto kallsyms_bytes = read_file(options->kallsyms, 256u << 20);
  if (!kallsyms_bytes) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", kallsyms_bytes.error().c_str());
    return 1;
  }
  const std::string kallsyms(kallsyms_bytes->begin(), kallsyms_bytes->end());
  auto text = kallsyms_address(kallsyms, "_text");
  auto stext = kallsyms_address(kallsyms, "_stext");
  if (!text || !stext) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", (!text ? text.error() : stext.error()).c_str());
    return 1;
  }

  FormatContext context;
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  context.hostname = hostname;
  utsname uts{};
  uname(&uts);
  context.kernel_release = uts.release;
  context.build_id_hex = hex(build_id->data(), build_id->size());
  context.policy_digest_hex = hex(policy->digest().bytes, sizeof(policy->digest().bytes));
  context.kaslr_offset = *text - policy->header().link_text_va;
  context.boot_to_realtime_ns =
      static_cast<int64_t>(clock_ns(CLOCK_REALTIME)) - static_cast<int64_t>(clock_ns(CLOCK_BOOTTIME));
  context.agent_pid = static_cast<uint32_t>(getpid());
  std::fprintf(stderr, "vmplguard-agent: policy %s for %s, _text 0x%llx, KASLR offset 0x%llx\n",
               choice->path.c_str(), context.kernel_release.c_str(), static_cast<unsigned long long>(*text),
               static_cast<unsigned long long>(context.kaslr_offset));

  std::vector<Output> outputs;
  for (const auto& spec : options->outputs) {
    auto output = open_output(spec);
    if (!output) {
      std::fprintf(stderr, "vmplguard-agent: %s\n", output.error().c_str());
      return 2;
    }
    outputs.push_back(std::move(output).value());
  }

  RuntimeMap runtime;
  preload_modules(runtime);
  preload_runtime_code(kallsyms, runtime);
  Symbolizer symbolizer(*policy, *text, runtime);
  ClassifierOptions classifier_options;
  classifier_options.cr4_pinned_bits = cr4_pinned_from_cpuinfo();
  Classifier classifier(symbolizer, runtime, classifier_options);
  Metrics metrics;
  PipelineOptions pipeline_options;
  pipeline_options.dedup_window_ns = options->dedup_window_ms * 1000000u;
  Pipeline pipeline(classifier, metrics, context, std::move(outputs), pipeline_options);

  std::unique_ptr<MetricsServer> server;
  if (options->metrics_port != 0) {
    auto listening = MetricsServer::listen_loopback(static_cast<uint16_t>(options->metrics_port));
    if (!listening) {
      std::fprintf(stderr, "vmplguard-agent: %s\n", listening.error().c_str());
      return 1;
    }
    server = std::move(listening).value();
  }

  struct sigaction stop {};
  stop.sa_handler = on_stop;
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGINT, &stop, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_hup;
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto started = BpfProbes::start(
      *stext, [&](ByteView sample) { pipeline.queue_sample(sample, clock_ns(CLOCK_BOOTTIME)); });
  if (!started) {
    std::fprintf(stderr, "vmplguard-agent: %s\n", started.error().c_str());
    return 1;
  }
  std::unique_ptr<BpfProbes> probes(*started);
  if (!options->ready_file.empty()) {
    if (FILE* ready = std::fopen(options->ready_file.c_str(), "w")) {
      std::fprintf(ready, "%d\n", getpid());
      std::fclose(ready);
    }
  }

  auto sync_counters = [&]() {
    const ProbeCounters counters = probes->counters();
    metrics.set_produced(counters.produced);
    metrics.set_ring_drops(counters.reserve_failed);
    metrics.set_probe_read_drops(counters.read_failed);
  };
  auto render = [&]() {
    sync_counters();
    return metrics.exposition(context.kernel_release, context.build_id_hex, context.policy_digest_hex,
                              probes->statuses());
  };
  while (!g_stop) {
    probes->poll(100);
    if (g_reopen) {
      g_reopen = 0;
      pipeline.reopen(clock_ns(CLOCK_BOOTTIME));
    }
    sync_counters();
    pipeline.tick(clock_ns(CLOCK_BOOTTIME));
    if (server) server->serve(render);
  }
  probes->stop_and_drain();
  sync_counters();
  pipeline.finish(clock_ns(CLOCK_BOOTTIME));
  const uint64_t accounted = metrics.exported() + metrics.dropped_total();
  std::fprintf(
      stderr,
      "vmplguard-agent: produced %llu, exported %llu, dropped %llu (ring %llu, decode %llu, output %llu, "
      "probe_read %llu), dedup-suppressed %llu: %s\n",
      static_cast<unsigned long long>(metrics.produced()),
      static_cast<unsigned long long>(metrics.exported()),
      static_cast<unsigned long long>(metrics.dropped_total()),
      static_cast<unsigned long long>(metrics.dropped(DropStage::kRingBuffer)),
      static_cast<unsigned long long>(metrics.dropped(DropStage::kDecode)),
      static_cast<unsigned long long>(metrics.dropped(DropStage::kOutput)),
      static_cast<unsigned long long>(metrics.dropped(DropStage::kProbeRead)),
      static_cast<unsigned long long>(metrics.dedup_suppressed()),
      accounted == metrics.produced() ? "accounted" : "MISMATCH");
  return accounted == metrics.produced() ? 0 : 3;
}

}  // namespace
}  // namespace vg::agent

int main(int argc, char** argv) {
  if (vg::agent::wants_record_mode(argc, argv)) return vg::agent::run_record_mode(argc, argv);
  return vg::agent::run(argc, argv);
}
