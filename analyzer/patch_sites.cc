// collect_patch_sites: every place where the kernel legitimately rewrites its
// own text, with the byte sequences it may write there.
//
// Each special section is read from its linker bounds symbols, entry by entry;
// self-relative fields are decoded (6.12 has no .rela sections to lean on).
// The allowed sequences mirror what arch/x86/kernel/{alternative,jump_label,
// static_call,ftrace}.c of the analysed kernel write, see kernel-facts.md.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "analyzer/layout.h"
#include "analyzer/patch_sites_internal.h"
#include "analyzer/stages.h"
#include "analyzer/x86_code.h"

namespace vg::analyzer {
namespace {

using policy::PatternSpec;

constexpr uint8_t kNop2[] = {0x66, 0x90};
constexpr uint8_t kNop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
// gen_endbr_poison(): `osp nopl (%rax)`, what apply_seal_endbr() writes.
const std::vector<uint8_t> kEndbrPoison = {0x66, 0x0f, 0x1f, 0x00};
// `ret; int3; int3; int3; int3`: static_call RET form and patch_return().
const std::vector<uint8_t> kRetInt3 = {0xc3, 0xcc, 0xcc, 0xcc, 0xcc};
// xor5rax: `cs cs cs xorl %eax,%eax`, static_call's __static_call_return0.
const std::vector<uint8_t> kXor5Rax = {0x2e, 0x2e, 0x2e, 0x31, 0xc0};

// The functions x86_return_thunk may point to (set by the mitigations in
// arch/x86/kernel/cpu/bugs.c); only those present in the kernel are used.
constexpr std::string_view kReturnThunks[] = {"__x86_return_thunk",      "retbleed_return_thunk",
                                              "srso_return_thunk",       "srso_alias_return_thunk",
                                              "call_depth_return_thunk", "its_return_thunk"};
// ftrace_make_call()/ftrace_make_nop() targets inside the image. Per-ops
// trampolines are allocated at run time outside the image (see notes).
constexpr std::string_view kFtraceTargets[] = {"__fentry__", "ftrace_caller", "ftrace_regs_caller"};

bool contains_pattern(const std::vector<PatternSpec>& patterns, const PatternSpec& wanted) {
  return std::find(patterns.begin(), patterns.end(), wanted) != patterns.end();
}

std::vector<uint8_t> copy(ByteView bytes) {
  return std::vector<uint8_t>(bytes.data, bytes.data + bytes.size);
}

bool same(ByteView bytes, const uint8_t* expected, size_t length) {
  return bytes.size == length && std::memcmp(bytes.data, expected, length) == 0;
}

// The call/jmp rel32 targets among `names` that exist, as _text offsets.
std::vector<uint32_t> symbol_offsets(const SiteSink& sink, std::initializer_list<std::string_view> names) {
  std::vector<uint32_t> offsets;
  for (std::string_view name : names) {
    uint32_t offset = 0;
    const auto va = sink.image().symbol_address(name);
    if (va && sink.text_offset(*va, offset)) offsets.push_back(offset);
  }
  return offsets;
}

Result<std::optional<Table>, Diagnostic> sized_table(const ElfImage& image, const TableSpec& spec,
                                                     uint64_t entry_size, SiteTableStats& stats) {
  stats.section = std::string(spec.name);
  stats.entry_size = entry_size;
  auto table = VG_TRY(find_table(image, spec));
  if (table) stats.entries = VG_TRY(entry_count(image, *table, entry_size));
  return table;
}

// __jump_table: s32 code, s32 target, s64 key (all self-relative). The site
// is 2 or 5 bytes, decided by what objtool left there (jump_entry_size()).
Result<void, Diagnostic> read_jump_labels(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(), {"__jump_table", "__start___jump_table", "__stop___jump_table", ""}, 16, stats));
  if (!table) return Ok{};
  uint64_t nop2 = 0, nop5 = 0, jmp = 0, other = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t va = table->address + i * 16;
    const uint8_t* entry = table->bytes.data + i * 16;
    const uint64_t code = self_relative(va, entry);
    const uint64_t target = self_relative(va + 4, entry + 4);
    ByteView head = VG_TRY(sink.site_bytes("__jump_table", i, code, 2));
    const bool short_form = head.data[0] == x86::kJmp8 || same(head, kNop2, 2);
    const uint8_t length = short_form ? 2 : 5;
    const ByteView bytes = VG_TRY(sink.site_bytes("__jump_table", i, code, length));
    uint32_t target_offset = 0;
    if (!sink.text_offset(target, target_offset)) {
      return Err{sink.image().error("__jump_table entry " + std::to_string(i) + ": target " + hex(target) +
                                    " is outside kernel text")};
    }
    if (same(bytes, kNop2, 2)) {
      ++nop2;
    } else if (same(bytes, kNop5, 5)) {
      ++nop5;
    } else if (bytes.data[0] == x86::kJmp8 || bytes.data[0] == x86::kJmp32) {
      ++jmp;
    } else {
      ++other;
    }
    PatchSite site;
    site.address = code;
    site.kind = policy::kSiteJumpLabel;
    site.length = length;
    site.target = target;
    site.patterns.push_back(PatternSpec::nop(length));
    site.patterns.push_back(short_form ? PatternSpec::jmp8(target_offset)
                                       : PatternSpec::jmp32(target_offset));
    sink.add(stats, std::move(site));
  }
  sink.note("__jump_table on disk: " + std::to_string(nop2) + " NOP2, " + std::to_string(nop5) + " NOP5, " +
            std::to_string(jmp) + " jmp" + (other > 0 ? ", " + std::to_string(other) + " unexpected" : ""));
  return Ok{};
}

