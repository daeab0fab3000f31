// The attack scenario runner: every *.scn file in tests/scenarios is one
// attack, described as data (docs/scenarios.md). For each, a fresh guest
// boots on the simulated SEV-SNP platform with the VMPL0 monitor and KCI
// enforcing the synthetic kernel's policy (kernel.txt); the runner stages
// the attacker's preparation, snapshots the RMP and guest memory, performs
// the attack as the kernel would (accesses at VMPL3, SVSM calls through the
// monitor), and checks: the expected refusal, nothing changed, and the last
// record's kind, verdict and attribution.
//
// Usage: vg_scenarios DIR [NAME...]   (exit status 0 only if all pass)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "requests.h"
#include "world.h"

namespace vg::kci::testing {
namespace {

struct Line {
  int number;
  std::string key, value;
};

struct Scenario {
  std::string file, name, technique, source, setup = "boot";
  std::vector<Line> lines;
};

struct Failure {
  std::string message;
};

std::vector<std::string> split(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool parse_scenario(const std::string& path, Scenario& out, std::string& error) {
  std::ifstream file(path);
  if (!file) return error = "cannot open", false;
  out.file = std::filesystem::path(path).filename().string();
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    const auto colon = text.find(':');
    if (colon == std::string::npos)
      return error = "line " + std::to_string(number) + ": expected 'key: value'", false;
    const std::string key = trim(text.substr(0, colon)), value = trim(text.substr(colon + 1));
    if (key == "name")
      out.name = value;
    else if (key == "technique")
      out.technique = value;
    else if (key == "source")
      out.source = value;
    else if (key == "setup")
      out.setup = value;
    else if (key == "stage" || key == "attack" || key.rfind("expect", 0) == 0 || key == "allow-change") {
      out.lines.push_back({number, key, value});
    } else {
      return error = "line " + std::to_string(number) + ": unknown key '" + key + "'", false;
    }
  }
  if (out.name.empty() || out.technique.empty() || out.source.empty()) {
    return error = "name, technique and source are required", false;
  }
  return true;
}

// Evaluates the expressions of docs/scenarios.md.
class Context {
 public:
  explicit Context(World& world) : world_(world), kernel_(world.kernel()) {}

  // OFFSET: SYMBOL[+N|-N] or a number, an offset from _text.
  uint64_t offset(const std::string& text) const {
    uint64_t value = 0;
    if (parse_number(text, value)) return value;
    const auto op = text.find_first_of("+-");
    const std::string name = text.substr(0, op);
    if (!kernel_.symbol(name, value)) throw Failure{"unknown symbol '" + name + "'"};
    if (op != std::string::npos) {
      uint64_t delta = 0;
      if (!parse_number(text.substr(op + 1), delta)) throw Failure{"bad offset '" + text + "'"};
      value = text[op] == '+' ? value + delta : value - delta;
    }
    return value;
  }
  // ADDRESS: va:OFFSET, gpa:OFFSET, page:N[+OFF], ring:N, or a number.
  uint64_t address(const std::string& text) const {
    uint64_t value = 0;
    if (text.rfind("va:", 0) == 0) return world_.text_va(offset(text.substr(3)));
    if (text.rfind("gpa:", 0) == 0) return kTextGpa + offset(text.substr(4));
    if (text.rfind("page:", 0) == 0 || text.rfind("ring:", 0) == 0) {
      const bool ring = text[0] == 'r';
      const std::string rest = text.substr(5);
      const auto plus = rest.find('+');
      uint64_t n = 0, extra = 0;
      if (!parse_number(rest.substr(0, plus), n) ||
          (plus != std::string::npos && !parse_number(rest.substr(plus + 1), extra))) {
        throw Failure{"bad page expression '" + text + "'"};
      }
      return (ring ? kRingGpa + n * kPageSize4K : World::free_page(static_cast<uint32_t>(n)).raw()) + extra;
    }
    if (parse_number(text, value)) return value;
    throw Failure{"bad address '" + text + "'"};
  }
  // BYTES: hex, nop5, nop3, jmp:ADDRESS or call:ADDRESS (rel32 from `at`).
  std::vector<uint8_t> bytes(const std::string& text, uint64_t at) const {
    if (text == "nop5") return kNop5;
    if (text == "nop3") return kNop3;
    if (text.rfind("jmp:", 0) == 0) return rel32(0xe9, at, address(text.substr(4)));
    if (text.rfind("call:", 0) == 0) return rel32(0xe8, at, address(text.substr(5)));
    std::vector<uint8_t> out;
    if (!parse_hex_bytes(text, out)) throw Failure{"bad bytes '" + text + "'"};
    return out;
  }
  std::map<std::string, std::string> keyed(const std::vector<std::string>& words, size_t from) const {
    std::map<std::string, std::string> out;
    for (size_t i = from; i < words.size(); ++i) {
      const auto eq = words[i].find('=');
      if (eq == std::string::npos) throw Failure{"expected key=value, got '" + words[i] + "'"};
      out[words[i].substr(0, eq)] = words[i].substr(eq + 1);
    }
    return out;
  }

