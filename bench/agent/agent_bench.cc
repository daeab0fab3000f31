// agent_bench: events per second through the agent's pipeline (decode,
// classify, symbolize, native JSON) on one core, against a peer measured in
// the same run: the same decode and classification, but with the policy
// reader's plain binary searches for every lookup (LookupMode::kReference,
// what the agent did before its address index) and JSON formatted with
// std::ostringstream. The agent's pipeline is fed as the agent feeds it
// (queue_sample: batches of 16 whose policy lookups are prefetched together);
// the same pipeline one sample at a time is printed beside it. Also prints
// peak RSS and the index's size.
//
// usage: agent_bench [--policy FILE] [--events N] [--only realistic|random]
//   Without --policy a synthetic policy of the 6.12 cloud kernel's size is
//   built (105k functions, 60k sites); with one (for example the test bed's
//   policy of Debian's 6.12 vmlinux) its real sites and functions are used.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "agent/kernel_identity.h"
#include "agent/pipeline.h"
#include "agent/probe_event.h"
#include "policy/builder.h"

namespace vg::agent {
namespace {

constexpr uint64_t kRuntimeText = 0xffffffff9a200000ull;

uint64_t now_ns() {
  timespec ts{};
  // CPU time of this thread: the machine is shared, wall time would measure the neighbours.
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<uint8_t> synthetic_policy() {
  policy::PolicyBuilder builder;
  builder.set_kernel({1, 2, 3, 4}, "6.12-synthetic", 0xffffffff81000000ull);
  builder.set_flags(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  builder.add_region(0, 0x1000000, policy::RegionKind::kText, policy::kPermRead | policy::kPermSupervisorExec,
                     policy::kPermRead | policy::kPermSupervisorExec);
  for (uint32_t i = 0; i < 105000; ++i) {
    builder.add_function(i * 0x9e, 0x9e, "function_" + std::to_string(i), 0);
  }
  for (uint32_t i = 0; i < 60000; ++i) {
    const uint32_t offset = i * 0x10f + 4;
    if (i % 3 == 0) {
      builder.add_site(offset, policy::kSiteJumpLabel, 5,
                       {policy::PatternSpec::nop(5), policy::PatternSpec::jmp32(offset + 0x40)});
    } else {
      builder.add_site(offset, policy::kSiteFtrace, 5,
                       {policy::PatternSpec::nop(5), policy::PatternSpec::call(0x9e)});
    }
  }
  auto bytes = builder.build();
  if (!bytes) {
    std::fprintf(stderr, "agent_bench: %s\n", bytes.error().c_str());
    std::exit(1);
  }
  return bytes.value();
}

class NullTransport final : public Transport {
 public:
  bool send(std::string_view record) override {
    bytes_ += record.size();
    return true;
  }
  const char* name() const override { return "null"; }
  uint64_t bytes_ = 0;
};

// The peer: the same fields, formatted the way a first version would.
std::string naive_json(const Finding& f, const FormatContext& context) {
  std::ostringstream out;
  out << "{\"schema\":\"" << kNativeSchema << "\",\"seq\":" << f.sequence << ",\"host\":\""
      << context.hostname << "\",\"kind\":\"" << finding_kind(f) << "\",\"verdict\":\""
      << to_string(f.verdict) << "\",\"reason\":\"" << to_string(f.reason) << "\",\"address\":\"0x"
      << std::hex << f.event.address << "\",\"text_offset\":\"0x" << f.text_offset << std::dec
      << "\",\"symbol\":\"";
  if (f.target.space == Space::kKernel)
    out << f.target.kernel_name << "+0x" << std::hex << f.target.offset << std::dec;
  out << "\",\"bytes\":\"";
  for (size_t i = 0; i < f.event.length; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", f.event.bytes[i]);
    out << hex;
  }
  out << "\",\"process\":{\"pid\":" << f.event.pid << ",\"comm\":\"";
  for (size_t i = 0; i < f.event.comm_length; ++i) {
    const char c = f.event.comm[i];
    if (c == '"' || c == '\\') out << '\\';
    out << c;
  }
  out << "\"},\"stack\":[";
  for (size_t i = 0; i < f.frame_count; ++i) {
    out << (i ? "," : "") << "\"";
    if (f.frames[i].space == Space::kKernel)
      out << f.frames[i].kernel_name << "+0x" << std::hex << f.frames[i].offset << std::dec;
    out << "\"";
  }
  out << "],\"count\":" << f.count << ",\"kernel\":{\"release\":\"" << context.kernel_release
      << "\",\"kaslr_offset\":\"0x" << std::hex << context.kaslr_offset << std::dec
      << "\"},\"policy_digest\":\"" << context.policy_digest_hex << "\"}";
  return out.str();
}

// `call_chains` distinct stacks (0: every frame random). Kernel patching
// comes from a few code paths (the test bed sees a handful of distinct
// stacks), so realistic runs draw stacks from a small set; the random mode is
// the cache-hostile worst case.
std::vector<std::vector<uint8_t>> make_samples(const policy::PolicyView& view, size_t count,
                                               size_t call_chains) {
  std::mt19937_64 random(42);
  std::vector<std::array<uint64_t, VGP_MAX_FRAMES>> chains(call_chains);
  for (auto& chain : chains) {
    for (auto& frame : chain)
      frame = kRuntimeText + view.functions()[random() % view.functions().count].offset + 0x10;
  }
  std::vector<std::vector<uint8_t>> samples;
  samples.reserve(count);
  const auto sites = view.sites();
  const auto functions = view.functions();
  for (size_t i = 0; i < count; ++i) {
    vgp_event raw{};
    raw.magic = VGP_MAGIC;
    raw.ktime_ns = 1'000'000'000 + i;
    raw.pid = raw.tgid = 1000 + static_cast<uint32_t>(i % 7);
    std::memcpy(raw.comm, "kworker/0:1", 11);
    raw.cpu = 0;
    const auto& site = sites[random() % sites.count];
    if (i % 10 < 8) {
      // A patch at a real site with its NOP (allowed) or garbage (violation).
      raw.type = VGP_TEXT_PATCH;
      raw.address = kRuntimeText + site.offset;
      raw.length = site.length;
      raw.size = site.length;
      const uint8_t* nop = policy::canonical_nop(site.length <= 8 ? site.length : 8).data;
      std::memcpy(raw.bytes, nop, site.length <= 8 ? site.length : 8);
      if (i % 10 == 7) raw.bytes[0] = 0x41;
    } else {
      // A raw write somewhere in a function (violation).
      raw.type = VGP_TEXT_POKE;
      raw.address = kRuntimeText + functions[random() % functions.count].offset + 3;
      raw.length = 4;
      raw.size = 4;
      std::memset(raw.bytes, 0x90, 4);
    }
    raw.frame_count = VGP_MAX_FRAMES;
    if (call_chains == 0) {
      for (auto& frame : raw.frames)
        frame = kRuntimeText + functions[random() % functions.count].offset + 0x10;
    } else {
      std::memcpy(raw.frames, chains[random() % call_chains].data(), sizeof(raw.frames));
    }
    std::vector<uint8_t> bytes(sizeof(raw));
    std::memcpy(bytes.data(), &raw, sizeof(raw));
    samples.push_back(std::move(bytes));
  }
  return samples;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

int run(int argc, char** argv) {
  std::string policy_path;
  size_t count = 400000;
  std::string only;  // one mode alone, for a profiler run
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--policy") == 0) policy_path = argv[i + 1];
    if (std::strcmp(argv[i], "--events") == 0) count = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  std::vector<uint8_t> bytes;
  if (policy_path.empty()) {
    bytes = synthetic_policy();
  } else {
    auto read = read_file(policy_path, policy::kMaxFileSize);
    if (!read) {
      std::fprintf(stderr, "agent_bench: %s\n", read.error().c_str());
      return 1;
    }
    bytes = std::move(read).value();
  }
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  auto view =
      policy::PolicyView::parse(ByteView{reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size()});
  if (!view) {
    std::fprintf(stderr, "agent_bench: bad policy: %s\n", policy::describe(view.error()));
    return 1;
  }
  const uint64_t runtime_text = kRuntimeText;
  std::printf("policy: %s, %llu functions, %llu sites\n",
              policy_path.empty() ? "synthetic" : policy_path.c_str(),
              static_cast<unsigned long long>(view->functions().count),
              static_cast<unsigned long long>(view->sites().count));
  for (const size_t chains : {size_t{64}, size_t{0}}) {
    if ((only == "realistic" && chains == 0) || (only == "random" && chains != 0)) continue;
    // A fixed pool of samples, replayed: the input does not inflate peak RSS.
    const auto samples = make_samples(*view, std::min<size_t>(count, 20000), chains);
    if (chains != 0) {
      std::printf("\n-- stacks from %zu distinct call chains (realistic) --\n", chains);
    } else {
      std::printf("\n-- every stack frame random (cache-hostile worst case) --\n");
    }

    RuntimeMap runtime;
    Symbolizer symbolizer(*view, runtime_text, runtime);
    Classifier classifier(symbolizer, runtime, ClassifierOptions{});
    FormatContext context;
    context.hostname = "cvm-bench";
    context.kernel_release = view->header().kernel_release;
    context.policy_digest_hex = hex(view->digest().bytes, 32);
    context.kaslr_offset = runtime_text - view->header().link_text_va;

    // Ours: the agent's pipeline, dedup off, into a transport that discards.
    Metrics metrics;
    std::vector<Output> outputs;
    auto null = std::make_unique<NullTransport>();
    NullTransport* sink = null.get();
    outputs.push_back(Output{Format::kNative, std::move(null)});
    PipelineOptions options;
    options.dedup_window_ns = 0;
    Pipeline pipeline(classifier, metrics, context, std::move(outputs), options);
    const uint64_t ours_start = now_ns();
    for (size_t i = 0; i < count; ++i) {
      const auto& sample = samples[i % samples.size()];
      pipeline.queue_sample(ByteView{sample.data(), sample.size()}, 0);
    }
    pipeline.finish(0);
    const double ours_s = static_cast<double>(now_ns() - ours_start) / 1e9;

    // The same pipeline one sample at a time (on_sample, no batch prefetch):
    // what the batching is worth.
    RuntimeMap single_runtime;
    Symbolizer single_symbolizer(*view, runtime_text, single_runtime);
    Classifier single_classifier(single_symbolizer, single_runtime, ClassifierOptions{});
    Metrics single_metrics;
    std::vector<Output> single_outputs;
    single_outputs.push_back(Output{Format::kNative, std::make_unique<NullTransport>()});
    Pipeline single(single_classifier, single_metrics, context, std::move(single_outputs), options);
    const uint64_t single_start = now_ns();
    for (size_t i = 0; i < count; ++i) {
      const auto& sample = samples[i % samples.size()];
      single.on_sample(ByteView{sample.data(), sample.size()}, 0);
    }
    single.finish(0);
    const double single_s = static_cast<double>(now_ns() - single_start) / 1e9;

    // Peer: the same decode and classification over the reference lookups,
    // ostringstream JSON.
    RuntimeMap peer_runtime;
    Symbolizer peer_symbolizer(*view, runtime_text, peer_runtime, LookupMode::kReference);
    Classifier peer_classifier(peer_symbolizer, peer_runtime, ClassifierOptions{});
    uint64_t peer_bytes = 0;
    const uint64_t peer_start = now_ns();
    uint64_t sequence = 1;
    for (size_t i = 0; i < count; ++i) {
      const auto& sample = samples[i % samples.size()];
      auto event = decode_probe_event(ByteView{sample.data(), sample.size()});
      if (!event) continue;
      Finding finding = peer_classifier.classify(*event);
      finding.sequence = sequence++;
      peer_bytes += naive_json(finding, context).size();
    }
    const double peer_s = static_cast<double>(now_ns() - peer_start) / 1e9;

    const double ours_rate = static_cast<double>(count) / ours_s;
    const double peer_rate = static_cast<double>(count) / peer_s;
    std::printf("events: %zu (80%% site patches, 20%% raw writes; 8 stack frames each)\n", count);
    std::printf("agent pipeline : %10.0f events/s  (%.3f s, %llu bytes of NDJSON, %llu violations)\n",
                ours_rate, ours_s, static_cast<unsigned long long>(sink->bytes_),
                static_cast<unsigned long long>(metrics.classified("text_patch", Verdict::kViolation) +
                                                metrics.classified("text_poke", Verdict::kViolation)));
    std::printf("  unbatched    : %10.0f events/s  (%.3f s; on_sample, no prefetch across events)\n",
                static_cast<double>(count) / single_s, single_s);
    std::printf("reference peer : %10.0f events/s  (%.3f s CPU, %llu bytes)\n", peer_rate, peer_s,
                static_cast<unsigned long long>(peer_bytes));
    std::printf("address index  : %zu KiB\n", symbolizer.index_bytes() / 1024);
    std::printf("ratio agent/peer: %.2fx; target 500000 events/s: %s\n", ours_rate / peer_rate,
                ours_rate >= 500000 ? "met" : "NOT met");
  }
  std::printf("peak RSS: %ld KiB\n", peak_rss_kib());
  return 0;
}

}  // namespace
}  // namespace vg::agent

int main(int argc, char** argv) {
  return vg::agent::run(argc, argv);
}