// .static_call_sites: s32 addr, s32 key (low bits: 1 tail call, 2 init).
// __static_call_transform() writes call/jmp to the new function, NOP5 for a
// NULL call, the RET form for a NULL tail call, xor5rax for return0.
Result<void, Diagnostic> read_static_calls(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(),
      {".static_call_sites", "__start_static_call_sites", "__stop_static_call_sites", ".static_call_sites"},
      8, stats));
  const std::vector<uint32_t> return_thunks =
      symbol_offsets(sink, {kReturnThunks[0], kReturnThunks[1], kReturnThunks[2], kReturnThunks[3],
                            kReturnThunks[4], kReturnThunks[5]});
  const auto ret_forms = [&](PatchSite& site) {
    site.patterns.push_back(PatternSpec::literal_bytes(kRetInt3));
    for (uint32_t thunk : return_thunks) site.patterns.push_back(PatternSpec::jmp32(thunk));
  };
  if (table) {
    for (uint64_t i = 0; i < stats.entries; ++i) {
      const uint64_t va = table->address + i * 8;
      const uint8_t* entry = table->bytes.data + i * 8;
      const uint64_t address = self_relative(va, entry);
      const int32_t key_raw = read_s32(entry + 4);
      const bool tail = (key_raw & 1) != 0;
      const ByteView bytes = VG_TRY(sink.site_bytes(".static_call_sites", i, address, 5));
      PatchSite site;
      site.address = address;
      site.kind = policy::kSiteStaticCall;
      site.length = 5;
      site.target = va + 4 + static_cast<uint64_t>(static_cast<int64_t>(key_raw & ~3));
      site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
      if (tail) {
        site.patterns.push_back(PatternSpec::jmp_any_function());
        ret_forms(site);
      } else {
        site.patterns.push_back(PatternSpec::call_any_function());
        site.patterns.push_back(PatternSpec::nop(5));
        site.patterns.push_back(PatternSpec::literal_bytes(kXor5Rax));
      }
      sink.add(stats, std::move(site));
    }
  }
  // The trampolines (__SCT__*) are rewritten too: jmp to the function, or
  // the RET form when it is NULL.
  uint64_t trampolines = 0;
  for (const Symbol& symbol : sink.image().symbols()) {
    if (!symbol.name.starts_with("__SCT__")) continue;
    auto bytes = sink.image().bytes_at(symbol.value, 5);
    const Section* home = sink.image().section_at(symbol.value);
    if (!bytes.ok() || home == nullptr || !home->executable()) continue;
    PatchSite site;
    site.address = symbol.value;
    site.kind = policy::kSiteStaticCall;
    site.length = 5;
    site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes.value())));
    site.patterns.push_back(PatternSpec::jmp_any_function());
    ret_forms(site);
    SiteTableStats ignored;
    if (sink.add(ignored, std::move(site))) ++trampolines;
  }
  if (trampolines > 0) sink.note("static_call trampolines (__SCT__*): " + std::to_string(trampolines));
  return Ok{};
}