 private:
  World& world_;
  const KernelDescription& kernel_;
};

const std::map<std::string, uint32_t>& result_names() {
  static const std::map<std::string, uint32_t> names = {{"SUCCESS", VG_RESULT_SUCCESS},
                                                        {"INVALID_ADDRESS", VG_RESULT_INVALID_ADDRESS},
                                                        {"INVALID_FORMAT", VG_RESULT_INVALID_FORMAT},
                                                        {"INVALID_PARAMETER", VG_RESULT_INVALID_PARAMETER},
                                                        {"INVALID_REQUEST", VG_RESULT_INVALID_REQUEST},
                                                        {"DENIED", VG_RESULT_DENIED},
                                                        {"NOT_REGISTERED", VG_RESULT_NOT_REGISTERED},
                                                        {"ALREADY_DONE", VG_RESULT_ALREADY_DONE},
                                                        {"POLICY_MISMATCH", VG_RESULT_POLICY_MISMATCH}};
  return names;
}

const std::map<std::string, uint16_t>& kind_names() {
  static const std::map<std::string, uint16_t> names = {{"TEXT_WRITE", VG_KIND_TEXT_WRITE},
                                                        {"PATCH_DENIED", VG_KIND_PATCH_DENIED},
                                                        {"PATCH_APPLIED", VG_KIND_PATCH_APPLIED},
                                                        {"DATA_WRITE", VG_KIND_DATA_WRITE},
                                                        {"MEDIATED_DENIED", VG_KIND_MEDIATED_DENIED},
                                                        {"EXEC_VIOLATION", VG_KIND_EXEC_VIOLATION},
                                                        {"PINNED_REGISTER", VG_KIND_PINNED_REGISTER},
                                                        {"MODULE_DENIED", VG_KIND_MODULE_DENIED},
                                                        {"MODULE_LOADED", VG_KIND_MODULE_LOADED},
                                                        {"RMP_TAMPER", VG_KIND_RMP_TAMPER},
                                                        {"REQUEST_MALFORMED", VG_KIND_REQUEST_MALFORMED},
                                                        {"WATCHED_CHANGED", VG_KIND_WATCHED_CHANGED},
                                                        {"POLICY_REFUSED", VG_KIND_POLICY_REFUSED}};
  return names;
}

const std::map<std::string, uint8_t>& verdict_names() {
  static const std::map<std::string, uint8_t> names = {{"ALLOWED", VG_VERDICT_ALLOWED},
                                                       {"DENIED", VG_VERDICT_DENIED},
                                                       {"INJECTED", VG_VERDICT_INJECTED},
                                                       {"STOPPED", VG_VERDICT_STOPPED}};
  return names;
}

uint64_t* vmsa_field(hal::VmsaState& state, const std::string& name) {
  if (name == "cr0") return &state.cr0;
  if (name == "cr4") return &state.cr4;
  if (name == "efer") return &state.efer;
  if (name == "lstar") return &state.lstar;
  if (name == "idtr_base") return &state.idtr_base;
  if (name == "gdtr_base") return &state.gdtr_base;
  throw Failure{"unknown register '" + name + "'"};
}

class Run {
 public:
  explicit Run(const Scenario& scenario)
      : scenario_(scenario), world_(synthetic_kernel(), Path::kMonitor), context_(world_) {}

