#include "probes.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "agent/probe_event.h"
#include "vmplguard_agent.skel.h"

namespace vg::agent {

namespace {

enum class Mode : uint8_t { kFentry, kKprobe, kTpBtf, kNone };

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kFentry: return "fentry";
    case Mode::kKprobe: return "kprobe";
    case Mode::kTpBtf: return "tp_btf";
    case Mode::kNone: return "none";
  }
  return "none";
}

// One logical probe: the kernel function (or tracepoint) and its programs
// per mode. Programs of a mode are loaded and attached together.
struct ProbeSpec {
  const char* name;
  const char* target;  // function name, or tracepoint name for tp_btf
  std::vector<const char*> fentry_programs;
  std::vector<const char*> kprobe_programs;
  bool tracepoint = false;
};

const std::vector<ProbeSpec>& probe_specs() {
  // Order matters: code registrations first (so every trampoline created
  // while later probes attach is known), the batch probe before the raw
  // poke probe.
  static const std::vector<ProbeSpec> kSpecs = {
      {"runtime_code", "perf_event_ksymbol", {"fentry_perf_event_ksymbol"}, {"kprobe_perf_event_ksymbol"}},
      {"text_poke_bp_batch",
       "text_poke_bp_batch",
       {"fentry_text_poke_bp_batch", "fexit_text_poke_bp_batch"},
       {"kprobe_text_poke_bp_batch", "kretprobe_text_poke_bp_batch"}},
      {"__text_poke", "__text_poke", {"fentry___text_poke"}, {"kprobe___text_poke"}},
      {"jump_label_origin",
       "arch_jump_label_transform_queue",
       {"fentry_jump_label_queue", "fexit_jump_label_apply"},
       {}},
      {"static_call_origin",
       "__static_call_transform",
       {"fentry_static_call_transform", "fexit_static_call_transform"},
       {}},
      {"ftrace_origin",
       "ftrace_modify_all_code",
       {"fentry_ftrace_modify_all_code", "fexit_ftrace_modify_all_code"},
       {"kprobe_ftrace_modify_all_code", "kretprobe_ftrace_modify_all_code"}},
      {"module_load",
       "module_enable_text_rox",
       {"fentry_module_enable_text_rox"},
       {"kprobe_module_enable_text_rox"}},
      {"module_free", "free_module", {"fentry_free_module"}, {"kprobe_free_module"}},
      {"set_memory_x", "set_memory_x", {"fentry_set_memory_x"}, {"kprobe_set_memory_x"}},
      {"set_memory_rw", "set_memory_rw", {"fentry_set_memory_rw"}, {"kprobe_set_memory_rw"}},
      {"native_write_cr0", "native_write_cr0", {"fentry_native_write_cr0"}, {"kprobe_native_write_cr0"}},
      {"native_write_cr4", "native_write_cr4", {"fentry_native_write_cr4"}, {"kprobe_native_write_cr4"}},
      {"bpf_jit_alloc",
       "bpf_jit_binary_pack_alloc",
       {"fentry_bpf_jit_binary_pack_alloc"},
       {"kprobe_bpf_jit_binary_pack_alloc"}},
      {"vmplguard_violation", "vmplguard_violation", {"tp_vmplguard_violation"}, {}, true},
      {"vmplguard_request", "vmplguard_request", {"tp_vmplguard_request"}, {}, true},
  };
  return kSpecs;
}

// libbpf's diagnostics, kept to find which program a failed load names.
std::string g_libbpf_log;

int capture_libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  const int n = std::vsnprintf(line, sizeof(line), format, args);
  if (n > 0 && g_libbpf_log.size() < (1u << 20)) g_libbpf_log.append(line);
  return 0;
}

std::string failed_program(const std::string& log) {
  size_t pos = 0;
  while ((pos = log.find("prog '", pos)) != std::string::npos) {
    const size_t start = pos + 6;
    const size_t end = log.find('\'', start);
    if (end == std::string::npos) break;
    const size_t line_end = log.find('\n', end);
    const std::string line =
        log.substr(pos, line_end == std::string::npos ? std::string::npos : line_end - pos);
    if (line.find("fail") != std::string::npos || line.find("error") != std::string::npos ||
        line.find("invalid") != std::string::npos) {
      return log.substr(start, end - start);
    }
    pos = end;
  }
  return {};
}

// The modes worth trying for a probe, best first: fentry/tp_btf need the
// function (or tracepoint) in the kernel's BTF; kprobes only need a symbol.
std::vector<Mode> candidate_modes(const ProbeSpec& spec, const btf* kernel_btf) {
  std::vector<Mode> modes;
  if (spec.tracepoint) {
    const std::string type = std::string("btf_trace_") + spec.target;
    if (kernel_btf != nullptr && btf__find_by_name_kind(kernel_btf, type.c_str(), BTF_KIND_TYPEDEF) > 0) {
      modes.push_back(Mode::kTpBtf);
    }
    return modes;
  }
  if (kernel_btf != nullptr && btf__find_by_name_kind(kernel_btf, spec.target, BTF_KIND_FUNC) > 0) {
    modes.push_back(Mode::kFentry);
  }
  if (!spec.kprobe_programs.empty()) modes.push_back(Mode::kKprobe);
  return modes;
}

const std::vector<const char*>& programs_of(const ProbeSpec& spec, Mode mode) {
  static const std::vector<const char*> kNoPrograms;
  switch (mode) {
    case Mode::kFentry:
    case Mode::kTpBtf: return spec.fentry_programs;
    case Mode::kKprobe: return spec.kprobe_programs;
    case Mode::kNone: break;
  }
  return kNoPrograms;
}

}  // namespace

BpfProbes::~BpfProbes() {
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(*it);
  if (ring_ != nullptr) ring_buffer__free(ring_);
  if (skeleton_ != nullptr) vmplguard_agent_bpf__destroy(skeleton_);
}