// __mcount_loc: absolute addresses of the `call __fentry__` at function
// entries. ftrace_init() turns them into NOP5; tracing turns them into calls.
Result<void, Diagnostic> read_mcount(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(
      sized_table(sink.image(), {"__mcount_loc", "__start_mcount_loc", "__stop_mcount_loc", ""}, 8, stats));
  if (!table) return Ok{};
  std::vector<PatternSpec> patterns = {PatternSpec::nop(5)};
  for (uint32_t target : symbol_offsets(sink, {kFtraceTargets[0], kFtraceTargets[1], kFtraceTargets[2]})) {
    patterns.push_back(PatternSpec::call(target));
  }
  const auto fentry = sink.image().symbol_address("__fentry__");
  uint64_t calls_to_fentry = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t address = read_u64(table->bytes.data + i * 8);
    if (address == 0) {
      ++stats.skipped;  // a weak function the linker dropped
      continue;
    }
    const ByteView bytes = VG_TRY(sink.site_bytes("__mcount_loc", i, address, 5));
    if (fentry && bytes.data[0] == x86::kCall &&
        address + 5 + static_cast<uint64_t>(static_cast<int64_t>(x86::get_rel32(bytes.data + 1))) ==
            *fentry) {
      ++calls_to_fentry;
    }
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteFtrace;
    site.length = 5;
    site.patterns = patterns;
    sink.add(stats, std::move(site));
  }
  sink.note(
      "__mcount_loc: " + std::to_string(calls_to_fentry) +
      " sites hold `call __fentry__` on disk; "
      "ftrace trampolines allocated at run time lie outside the image and are not allowed by this policy");
  return Ok{};
}

// .retpoline_sites: call/jmp/jcc rel32 to __x86_indirect_thunk_<reg>.
// patch_retpoline() may inline them as `call/jmp *%reg`, optionally behind
// an lfence, NOP-padded and then optimize_nops()'d.
Result<void, Diagnostic> read_retpolines(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(), {".retpoline_sites", "__retpoline_sites", "__retpoline_sites_end", ".retpoline_sites"}, 4,
      stats));
  if (!table) return Ok{};
  const auto array = sink.image().symbol_address("__x86_indirect_thunk_array");
  uint64_t unknown = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t va = table->address + i * 4;
    const uint64_t address = self_relative(va, table->bytes.data + i * 4);
    const ByteView head = VG_TRY(sink.site_bytes(".retpoline_sites", i, address, 1));
    (void)head;
    auto text = sink.image().bytes_at(address, 6);
    if (!text.ok()) text = sink.image().bytes_at(address, 5);
    if (!text.ok()) {
      return Err{sink.image().error(".retpoline_sites entry " + std::to_string(i) + ": site " + hex(address) +
                                    " is cut off by the end of its section")};
    }
    const auto insn = x86::decode(text->data, text->size);
    const bool jcc = insn && insn->two_byte && insn->opcode >= 0x80 && insn->opcode <= 0x8f;
    const bool call_or_jmp =
        insn && !insn->two_byte && (insn->opcode == x86::kCall || insn->opcode == x86::kJmp32);
    if (!insn || !(jcc || call_or_jmp) || insn->imm_size != 4 || sink.in_replacement(address)) {
      ++unknown;  // apply_retpolines() WARNs and leaves it alone
      ++stats.skipped;
      continue;
    }
    const uint8_t length = insn->length;
    const ByteView bytes = text->sub(0, length);
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteRetpoline;
    site.length = length;
    site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    const uint64_t target = address + length + static_cast<uint64_t>(insn->imm);
    const uint64_t reg = array && target >= *array ? (target - *array) / 32 : 16;
    if (reg < 16 && reg != 4 && target == *array + reg * 32) {
      site.target = target;
      for (bool lfence : {false, true}) {
        uint8_t out[16];
        size_t at = 0;
        uint8_t op = jcc ? x86::kJmp32 : insn->opcode;
        if (jcc) {
          out[at++] = static_cast<uint8_t>(0x70 + ((insn->opcode & 0xf) ^ 1));  // inverted Jcc.d8
          out[at++] = static_cast<uint8_t>(length - 2);
        }
        if (lfence) {
          out[at++] = 0x0f;
          out[at++] = 0xae;
          out[at++] = 0xe8;
        }
        if (reg >= 8) out[at++] = 0x41;  // REX.B
        out[at++] = 0xff;
        out[at++] = static_cast<uint8_t>((op == x86::kCall ? 0xd0 : 0xe0) + (reg & 7));
        if (op == x86::kJmp32 && at < length) out[at++] = x86::kInt3;
        if (at > length) continue;  // does not fit: the kernel leaves the site
        std::memset(out + at, 0x90, length - at);
        x86::optimize_nops(sink.layout(), out, length);
        site.patterns.push_back(PatternSpec::literal_bytes(std::vector<uint8_t>(out, out + length)));
      }
    } else {
      ++unknown;
    }
    sink.add(stats, std::move(site));
  }
  if (unknown > 0) {
    sink.note(".retpoline_sites: " + std::to_string(unknown) +
              " sites are not a rel32 branch to a retpoline thunk; only their on-disk bytes are allowed");
  }
  sink.note(
      ".retpoline_sites: call-depth (Intel SKL) and ITS thunk forms are not allowed: both are Intel-only "
      "mitigations and SEV-SNP guests run on AMD");
  return Ok{};
}