  void run() {
    setup();
    bool snapped = false;
    for (const Line& line : scenario_.lines) {
      line_ = line.number;
      if (line.key == "stage") {
        if (snapped) throw Failure{"stage after attack"};
        act(line.value);
      } else if (line.key == "attack") {
        if (!snapped) {
          world_.snapshot_into(before_);
          saved_vmsa_ = world_.kernel_vmsa();
          records_before_ = world_.records();
          snapped = true;
        }
        act(line.value);
      } else if (line.key == "allow-change") {
        const auto words = split(line.value);
        uint64_t length = 0;
        if (words.size() != 2 || !parse_number(words[1], length))
          throw Failure{"allow-change ADDRESS LENGTH"};
        allowed_changes_.push_back({context_.address(words[0]), length});
      }
    }
    if (!snapped) throw Failure{"no attack"};
    bool checked_record = false;
    for (const Line& line : scenario_.lines) {
      line_ = line.number;
      if (line.key == "expect-result")
        check_result(line.value);
      else if (line.key == "expect-record")
        check_record(line.value), checked_record = true;
      else if (line.key == "expect-bytes")
        check_bytes(line.value);
      else if (line.key == "expect-register")
        check_register(line.value);
      else if (line.key == "expect-serial")
        check_serial(line.value);
      else if (line.key.rfind("expect", 0) == 0)
        throw Failure{"unknown expectation " + line.key};
    }
    if (!checked_record) throw Failure{"every scenario must check its record (expect-record)"};
    line_ = 0;
    check_unchanged();
  }

 private:
  void setup() {
    const std::string& setup = scenario_.setup;
    if (setup == "policy") {
      world_.launch();
      if (!world_.load_policy().ok()) throw Failure{"setup: policy refused"};
    } else if (setup == "boot") {
      world_.boot();
    } else if (setup == "boot_final") {
      world_.boot_final();
    } else if (setup == "boot_bpf") {
      world_.boot(policy::kFlagModulesAllowed);  // explicit: no kFlagBpfJitAllowed
    } else {
      throw Failure{"unknown setup '" + setup + "'"};
    }
  }

