#include "kernel_description.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/sha256.h"

namespace vg::kci::testing {

using policy::PatternSpec;

bool parse_number(const std::string& text, uint64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtoull(text.c_str(), &end, 0);
  return end != nullptr && *end == '\0';
}

bool parse_hex_bytes(const std::string& text, std::vector<uint8_t>& out) {
  out.clear();
  if (text.size() % 2 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 2) {
    uint64_t value = 0;
    if (!parse_number("0x" + text.substr(i, 2), value)) return false;
    out.push_back(static_cast<uint8_t>(value));
  }
  return true;
}

bool parse_perms(const std::string& text, uint8_t& perms) {
  if (text.size() != 3) return false;
  perms = 0;
  if (text[0] == 'r')
    perms |= policy::kPermRead;
  else if (text[0] != '-')
    return false;
  if (text[1] == 'w')
    perms |= policy::kPermWrite;
  else if (text[1] != '-')
    return false;
  if (text[2] == 'x')
    perms |= policy::kPermSupervisorExec;
  else if (text[2] != '-')
    return false;
  return true;
}

namespace {

bool region_kind(const std::string& name, policy::RegionKind& kind) {
  static const std::map<std::string, policy::RegionKind> kKinds = {
      {"text", policy::RegionKind::kText},
      {"rodata", policy::RegionKind::kRodata},
      {"ro_after_init", policy::RegionKind::kRoAfterInit},
      {"data", policy::RegionKind::kData},
      {"bss", policy::RegionKind::kBss},
      {"init_text", policy::RegionKind::kInitText},
      {"init_data", policy::RegionKind::kInitData}};
  auto it = kKinds.find(name);
  if (it == kKinds.end()) return false;
  kind = it->second;
  return true;
}

bool site_kind(const std::string& name, uint16_t& kind) {
  static const std::map<std::string, uint16_t> kKinds = {
      {"alternative", policy::kSiteAlternative}, {"jump_label", policy::kSiteJumpLabel},
      {"static_call", policy::kSiteStaticCall},  {"ftrace", policy::kSiteFtrace},
      {"retpoline", policy::kSiteRetpoline},     {"return", policy::kSiteReturn}};
  auto it = kKinds.find(name);
  if (it == kKinds.end()) return false;
  kind = it->second;
  return true;
}

bool parse_pattern(const std::string& text, uint8_t length, PatternSpec& out) {
  uint64_t target = 0;
  if (text == "nop") {
    out = PatternSpec::nop(length);
  } else if (text == "call_any") {
    out = PatternSpec::call_any_function(length);
  } else if (text == "jmp_any") {
    out = PatternSpec::jmp_any_function(length);
  } else if (text.rfind("jmp32:", 0) == 0 && parse_number(text.substr(6), target)) {
    out = PatternSpec::jmp32(static_cast<uint32_t>(target), length);
  } else if (text.rfind("jmp8:", 0) == 0 && parse_number(text.substr(5), target)) {
    out = PatternSpec::jmp8(static_cast<uint32_t>(target), length);
  } else if (text.rfind("call:", 0) == 0 && parse_number(text.substr(5), target)) {
    out = PatternSpec::call(static_cast<uint32_t>(target), length);
  } else if (text.rfind("literal:", 0) == 0) {
    std::vector<uint8_t> bytes;
    if (!parse_hex_bytes(text.substr(8), bytes)) return false;
    out = PatternSpec::literal_bytes(bytes);
  } else {
    return false;
  }
  return true;
}

// key=value lookup among words.
bool keyed(const std::vector<std::string>& words, const std::string& key, std::string& value) {
  for (const auto& word : words) {
    if (word.rfind(key + "=", 0) == 0) {
      value = word.substr(key.size() + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

uint64_t KernelDescription::image_size() const {
  uint64_t end = 0;
  for (const auto& region : regions) end = std::max(end, region.start + region.size);
  return end;
}

bool KernelDescription::symbol(const std::string& name, uint64_t& offset) const {
  for (const auto& f : functions) {
    if (f.name == name) return offset = f.offset, true;
  }
  for (const auto& o : objects) {
    if (o.name == name) return offset = o.offset, true;
  }
  for (const auto& r : regions) {
    if (r.name == name) return offset = r.start, true;
  }
  return false;
}

const ObjectFact* KernelDescription::object(const std::string& name) const {
  for (const auto& o : objects) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

Result<KernelDescription, std::string> parse_kernel_description(const std::string& text) {
  KernelDescription kernel;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string word; in >> word;) words.push_back(word);
    if (words.empty()) continue;
    auto fail = [&](const std::string& why) {
      return Err{"kernel description line " + std::to_string(number) + ": " + why};
    };
    const std::string& what = words[0];
    uint64_t a = 0, b = 0, c = 0;
    if (what == "kernel") {
      std::string value;
      if (!keyed(words, "build_id", value) || !parse_hex_bytes(value, kernel.build_id))
        return fail("bad build_id");
      if (!keyed(words, "link_text_va", value) || !parse_number(value, kernel.link_text_va))
        return fail("bad link_text_va");
      if (keyed(words, "release", value)) kernel.release = value;
      if (keyed(words, "serial", value) && !parse_number(value, kernel.serial)) return fail("bad serial");
    } else if (what == "flags") {
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i] == "modules")
          kernel.flags |= policy::kFlagModulesAllowed;
        else if (words[i] == "modules_unrestricted")
          kernel.flags |= policy::kFlagModulesUnrestricted;
        else if (words[i] == "bpf_jit")
          kernel.flags |= policy::kFlagBpfJitAllowed;
        else
          return fail("unknown flag " + words[i]);
      }
    } else if (what == "region") {
      RegionFact region;
      if (words.size() != 6 || !region_kind(words[1], region.kind) || !parse_number(words[2], region.start) ||
          !parse_number(words[3], region.size) || !parse_perms(words[4], region.perms_boot) ||
          !parse_perms(words[5], region.perms_final)) {
        return fail("expected: region KIND START SIZE BOOT_PERMS FINAL_PERMS");
      }
      region.name = words[1];
      kernel.regions.push_back(region);
    } else if (what == "function") {
      FunctionFact function;
      if (words.size() < 4 || !parse_number(words[1], a) || !parse_number(words[2], b)) {
        return fail("expected: function OFFSET SIZE NAME [trusted] [init]");
      }
      function.offset = static_cast<uint32_t>(a);
      function.size = static_cast<uint32_t>(b);
      function.name = words[3];
      for (size_t i = 4; i < words.size(); ++i) {
        if (words[i] == "trusted")
          function.flags |= policy::kFunctionTrusted;
        else if (words[i] == "init")
          function.flags |= policy::kFunctionInit;
        else
          return fail("unknown function flag " + words[i]);
      }
      kernel.functions.push_back(function);
    } else if (what == "site") {
      SiteFact site;
      if (words.size() < 5 || !parse_number(words[1], a) || !site_kind(words[2], site.kinds) ||
          !parse_number(words[3], c) || c == 0 || c > 16) {
        return fail("expected: site OFFSET KIND LENGTH PATTERN...");
      }
      site.offset = static_cast<uint32_t>(a);
      site.length = static_cast<uint8_t>(c);
      for (size_t i = 4; i < words.size(); ++i) {
        PatternSpec pattern;
        if (!parse_pattern(words[i], site.length, pattern)) return fail("bad pattern " + words[i]);
        site.patterns.push_back(pattern);
      }
      kernel.sites.push_back(site);
    } else if (what == "object") {
      ObjectFact object;
      static const std::map<std::string, policy::Protection> kProtections = {
          {"locked", policy::Protection::kLockedAfterBoot},
          {"mediated", policy::Protection::kWriteMediated},
          {"watched", policy::Protection::kWatched}};
      if (words.size() != 6 || !parse_number(words[2], a) || !parse_number(words[3], b) ||
          !kProtections.count(words[4]) || !region_kind(words[5], object.region)) {
        return fail("expected: object NAME OFFSET SIZE locked|mediated|watched REGION");
      }
      object.name = words[1];
      object.offset = static_cast<uint32_t>(a);
      object.size = static_cast<uint32_t>(b);
      object.protection = kProtections.at(words[4]);
      kernel.objects.push_back(object);
    } else if (what == "module_hash") {
      ModuleText module;
      std::string value;
      if (words.size() != 4 || !keyed(words, "fill", value) || !parse_number(value, a) ||
          !keyed(words, "size", value) || !parse_number(value, b)) {
        return fail("expected: module_hash NAME fill=BYTE size=BYTES");
      }
      module.name = words[1];
      module.fill = static_cast<uint8_t>(a);
      module.size = static_cast<uint32_t>(b);
      kernel.module_hashes.push_back(module);
    } else {
      return fail("unknown statement " + what);
    }
  }
  if (kernel.regions.empty()) return Err{std::string("kernel description has no regions")};
  return kernel;
}

Result<KernelDescription, std::string> load_kernel_description(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Err{"cannot open " + path};
  std::stringstream text;
  text << file.rdbuf();
  return parse_kernel_description(text.str());
}

std::vector<uint8_t> build_policy(const KernelDescription& kernel, uint64_t serial, uint32_t flags) {
  policy::PolicyBuilder builder;
  builder.set_kernel(kernel.build_id, kernel.release, kernel.link_text_va);
  builder.set_serial(serial == ~0ull ? kernel.serial : serial);
  builder.set_flags(flags == ~0u ? kernel.flags : flags);
  for (const auto& r : kernel.regions)
    builder.add_region(r.start, r.size, r.kind, r.perms_boot, r.perms_final);
  for (const auto& f : kernel.functions) builder.add_function(f.offset, f.size, f.name, f.flags);
  for (const auto& s : kernel.sites) builder.add_site(s.offset, s.kinds, s.length, s.patterns);
  for (const auto& o : kernel.objects) builder.add_object(o.offset, o.size, o.name, o.protection, o.region);
  for (const auto& m : kernel.module_hashes) {
    const auto text = m.bytes();
    const Sha256Digest digest = Sha256::of(text.data(), text.size());
    builder.add_module_hash(digest.bytes, m.name);
  }
  auto bytes = builder.build();
  if (!bytes.ok()) {
    std::fprintf(stderr, "synthetic policy does not build: %s\n", bytes.error().c_str());
    std::abort();
  }
  return std::move(bytes).value();
}

}  // namespace vg::kci::testing