// .return_sites: `jmp __x86_return_thunk`; patch_return() writes a jmp to
// the selected return thunk, or `ret` + int3 padding.
Result<void, Diagnostic> read_returns(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(), {".return_sites", "__return_sites", "__return_sites_end", ".return_sites"}, 4, stats));
  if (!table) return Ok{};
  std::vector<PatternSpec> patterns;
  for (uint32_t thunk : symbol_offsets(sink, {kReturnThunks[0], kReturnThunks[1], kReturnThunks[2],
                                              kReturnThunks[3], kReturnThunks[4], kReturnThunks[5]})) {
    patterns.push_back(PatternSpec::jmp32(thunk));
  }
  patterns.push_back(PatternSpec::literal_bytes(kRetInt3));
  std::vector<uint64_t> thunks;
  for (std::string_view name : kReturnThunks) {
    if (auto thunk = sink.image().symbol_address(name)) thunks.push_back(*thunk);
  }
  sink.set_return_thunks(std::move(thunks));
  uint64_t other = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t address = self_relative(table->address + i * 4, table->bytes.data + i * 4);
    const ByteView bytes = VG_TRY(sink.site_bytes(".return_sites", i, address, 5));
    if (sink.in_replacement(address)) {
      // Rewritten in place, then copied by an alternative: see alternatives.cc.
      if (bytes.data[0] == x86::kJmp32) sink.add_replacement_return(address);
      ++stats.skipped;
      continue;
    }
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteReturn;
    site.length = 5;
    if (bytes.data[0] == x86::kJmp32) {
      site.patterns = patterns;
      // The on-disk jmp is already one of the thunk patterns unless it aims
      // elsewhere; only then does it need a literal of its own.
      const uint64_t target =
          address + 5 + static_cast<uint64_t>(static_cast<int64_t>(x86::get_rel32(bytes.data + 1)));
      uint32_t offset = 0;
      if (!sink.text_offset(target, offset) || !contains_pattern(site.patterns, PatternSpec::jmp32(offset))) {
        site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
      }
    } else {
      ++other;  // apply_returns() only rewrites jmp rel32
      site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    }
    sink.add(stats, std::move(site));
  }
  if (other > 0)
    sink.note(".return_sites: " + std::to_string(other) + " sites are not jmp rel32; kept as on disk");
  return Ok{};
}