  void act(const std::string& text) {
    const auto words = split(text);
    if (words.empty()) throw Failure{"empty action"};
    const std::string& verb = words[0];
    auto need = [&](size_t n) {
      if (words.size() < n) throw Failure{"'" + verb + "' needs more arguments"};
    };
    if (verb == "write") {  // write ADDRESS HEX [rip=ADDRESS]
      need(3);
      const auto options = context_.keyed(words, 3);
      const uint64_t rip =
          options.count("rip") ? context_.address(options.at("rip")) : world_.text_va(0x5000);
      const auto outcome =
          world_.kernel_write(Gpa(context_.address(words[1])), context_.bytes(words[2], 0), rip);
      access_ = outcome.performed ? "PERFORMED" : (outcome.forwarded ? "FAULT" : "FAULT_UNREPORTED");
    } else if (verb == "exec") {  // exec ADDRESS rip=ADDRESS
      need(2);
      const auto options = context_.keyed(words, 2);
      const uint64_t rip = options.count("rip") ? context_.address(options.at("rip")) : 0;
      const auto outcome = world_.kernel_exec(Gpa(context_.address(words[1])), rip);
      access_ = outcome.performed ? "PERFORMED" : (outcome.forwarded ? "FAULT" : "FAULT_UNREPORTED");
    } else if (verb == "patch" || verb == "patch_race") {
      // patch ADDRESS=BYTES...   patch_race ADDRESS=BYTES... -> ADDRESS=BYTES...
      std::vector<PatchEntrySpec> first, second;
      bool after_arrow = false;
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i] == "->") {
          after_arrow = true;
          continue;
        }
        const auto eq = words[i].find('=');
        if (eq == std::string::npos) throw Failure{"patch entries are ADDRESS=BYTES"};
        const uint64_t at = context_.address(words[i].substr(0, eq));
        (after_arrow ? second : first).push_back({at, context_.bytes(words[i].substr(eq + 1), at)});
      }
      world_.poke(Gpa(kRequestGpa), patch_batch(first, 77));
      race_page_ = patch_batch(second, 77);
      if (verb == "patch_race") {
        g_after_copy_hook = {[](void* self, Gpa source) {
                               auto* run = static_cast<Run*>(self);
                               // Another vCPU rewrites the batch once the monitor has its copy.
                               if (source == Gpa(kRequestGpa))
                                 run->world_.poke(Gpa(kRequestGpa), run->race_page_);
                             },
                             this};
      }
      result_ = world_.call(VG_CALL_TEXT_PATCH, kRequestGpa).result;
      g_after_copy_hook = {};
      if (verb == "patch_race" && world_.read(Gpa(kRequestGpa), 4096) != race_page_) {
        throw Failure{"the race did not happen"};
      }
    } else if (verb == "module_text") {  // module_text fill=B size=N page=P (stage)
      const auto options = context_.keyed(words, 1);
      uint64_t fill = 0, size = 0, page = 0;
      if (!parse_number(options.at("fill"), fill) || !parse_number(options.at("size"), size) ||
          !parse_number(options.at("page"), page)) {
        throw Failure{"module_text fill= size= page="};
      }
      for (uint64_t done = 0; done < size; done += kPageSize4K) {
        world_.poke(
            World::free_page(static_cast<uint32_t>(page + done / kPageSize4K)),
            std::vector<uint8_t>(std::min<uint64_t>(kPageSize4K, size - done), static_cast<uint8_t>(fill)));
      }
    } else if (verb == "module") {  // module name=N size=N page=P
      const auto options = context_.keyed(words, 1);
      uint64_t size = 0, page = 0;
      if (!parse_number(options.at("size"), size) || !parse_number(options.at("page"), page)) {
        throw Failure{"module name= size= page="};
      }
      vg_module module{};
      std::snprintf(module.name, sizeof(module.name), "%s",
                    options.count("name") ? options.at("name").c_str() : "m");
      module.text_va = 0xffffffffc0000000ull + page * kPageSize4K;
      module.text_size = size;
      module.page_count = static_cast<uint32_t>((size + kPageSize4K - 1) / kPageSize4K);
      for (uint32_t i = 0; i < module.page_count; ++i) {
        module.page_gpa[i] = World::free_page(static_cast<uint32_t>(page + i)).raw();
      }
      result_ = world_.call_with(VG_CALL_REGISTER_MODULE, &module, sizeof(module)).result;
    } else if (verb == "mediated") {  // mediated OBJECT OFFSET TEXT  (TEXT gets a NUL)
      need(4);
      vg_mediated_write request{};
      request.object_va = world_.text_va(context_.offset(words[1]));
      uint64_t offset = 0;
      if (!parse_number(words[2], offset)) throw Failure{"bad offset"};
      request.offset = static_cast<uint32_t>(offset);
      const std::string value = words[3];
      request.length = static_cast<uint32_t>(value.size() + 1);
      std::memcpy(request.bytes, value.c_str(), value.size() + 1);
      result_ = world_.call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request)).result;
    } else if (verb == "bpf_jit") {  // bpf_jit page=P pages=N
      const auto options = context_.keyed(words, 1);
      uint64_t page = 0, pages = 0;
      if (!parse_number(options.at("page"), page) || !parse_number(options.at("pages"), pages)) {
        throw Failure{"bpf_jit page= pages="};
      }
      vg_bpf_jit jit{};
      jit.image_va = 0xffffffffa0000000ull;
      jit.image_gpa = World::free_page(static_cast<uint32_t>(page)).raw();
      jit.pages = static_cast<uint32_t>(pages);
      result_ = world_.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit)).result;
    } else if (verb == "load_policy") {  // load_policy serial=N [corrupt=BYTE_OFFSET]
      const auto options = context_.keyed(words, 1);
      uint64_t serial = 0;
      if (!parse_number(options.at("serial"), serial)) throw Failure{"load_policy serial="};
      auto bytes = world_.policy_bytes(serial);
      if (options.count("corrupt")) {
        uint64_t at = 0;
        if (!parse_number(options.at("corrupt"), at) || at >= bytes.size()) throw Failure{"bad corrupt="};
        bytes[at] ^= 0x20;
      }
      auto loaded = world_.service().load_policy(ByteView{bytes.data(), bytes.size()});
      load_ = loaded.ok() ? "ACCEPTED" : std::string("REFUSED:") + describe(loaded.error().error);
    } else if (verb == "kernel_rmpadjust") {  // kernel_rmpadjust ADDRESS PERMS (rwx)
      need(3);
      uint8_t perms = 0;
      if (!parse_perms(words[2], perms)) throw Failure{"bad perms"};
      const auto outcome = world_.platform().guest_rmpadjust(0, Vmpl(3), Gpa(context_.address(words[1])),
                                                             hal::PageSize::k4K, 3u | uint64_t{perms} << 8);
      hardware_ = outcome.fault == hal::sim::Fault::kNone ? outcome.rax : 0xffffffffu;
    } else if (verb == "pvalidate") {  // pvalidate ADDRESS rescind|validate
      need(3);
      pvalidate_ok_ =
          world_.service().vet_pvalidate(0, Gpa(context_.address(words[1])), words[2] == "validate");
      pvalidate_done_ = true;
    } else if (verb == "set_register") {  // set_register NAME VALUE (kernel vCPU 0)
      need(3);
      uint64_t value = 0;
      if (!parse_number(words[2], value)) throw Failure{"bad register value"};
      *vmsa_field(world_.kernel_vmsa(), words[1]) = value;
    } else if (verb == "enter") {  // any monitor entry: the kernel asks QUERY
      result_ = world_.call(VG_CALL_QUERY).result;
    } else {
      throw Failure{"unknown action '" + verb + "'"};
    }
  }

  void check_result(const std::string& expected) {
    if (expected == "FAULT" || expected == "PERFORMED") {
      if (access_ != expected) throw Failure{"access: expected " + expected + ", got " + access_};
    } else if (expected.rfind("REFUSED:", 0) == 0 || expected == "ACCEPTED") {
      if (load_.rfind(expected, 0) != 0)
        throw Failure{"policy load: expected " + expected + ", got " + load_};
    } else if (expected == "FAIL_PERMISSION") {
      if (hardware_ != static_cast<uint32_t>(hal::RmpStatus::kFailPermission)) {
        throw Failure{"RMPADJUST at VMPL3 returned " + std::to_string(hardware_)};
      }
    } else if (expected == "PVALIDATE_REFUSED") {
      if (!pvalidate_done_ || pvalidate_ok_) throw Failure{"PVALIDATE was not refused"};
    } else {
      const auto it = result_names().find(expected);
      if (it == result_names().end()) throw Failure{"unknown result " + expected};
      if (result_ != it->second) {
        char text[96];
        std::snprintf(text, sizeof(text), "call result %#x, expected %s (%#x)", result_, expected.c_str(),
                      it->second);
        throw Failure{text};
      }
    }
  }

  void check_record(const std::string& text) {
    if (world_.records() <= records_before_) throw Failure{"no record was written"};
    const vg_record& record = world_.last_record();
    for (const auto& [key, value] : context_.keyed(split(text), 0)) {
      auto mismatch = [&](uint64_t got) {
        char buffer[160];
        std::snprintf(buffer, sizeof(buffer), "record %s: expected %s, got %#llx", key.c_str(), value.c_str(),
                      static_cast<unsigned long long>(got));
        return Failure{buffer};
      };
      if (key == "kind") {
        if (!kind_names().count(value) || record.kind != kind_names().at(value)) throw mismatch(record.kind);
      } else if (key == "verdict") {
        if (!verdict_names().count(value) || record.verdict != verdict_names().at(value))
          throw mismatch(record.verdict);
      } else if (key == "offset") {
        const uint64_t expected = value == "none" ? ~0u : context_.offset(value);
        if (record.policy_offset != expected) throw mismatch(record.policy_offset);
      } else if (key == "address") {
        if (record.address != context_.address(value)) throw mismatch(record.address);
      } else if (key == "gpa") {
        if (record.gpa != context_.address(value)) throw mismatch(record.gpa);
      } else if (key == "rip") {
        if (record.rip != context_.address(value)) throw mismatch(record.rip);
      } else if (key == "detail") {
        if (value.rfind("name:", 0) == 0) {
          const auto& policy = world_.service().policy();
          const auto& strings_ok = record.detail != ~0u;
          if (!strings_ok || value.substr(5) != policy.string(record.detail)) throw mismatch(record.detail);
        } else {
          uint64_t expected = 0;
          if (!parse_number(value, expected) || record.detail != expected) throw mismatch(record.detail);
        }
      } else if (key == "value") {
        const uint64_t expected = context_.address(value);
        if (record.value != expected) throw mismatch(record.value);
      } else if (key == "vmpl") {
        uint64_t expected = 0;
        if (!parse_number(value, expected) || record.vmpl != expected) throw mismatch(record.vmpl);
      } else {
        throw Failure{"unknown record field " + key};
      }
    }
  }

  void check_bytes(const std::string& text) {
    const auto words = split(text);
    if (words.size() != 2) throw Failure{"expect-bytes ADDRESS BYTES"};
    const uint64_t gpa = context_.address(words[0]);
    const uint64_t va = world_.text_va(gpa - kTextGpa);
    const auto expected = context_.bytes(words[1], va);
    if (world_.read(Gpa(gpa), expected.size()) != expected) throw Failure{"bytes at " + words[0] + " differ"};
  }

  void check_register(const std::string& text) {
    const auto words = split(text);
    if (words.size() != 2) throw Failure{"expect-register NAME restored|VALUE"};
    const uint64_t now = *vmsa_field(world_.kernel_vmsa(), words[0]);
    hal::VmsaState saved = saved_vmsa_;
    uint64_t expected = 0;
    if (words[1] == "restored")
      expected = *vmsa_field(saved, words[0]);
    else if (!parse_number(words[1], expected))
      throw Failure{"bad register value"};
    if (now != expected)
      throw Failure{words[0] + " is " + std::to_string(now) + ", expected " + std::to_string(expected)};
  }

  void check_serial(const std::string& text) {
    uint64_t expected = 0;
    if (!parse_number(text, expected) || world_.service().policy().header().serial != expected) {
      throw Failure{"enforced policy serial is " + std::to_string(world_.service().policy().header().serial)};
    }
  }

  void check_unchanged() {
    world_.snapshot_into(after_);
    for (const auto& [start, length] : allowed_changes_) {
      if (start + length > after_.memory.size()) throw Failure{"allow-change outside memory"};
      std::memcpy(before_.memory.data() + start, after_.memory.data() + start, length);
    }
    const std::string diff = world_.difference(before_, after_);
    if (!diff.empty()) throw Failure{"the attack changed state: " + diff};
  }

 public:
  int line() const { return line_; }

 private:
  const Scenario& scenario_;
  World world_;
  Context context_;
  Snapshot before_, after_;
  hal::VmsaState saved_vmsa_{};
  uint64_t records_before_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> allowed_changes_;
  std::vector<uint8_t> race_page_;
  uint32_t result_ = ~0u;
  uint32_t hardware_ = ~0u;
  bool pvalidate_done_ = false, pvalidate_ok_ = true;
  std::string access_ = "none", load_ = "none";
  int line_ = 0;
};

}  // namespace
}  // namespace vg::kci::testing

int main(int argc, char** argv) {
  using namespace vg::kci::testing;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SCENARIO_DIR [NAME...]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (entry.path().extension() == ".scn") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  int passed = 0, failed = 0;
  for (const std::string& path : files) {
    Scenario scenario;
    std::string error;
    if (!parse_scenario(path, scenario, error)) {
      std::printf("FAIL %s: %s\n", path.c_str(), error.c_str());
      ++failed;
      continue;
    }
    if (argc > 2 && std::find(argv + 2, argv + argc, scenario.name) == argv + argc) continue;
    Run run(scenario);
    try {
      run.run();
      std::printf("ok   %-34s %s\n", scenario.name.c_str(), scenario.technique.c_str());
      ++passed;
    } catch (const Failure& failure) {
      std::printf("FAIL %s (%s:%d): %s\n", scenario.name.c_str(), scenario.file.c_str(), run.line(),
                  failure.message.c_str());
      ++failed;
    }
  }
  std::printf("%d scenarios passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