int BpfProbes::on_ring_sample(void* context, void* data, size_t size) {
  auto* self = static_cast<BpfProbes*>(context);
  // SAFETY: libbpf hands us a pointer into the mapped ring buffer, valid for
  // `size` bytes until we return; the decoder copies before it checks.
  self->on_sample_(ByteView{static_cast<const uint8_t*>(data), size});
  return 0;
}

Result<BpfProbes*, std::string> BpfProbes::start(uint64_t stext, SampleFn on_sample, bool record_mode) {
  libbpf_set_print(capture_libbpf_print);
  btf* kernel_btf = btf__load_vmlinux_btf();
  const auto& specs = probe_specs();
  std::vector<std::vector<Mode>> candidates;
  for (const auto& spec : specs) candidates.push_back(candidate_modes(spec, kernel_btf));
  btf__free(kernel_btf);

  auto probes = std::unique_ptr<BpfProbes>(new BpfProbes());
  probes->on_sample_ = std::move(on_sample);
  // Every candidate program is loaded; a program the verifier or the kernel
  // refuses is named in libbpf's log: its mode is dropped for that probe and
  // the object is loaded again.
  for (size_t attempt = 0; attempt <= specs.size() * 2 && probes->skeleton_ == nullptr; ++attempt) {
    g_libbpf_log.clear();
    vmplguard_agent_bpf* skeleton = vmplguard_agent_bpf__open();
    if (skeleton == nullptr) return Err(std::string("cannot open the BPF object: ") + std::strerror(errno));
    skeleton->rodata->stext_address = stext;
    skeleton->rodata->record_mode = record_mode ? 1 : 0;
    bpf_program* program;
    bpf_object__for_each_program(program, skeleton->obj) {
      bpf_program__set_autoload(program, false);
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      for (Mode mode : candidates[i]) {
        for (const char* name : programs_of(specs[i], mode)) {
          bpf_program__set_autoload(bpf_object__find_program_by_name(skeleton->obj, name), true);
        }
      }
    }
    if (vmplguard_agent_bpf__load(skeleton) == 0) {
      probes->skeleton_ = skeleton;
      break;
    }
    vmplguard_agent_bpf__destroy(skeleton);
    const std::string failed = failed_program(g_libbpf_log);
    bool dropped = false;
    for (size_t i = 0; i < specs.size() && !failed.empty() && !dropped; ++i) {
      for (size_t m = 0; m < candidates[i].size() && !dropped; ++m) {
        for (const char* name : programs_of(specs[i], candidates[i][m])) {
          if (failed != name) continue;
          std::fprintf(stderr, "vmplguard-agent: probe %s: %s program refused at load\n", specs[i].name,
                       mode_name(candidates[i][m]));
          candidates[i].erase(candidates[i].begin() + static_cast<long>(m));
          dropped = true;
          break;
        }
      }
    }
    if (!dropped) return Err("cannot load the BPF object:\n" + g_libbpf_log);
  }
  if (probes->skeleton_ == nullptr)
    return Err("cannot load the BPF object after dropping programs:\n" + g_libbpf_log);

  // Attach in table order (the batch probe before the raw-poke probe, so
  // that batch-internal pokes are never reported twice); per probe, the
  // first mode whose programs all attach wins.
  for (size_t i = 0; i < specs.size(); ++i) {
    ProbeStatus status{specs[i].name, "none", false};
    std::string errors;
    for (Mode mode : candidates[i]) {
      std::vector<bpf_link*> links;
      std::string error;
      for (const char* name : programs_of(specs[i], mode)) {
        bpf_link* link = bpf_program__attach(bpf_object__find_program_by_name(probes->skeleton_->obj, name));
        if (link == nullptr) {
          error = std::string(mode_name(mode)) + " " + name + ": " + std::strerror(errno);
          break;
        }
        links.push_back(link);
      }
      if (error.empty()) {
        status.attached = true;
        status.mode = mode_name(mode);
        probes->links_.insert(probes->links_.end(), links.begin(), links.end());
        break;
      }
      for (bpf_link* link : links) bpf_link__destroy(link);
      errors += (errors.empty() ? "" : "; ") + error;
    }
    std::fprintf(stderr, "vmplguard-agent: probe %-20s %-7s %s%s%s\n", specs[i].name, status.mode.c_str(),
                 status.attached ? "attached" : "NOT ATTACHED",
                 errors.empty() ? "" : " after: ", errors.c_str());
    probes->statuses_.push_back(status);
  }
  probes->ring_ =
      ring_buffer__new(bpf_map__fd(probes->skeleton_->maps.events), on_ring_sample, probes.get(), nullptr);
  if (probes->ring_ == nullptr) return Err(std::string("ring buffer: ") + std::strerror(errno));
  return probes.release();
}

int BpfProbes::poll(int timeout_ms) {
  return ring_buffer__poll(ring_, timeout_ms);
}

int BpfProbes::drain() {
  return ring_buffer__consume(ring_);
}

void BpfProbes::stop_and_drain() {
  // Reverse order: the raw-poke probe goes before the batch probe, so the
  // batch's own pokes are never seen without their batch.
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(*it);
  links_.clear();
  ring_buffer__consume(ring_);
}

ProbeCounters BpfProbes::counters() const {
  ProbeCounters totals;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return totals;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  const int fd = bpf_map__fd(skeleton_->maps.counters);
  uint64_t* fields[] = {&totals.produced, &totals.reserve_failed, &totals.read_failed};
  for (uint32_t key = 0; key < VGP_CNT_MAX; ++key) {
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) continue;
    for (uint64_t v : values) *fields[key] += v;
  }
  return totals;
}

}  // namespace vg::agent