// .call_sites (6.12 call depth tracking): a direct call may be redirected to
// the accounting thunk placed just before its target.
Result<void, Diagnostic> read_call_sites(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(), {".call_sites", "__call_sites", "__call_sites_end", ".call_sites"}, 4, stats));
  if (!table) return Ok{};
  const auto thunk_begin = sink.image().symbol_address("skl_call_thunk_template");
  const auto thunk_end = sink.image().symbol_address("skl_call_thunk_tail");
  const uint64_t thunk_size =
      thunk_begin && thunk_end && *thunk_end > *thunk_begin ? *thunk_end - *thunk_begin : 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t address = self_relative(table->address + i * 4, table->bytes.data + i * 4);
    const ByteView bytes = VG_TRY(sink.site_bytes(".call_sites", i, address, 5));
    if (sink.in_replacement(address)) {
      ++stats.skipped;
      continue;
    }
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteCall;
    site.length = 5;
    // A direct call is stored as its target rather than as literal bytes:
    // the same sequence, and 230k literals fewer in 6.12.
    const uint64_t target =
        address + 5 + static_cast<uint64_t>(static_cast<int64_t>(x86::get_rel32(bytes.data + 1)));
    uint32_t original = 0;
    if (bytes.data[0] == x86::kCall && sink.text_offset(target, original)) {
      site.patterns.push_back(PatternSpec::call(original));
      site.target = target;
      uint32_t thunk = 0;
      if (thunk_size > 0 && sink.text_offset(target - thunk_size, thunk)) {
        site.patterns.push_back(PatternSpec::call(thunk));
      }
    } else {
      site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    }
    sink.add(stats, std::move(site));
  }
  sink.note(
      ".call_sites: the call-depth thunks written into function padding are not modelled (Intel-only "
      "retbleed=stuff; never enabled on AMD SEV-SNP)");
  return Ok{};
}

// .ibt_endbr_seal: endbr64 of functions never called indirectly, poisoned.
Result<void, Diagnostic> read_endbr_seal(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(), {".ibt_endbr_seal", "__ibt_endbr_seal", "__ibt_endbr_seal_end", ".ibt_endbr_seal"}, 4,
      stats));
  if (!table) return Ok{};
  uint64_t not_endbr = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t address = self_relative(table->address + i * 4, table->bytes.data + i * 4);
    const ByteView bytes = VG_TRY(sink.site_bytes(".ibt_endbr_seal", i, address, 4));
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteEndbrSeal;
    site.length = 4;
    site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    if (same(bytes, kEndbr64, 4)) {
      site.patterns.push_back(PatternSpec::literal_bytes(kEndbrPoison));
    } else {
      ++not_endbr;  // poison_endbr() leaves it
    }
    sink.add(stats, std::move(site));
  }
  if (not_endbr > 0) sink.note(".ibt_endbr_seal: " + std::to_string(not_endbr) + " sites are not endbr64");
  return Ok{};
}

// .parainstructions (6.1): u64 instr, u8 type, u8 len. apply_paravirt()
// writes a call to the pv_ops function, or NOPs for _paravirt_nop.
Result<void, Diagnostic> read_paravirt(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(),
      {".parainstructions", "__parainstructions", "__parainstructions_end", ".parainstructions"}, 16, stats));
  if (!table) return Ok{};
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint8_t* entry = table->bytes.data + i * 16;
    const uint64_t address = read_u64(entry);
    const uint8_t length = entry[9];
    if (length == 0) {
      ++stats.skipped;
      continue;
    }
    const ByteView bytes = VG_TRY(sink.site_bytes(".parainstructions", i, address, length));
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteParavirt;
    site.length = length;
    site.target = entry[8];  // the pv_ops slot
    site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    if (length >= 5) site.patterns.push_back(PatternSpec::call_any_function(length));
    site.patterns.push_back(PatternSpec::nop(length));
    sink.add(stats, std::move(site));
  }
  return Ok{};
}

