// classify_trust (analyzer/stages.h): applies the rule of trust_rules.h to
// the functions, marks the privileged sites inside trusted functions, and
// sums up the trusted region.
#include <set>
#include <string>
#include <vector>

#include "analyzer/insn/classify.h"
#include "analyzer/insn/decoder.h"
#include "analyzer/insn/function_locator.h"
#include "analyzer/insn/trust_rules.h"
#include "analyzer/stages.h"

namespace vg::analyzer {
namespace {

using KindMask = uint32_t;  // bit per policy::PrivilegedKind (values 0..31)

KindMask bit(policy::PrivilegedKind kind) {
  return KindMask{1} << static_cast<uint16_t>(kind);
}

std::string kind_list(KindMask mask) {
  std::string list;
  for (uint16_t value = 0; value < 32; ++value) {
    if ((mask & (KindMask{1} << value)) == 0) continue;
    if (!list.empty()) list += ", ";
    list += insn::kind_name(static_cast<policy::PrivilegedKind>(value));
  }
  return list;
}

// What the literal replacement patterns of alternative and paravirt sites
// would put into a function: the privileged kinds, and the exact bytes of
// each privileged instruction (to recognise them in .altinstr_replacement).
struct ReplacementCode {
  std::vector<KindMask> kinds_by_function;
  std::set<std::vector<uint8_t>> privileged_bytes;
};

Result<ReplacementCode, Diagnostic> replacement_code(const ElfImage& image, const Analysis& analysis,
                                                     const insn::FunctionLocator& locator) {
  ReplacementCode code;
  code.kinds_by_function.assign(analysis.functions.size(), 0);
  auto decoder = insn::Decoder::open();
  if (!decoder.ok()) return Err{image.error(decoder.error())};
  for (const PatchSite& site : analysis.sites) {
    if ((site.kind & (policy::kSiteAlternative | policy::kSiteParavirt)) == 0) continue;
    KindMask kinds = 0;
    for (const policy::PatternSpec& pattern : site.patterns) {
      if (pattern.kind != policy::PatternKind::kLiteral) continue;
      const std::vector<uint8_t>& bytes = pattern.literal;
      // Replacement code is whole instructions: a linear decode is exact.
      for (size_t at = 0; at < bytes.size();) {
        const insn::DecodedInsn insn =
            decoder->decode(bytes.data() + at, bytes.size() - at, site.address + at);
        if (!insn.valid()) break;
        if (insn.privileged()) {
          kinds |= bit(insn.classification.kind);
          const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(at);
          code.privileged_bytes.emplace(first, first + insn.length);
        }
        at += insn.length;
      }
    }
    if (kinds == 0) continue;
    const insn::Located located = locator.locate(site.address);
    if (located.function != nullptr) {
      code.kinds_by_function[static_cast<size_t>(located.function - analysis.functions.data())] |= kinds;
    }
  }
  return code;
}

}  // namespace

Result<void, Diagnostic> classify_trust(const ElfImage& image, Analysis& out) {
  const insn::FunctionLocator locator(image, out.functions);
  auto index_of = [&out](const FunctionInfo* function) {
    return static_cast<size_t>(function - out.functions.data());
  };

  std::vector<KindMask> privileged(out.functions.size(), 0);
  for (const PrivilegedSite& site : out.privileged) {
    if (site.unintended || site.replacement) continue;
    const insn::Located located = locator.locate(site.address);
    if (located.function != nullptr) privileged[index_of(located.function)] |= bit(site.kind);
  }
  auto replacement = replacement_code(image, out, locator);
  if (!replacement.ok()) return Err{replacement.error()};

  out.trusted = TrustedSummary{};
  for (size_t i = 0; i < out.functions.size(); ++i) {
    FunctionInfo& function = out.functions[i];
    std::string reason;
    auto add = [&reason](const std::string& part) {
      if (!reason.empty()) reason += "; ";
      reason += part;
    };
    if (privileged[i] != 0) add("privileged: " + kind_list(privileged[i]));
    if (replacement->kinds_by_function[i] != 0) {
      add("privileged via alternative: " + kind_list(replacement->kinds_by_function[i]));
    }
    const std::string_view mechanism = insn::patching_mechanism(function.name);
    if (!mechanism.empty()) add("patching machinery: " + std::string(mechanism));
    function.trusted = !reason.empty();
    function.trust_reason = std::move(reason);
    if (function.trusted) {
      ++out.trusted.functions;
      out.trusted.bytes += function.size;
    } else {
      ++out.trusted.untrusted_functions;
      out.trusted.untrusted_bytes += function.size;
    }
  }

  uint64_t replacement_untrusted = 0;
  uint64_t outside_functions = 0;
  for (PrivilegedSite& site : out.privileged) {
    site.trusted = false;
    if (site.unintended) continue;  // never legitimate (trust_rules.h)
    if (site.replacement) {
      auto bytes = image.bytes_at(site.address, site.length);
      if (!bytes.ok()) return Err{bytes.error()};
      const std::vector<uint8_t> key(bytes->data, bytes->data + bytes->size);
      site.trusted = replacement->privileged_bytes.count(key) != 0;
      if (!site.trusted) ++replacement_untrusted;
      continue;
    }
    const insn::Located located = locator.locate(site.address);
    if (located.function != nullptr) {
      site.trusted = located.function->trusted;
    } else if (!located.name.empty()) {
      // Assembly code under an untyped label (entry_SYSCALL_64 in 6.1) that
      // the function list does not hold: rule 1 trusts the label's code.
      site.trusted = true;
      ++outside_functions;
    }
  }
  if (outside_functions != 0) {
    out.notes.push_back("trust: " + std::to_string(outside_functions) +
                        " aligned privileged instructions lie in code symbols outside the function list;"
                        " trusted by their label");
  }
  if (replacement_untrusted != 0) {
    out.notes.push_back("trust: " + std::to_string(replacement_untrusted) +
                        " privileged instructions in replacement code match no alternative site's pattern");
  }
  return Ok{};
}

}  // namespace vg::analyzer