// .smp_locks: the lock prefixes alternatives_smp_unlock() turns into DS
// prefixes on a uniprocessor, and back.
Result<void, Diagnostic> read_smp_locks(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(
      sized_table(sink.image(), {".smp_locks", "__smp_locks", "__smp_locks_end", ".smp_locks"}, 4, stats));
  if (!table) return Ok{};
  for (uint64_t i = 0; i < stats.entries; ++i) {
    if (read_s32(table->bytes.data + i * 4) == 0) {
      ++stats.skipped;  // page padding of the section
      continue;
    }
    const uint64_t address = self_relative(table->address + i * 4, table->bytes.data + i * 4);
    const ByteView bytes = VG_TRY(sink.site_bytes(".smp_locks", i, address, 1));
    if (sink.in_replacement(address)) {
      ++stats.skipped;
      continue;
    }
    PatchSite site;
    site.address = address;
    site.kind = policy::kSiteSmpLock;
    site.length = 1;
    site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
    site.patterns.push_back(PatternSpec::literal_bytes({0xf0}));
    site.patterns.push_back(PatternSpec::literal_bytes({0x3e}));
    sink.add(stats, std::move(site));
  }
  return Ok{};
}

// runtime_shift_* / runtime_ptr_* (6.12): immediates runtime_const_init()
// fills once at boot with values known only then (a hash shift, a heap
// pointer). Only the on-disk placeholder is a pattern; see the policy format
// document for how the monitor treats kSiteRuntimeConst.
Result<void, Diagnostic> read_runtime_consts(SiteSink& sink, std::vector<SiteTableStats>& all) {
  for (const Section& section : sink.image().sections()) {
    const bool shift = section.name.starts_with("runtime_shift_");
    const bool pointer = section.name.starts_with("runtime_ptr_");
    if (!shift && !pointer) continue;
    SiteTableStats stats;
    const std::string start = "__start_" + section.name;
    const std::string stop = "__stop_" + section.name;
    auto table = VG_TRY(sized_table(sink.image(), {section.name, start, stop, section.name}, 4, stats));
    if (!table) continue;
    const uint8_t length = shift ? 1 : 8;
    for (uint64_t i = 0; i < stats.entries; ++i) {
      const uint64_t address = self_relative(table->address + i * 4, table->bytes.data + i * 4);
      const ByteView bytes = VG_TRY(sink.site_bytes(section.name, i, address, length));
      PatchSite site;
      site.address = address;
      site.kind = policy::kSiteRuntimeConst;
      site.length = length;
      site.patterns.push_back(PatternSpec::literal_bytes(copy(bytes)));
      sink.add(stats, std::move(site));
    }
    all.push_back(std::move(stats));
  }
  return Ok{};
}

// _kprobe_blacklist: not patch sites, but where kprobes may never go; the
// report lists them.
Result<void, Diagnostic> read_kprobe_blacklist(SiteSink& sink, SiteTableStats& stats) {
  auto table = VG_TRY(sized_table(
      sink.image(),
      {"_kprobe_blacklist", "__start_kprobe_blacklist", "__stop_kprobe_blacklist", "_kprobe_blacklist"}, 8,
      stats));
  if (!table) return Ok{};
  const auto& symbols = sink.image().symbols();
  uint64_t bytes = 0;
  uint64_t unsized = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t address = read_u64(table->bytes.data + i * 8);
    // NOKPROBE_SYMBOL() records a function; _ASM_NOKPROBE() an asm entry
    // point (a NOTYPE symbol). The range is the largest symbol there.
    auto it = std::lower_bound(symbols.begin(), symbols.end(), address,
                               [](const Symbol& symbol, uint64_t va) { return symbol.value < va; });
    uint64_t size = 0;
    for (; it != symbols.end() && it->value == address; ++it) size = std::max(size, it->size);
    if (size > 0) {
      bytes += size;
      ++stats.sites;
    } else {
      ++unsized;
      ++stats.skipped;
    }
  }
  sink.note("_kprobe_blacklist: " + std::to_string(stats.sites) + " ranges, " + std::to_string(bytes) +
            " bytes where kprobes may not be placed" +
            (unsized > 0 ? " (" + std::to_string(unsized) + " entries have no sized symbol)" : ""));
  return Ok{};
}

}  // namespace

Result<ByteView, Diagnostic> SiteSink::site_bytes(const std::string& table, uint64_t entry, uint64_t va,
                                                  uint64_t length) const {
  const Section* home = image_.section_at(va);
  if (home == nullptr || !home->executable()) {
    return Err{image_.error(table + " entry " + std::to_string(entry) + ": site " + hex(va) +
                            " is outside kernel text")};
  }
  auto bytes = image_.bytes_at(va, length);
  if (!bytes.ok()) {
    return Err{image_.error(table + " entry " + std::to_string(entry) + ": " + std::to_string(length) +
                            " bytes at " + hex(va) + " run past the end of " + home->name)};
  }
  return bytes.value();
}

bool SiteSink::in_replacement(uint64_t va) const {
  const Section* home = image_.section_at(va);
  return home != nullptr && home->name == ".altinstr_replacement";
}

bool SiteSink::text_offset(uint64_t va, uint32_t& offset) const {
  if (va < text_va() || va - text_va() > UINT32_MAX) return false;
  offset = static_cast<uint32_t>(va - text_va());
  return true;
}

bool SiteSink::add(SiteTableStats& stats, PatchSite site) {
  uint32_t offset = 0;
  if (!text_offset(site.address, offset) || site.length > policy::kMaxSiteLength) {
    // Boot patching (apply_alternatives) writes these before the kernel
    // registers with the monitor; afterwards they stay locked.
    if (unexpressible_.size() < 4 &&
        std::find(unexpressible_.begin(), unexpressible_.end(), site.address) == unexpressible_.end()) {
      unexpressible_.push_back(site.address);
    }
    ++unexpressible_count_;
    ++stats.skipped;
    return false;
  }
  if (site.patterns.size() > policy::kMaxPatternsPerSite) {
    ++truncated_;
    site.patterns.resize(policy::kMaxPatternsPerSite);
  }
  out_.sites.push_back(std::move(site));
  ++stats.sites;
  return true;
}

void SiteSink::finish() {
  if (unexpressible_count_ > 0) {
    std::string examples;
    for (uint64_t va : unexpressible_) examples += (examples.empty() ? "" : ", ") + hex(va);
    note(std::to_string(unexpressible_count_) + " site entries are longer than 16 bytes (for example " +
         examples + "); the policy cannot express them, so they stay locked after registration");
  }
  if (truncated_ > 0) {
    note(std::to_string(truncated_) +
         " sites have more than 16 legitimate patterns; the extra ones were dropped");
  }
}

Result<void, Diagnostic> collect_patch_sites(const ElfImage& image, Analysis& out) {
  const auto started = std::chrono::steady_clock::now();
  if (out.kernel.text_va == 0) out.kernel.text_va = image.text_base();
  if (out.kernel.layout == KernelLayout::kUnknown) out.kernel.layout = VG_TRY(detect_layout(image));
  out.sites.clear();
  out.site_tables.clear();
  SiteSink sink(image, out);
  using Reader = Result<void, Diagnostic> (*)(SiteSink&, SiteTableStats&);
  const Reader readers[] = {read_returns,  read_alternatives, read_jump_labels, read_static_calls,
                            read_mcount,   read_retpolines,   read_call_sites,  read_endbr_seal,
                            read_paravirt, read_smp_locks};
  for (Reader reader : readers) {
    SiteTableStats stats;
    VG_TRY_VOID(reader(sink, stats));
    if (stats.entries > 0 || stats.sites > 0) out.site_tables.push_back(std::move(stats));
  }
  VG_TRY_VOID(read_runtime_consts(sink, out.site_tables));
  SiteTableStats blacklist;
  VG_TRY_VOID(read_kprobe_blacklist(sink, blacklist));
  if (blacklist.entries > 0) out.site_tables.push_back(std::move(blacklist));
  sink.finish();
  std::stable_sort(out.sites.begin(), out.sites.end(),
                   [](const PatchSite& a, const PatchSite& b) { return a.address < b.address; });
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.timings.push_back({"patch_sites", took.count()});
  return Ok{};
}

}  // namespace vg::analyzer
