// .altinstructions: replays apply_alternatives() of the analysed kernel to
// predict every byte sequence boot patching may leave at each site.
//
// A site may hold its original bytes (feature absent), those bytes after
// optimize_nops(), or the replacement as the kernel writes it: copied from
// .altinstr_replacement, NOP-padded to the site's length, with relative
// branches (and, in 6.12, RIP-relative operands) re-encoded for the site.
// Each alt_instr entry is decoded from its self-relative fields; see
// kernel-facts.md for the 6.1 (12-byte) and 6.12 (14-byte packed) layouts.
#include <array>
#include <cstring>

#include "analyzer/layout.h"
#include "analyzer/patch_sites_internal.h"
#include "analyzer/x86_code.h"

namespace vg::analyzer {
namespace {

constexpr size_t kBufferSize = 256;  // MAX_PATCH_LEN in the kernel is 255 - 1

struct AltEntry {
  uint64_t instr = 0;
  uint64_t replacement = 0;
  uint16_t cpuid = 0;
  bool inverted = false;     // patch if the feature is absent
  bool direct_call = false;  // 6.12 ALT_FLAG_DIRECT_CALL (former paravirt calls)
  uint8_t instr_length = 0;
  uint8_t replacement_length = 0;
};

AltEntry decode_entry(KernelLayout layout, uint64_t va, const uint8_t* entry) {
  AltEntry alt;
  alt.instr = self_relative(va, entry);
  alt.replacement = self_relative(va + 4, entry + 4);
  if (layout == KernelLayout::kLinux61) {
    const uint16_t cpuid = read_u16(entry + 8);
    alt.cpuid = cpuid & 0x7fff;
    alt.inverted = (cpuid & 0x8000) != 0;  // ALTINSTR_FLAG_INV
    alt.instr_length = entry[10];
    alt.replacement_length = entry[11];
  } else {
    const uint32_t ft_flags = read_u32(entry + 8);
    alt.cpuid = static_cast<uint16_t>(ft_flags & 0xffff);
    alt.inverted = (ft_flags >> 16 & 1u) != 0;     // ALT_FLAG_NOT
    alt.direct_call = (ft_flags >> 16 & 2u) != 0;  // ALT_FLAG_DIRECT_CALL
    alt.instr_length = entry[12];
    alt.replacement_length = entry[13];
  }
  return alt;
}

// 6.1 recompute_jump(): a 5-byte jmp replacement is re-aimed at its target
// from the site, shortened to jmp8 + NOPs when the target is near.
void recompute_jump_61(const AltEntry& alt, uint8_t* buffer) {
  if (alt.replacement_length != 5) return;
  const int64_t old_displacement = x86::get_rel32(buffer + 1);
  const int64_t target = static_cast<int64_t>(alt.replacement) + 5 + old_displacement;
  const int64_t displacement = target - static_cast<int64_t>(alt.instr);
  if (displacement >= 0 && displacement - 2 <= 127) {
    buffer[0] = x86::kJmp8;
    buffer[1] = static_cast<uint8_t>(static_cast<int8_t>(displacement - 2));
    x86::add_nops(KernelLayout::kLinux61, buffer + 2, 3);
  } else {
    buffer[0] = x86::kJmp32;
    x86::put_rel32(buffer + 1, displacement - 5);
  }
}

// 6.12 apply_relocation(): every branch and RIP-relative operand whose target
// lies outside the replacement is shifted by (replacement - site); jmp32
// becomes jmp8 + int3 when it fits. False if the kernel would BUG().
bool apply_relocation_612(uint8_t* buffer, size_t length, const AltEntry& alt) {
  const int64_t shift = static_cast<int64_t>(alt.replacement) - static_cast<int64_t>(alt.instr);
  const auto needs_relocation = [&](int64_t offset) {
    return offset < 0 || offset > static_cast<int64_t>(alt.replacement_length);
  };
  size_t previous = 0;
  size_t nop_target = 0;
  for (size_t at = 0, next = 0; at < length; at = next) {
    auto insn = x86::decode(buffer + at, length - at);
    if (!insn) return false;  // the kernel WARNs and leaves the buffer as is
    next = at + insn->length;
    // __optimize_nops() first, as the kernel does.
    if (!insn->two_byte && (insn->opcode == x86::kJmp8 || insn->opcode == x86::kJmp32) &&
        insn->relative_branch()) {
      previous = at;
      const int64_t to = static_cast<int64_t>(next) + insn->imm;
      nop_target = to > 0 ? static_cast<size_t>(to) : 0;
    } else if (insn->nop) {
      size_t nop = at;
      while (next < length) {
        auto following = x86::decode(buffer + next, length - next);
        if (!following || !following->nop) break;
        next += following->length;
      }
      if (nop_target != 0 && next == nop_target) nop = previous;
      x86::add_nops(KernelLayout::kLinux612, buffer + nop, next - nop);
      continue;
    } else {
      nop_target = 0;
    }
    const bool branch =
        insn->relative_branch() &&
        ((!insn->two_byte && ((insn->opcode >= 0x70 && insn->opcode <= 0x7f) || insn->opcode == x86::kJmp8 ||
                              insn->opcode == x86::kJmp32 || insn->opcode == x86::kCall)) ||
         (insn->two_byte && insn->opcode >= 0x80 && insn->opcode <= 0x8f));
    if (branch) {
      int64_t imm = insn->imm;
      if (needs_relocation(static_cast<int64_t>(next) + imm)) {
        imm += shift;
        const int64_t bits = insn->imm_size * 8;
        if (imm < -(int64_t{1} << (bits - 1)) || imm >= (int64_t{1} << (bits - 1))) return false;
        for (size_t i = 0; i < insn->imm_size; ++i) {
          buffer[at + insn->imm_offset + i] = static_cast<uint8_t>(static_cast<uint64_t>(imm) >> (8 * i));
        }
      }
      if (!insn->two_byte && insn->opcode == x86::kJmp32) {
        // The kernel adds the shift to the decoded displacement whether or
        // not it relocated; replay that exactly.
        const int64_t short_imm = static_cast<int64_t>(static_cast<int32_t>(insn->imm + shift + 3));
        if (short_imm >= -128 && short_imm <= 127) {
          buffer[at] = x86::kJmp8;
          buffer[at + 1] = static_cast<uint8_t>(static_cast<int8_t>(short_imm));
          std::memset(buffer + at + 2, x86::kInt3, insn->length - 2u);
        }
      }
      continue;
    }
    if (insn->rip_relative() && needs_relocation(static_cast<int64_t>(next) + insn->disp)) {
      const int64_t disp = insn->disp + shift;
      if (disp < INT32_MIN || disp > INT32_MAX) return false;
      x86::put_rel32(buffer + at + insn->disp_offset, disp);
    }
  }
  return true;
}

}  // namespace

Result<void, Diagnostic> read_alternatives(SiteSink& sink, SiteTableStats& stats) {
  const ElfImage& image = sink.image();
  const KernelLayout layout = sink.layout();
  stats.section = ".altinstructions";
  auto table = VG_TRY(find_table(
      image, {".altinstructions", "__alt_instructions", "__alt_instructions_end", ".altinstructions"}));
  if (!table) return Ok{};
  if (layout == KernelLayout::kUnknown) {
    sink.note(".altinstructions: layout unknown, alternatives not decoded");
    return Ok{};
  }
  const uint64_t entry_size = layout == KernelLayout::kLinux61 ? kAltEntry61 : kAltEntry612;
  stats.entry_size = entry_size;
  stats.entries = VG_TRY(entry_count(image, *table, entry_size));
  const auto nop_func_va = image.symbol_address("nop_func");
  uint64_t unrelocatable = 0;
  for (uint64_t i = 0; i < stats.entries; ++i) {
    const uint64_t va = table->address + i * entry_size;
    const AltEntry alt = decode_entry(layout, va, table->bytes.data + i * entry_size);
    if (alt.instr_length == 0) {
      ++stats.skipped;
      continue;
    }
    const ByteView original = VG_TRY(sink.site_bytes(".altinstructions", i, alt.instr, alt.instr_length));
    if (alt.replacement_length > alt.instr_length) {
      return Err{image.error(".altinstructions entry " + std::to_string(i) + " at " + hex(va) +
                             ": replacement (" + std::to_string(alt.replacement_length) +
                             " bytes) longer than the site (" + std::to_string(alt.instr_length) + ")")};
    }
    ByteView replacement{};
    if (alt.replacement_length > 0) {
      auto bytes = image.bytes_at(alt.replacement, alt.replacement_length);
      if (!bytes.ok()) {
        return Err{image.error(".altinstructions entry " + std::to_string(i) + " at " + hex(va) +
                               ": replacement " + hex(alt.replacement) + " is outside the file")};
      }
      replacement = bytes.value();
    }
    if (sink.in_replacement(alt.instr)) {
      // Nested alternative inside replacement code: its bytes are copied by
      // the outer entry; the outer site's patterns use the on-disk copy.
      ++stats.skipped;
      continue;
    }
    PatchSite site;
    site.address = alt.instr;
    site.kind = policy::kSiteAlternative;
    site.length = alt.instr_length;
    site.target = alt.replacement;
    std::vector<std::vector<uint8_t>> forms;
    const auto add_form = [&forms](std::vector<uint8_t> bytes) {
      for (const auto& form : forms) {
        if (form == bytes) return;
      }
      forms.push_back(std::move(bytes));
    };
    const size_t length = alt.instr_length;
    std::array<uint8_t, kBufferSize> buffer{};
    // Feature absent: the original, possibly with its NOPs optimised.
    add_form(std::vector<uint8_t>(original.data, original.data + length));
    std::memcpy(buffer.data(), original.data, length);
    x86::optimize_nops(layout, buffer.data(), length);
    add_form(std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(length)));

    // Feature present: the replacement as the kernel writes it.
    if (alt.direct_call) {
      if (layout != KernelLayout::kLinux612) {
        return Err{
            image.error(".altinstructions entry " + std::to_string(i) + ": direct-call flag in a 6.1 table")};
      }
      // alt_replace_call(): `call *pv_ops_slot(%rip)` becomes a direct call
      // to the slot's value at boot. The value on disk is the native
      // default; a hypervisor's guest setup may change it first, so any
      // function is allowed, as is the NOP form for nop_func.
      if (length != 6 || original.data[0] != 0xff || original.data[1] != 0x15 ||
          alt.replacement_length != 5) {
        return Err{image.error(".altinstructions entry " + std::to_string(i) + " at " + hex(va) +
                               ": direct-call alternative on something other than call *disp(%rip)")};
      }
      const uint64_t slot =
          alt.instr + 6 + static_cast<uint64_t>(static_cast<int64_t>(x86::get_rel32(original.data + 2)));
      auto slot_bytes = image.bytes_at(slot, 8);
      uint32_t target_offset = 0;
      if (slot_bytes.ok() && sink.text_offset(read_u64(slot_bytes->data), target_offset) &&
          (!nop_func_va || read_u64(slot_bytes->data) != *nop_func_va)) {
        site.patterns.push_back(policy::PatternSpec::call(target_offset, static_cast<uint8_t>(length)));
      }
      site.patterns.push_back(policy::PatternSpec::call_any_function(static_cast<uint8_t>(length)));
      site.patterns.push_back(policy::PatternSpec::nop(static_cast<uint8_t>(length)));
    } else {
      // apply_returns() runs before apply_alternatives() and rewrites the
      // return sites inside replacement code too, so each return form there
      // yields its own replacement.
      std::vector<std::vector<uint8_t>> sources = {
          std::vector<uint8_t>(replacement.data, replacement.data + replacement.size)};
      for (uint64_t ret : sink.replacement_returns()) {
        if (ret < alt.replacement || ret + 5 > alt.replacement + alt.replacement_length) continue;
        const size_t at = static_cast<size_t>(ret - alt.replacement);
        const size_t count = sources.size();
        for (size_t v = 0; v < count; ++v) {
          std::vector<uint8_t> as_ret = sources[v];
          const uint8_t ret_int3[] = {x86::kRet, x86::kInt3, x86::kInt3, x86::kInt3, x86::kInt3};
          std::memcpy(as_ret.data() + at, ret_int3, 5);
          sources.push_back(std::move(as_ret));
          for (uint64_t thunk : sink.return_thunks()) {
            std::vector<uint8_t> as_jmp = sources[v];
            as_jmp[at] = x86::kJmp32;
            x86::put_rel32(as_jmp.data() + at + 1,
                           static_cast<int64_t>(thunk) - static_cast<int64_t>(ret + 5));
            sources.push_back(std::move(as_jmp));
          }
          if (sources.size() > 64) break;  // bounded for hostile input
        }
      }
      for (const std::vector<uint8_t>& source : sources) {
        buffer.fill(0);
        if (!source.empty()) std::memcpy(buffer.data(), source.data(), source.size());
        const size_t used = alt.replacement_length;
        bool valid = true;
        if (layout == KernelLayout::kLinux61) {
          if (alt.replacement_length == 5 && buffer[0] == x86::kCall) {
            const int64_t rel = x86::get_rel32(buffer.data() + 1);
            x86::put_rel32(buffer.data() + 1,
                           rel + static_cast<int64_t>(alt.replacement) - static_cast<int64_t>(alt.instr));
          }
          if (alt.replacement_length > 0 && (source[0] == x86::kJmp8 || source[0] == x86::kJmp32)) {
            recompute_jump_61(alt, buffer.data());
          }
          std::memset(buffer.data() + used, 0x90, length - used);
          x86::optimize_nops(layout, buffer.data(), length);
        } else {
          std::memset(buffer.data() + used, 0x90, length - used);
          if (!apply_relocation_612(buffer.data(), length, alt)) {
            ++unrelocatable;
            valid = false;
          }
        }
        if (valid)
          add_form(std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(length)));
      }
    }
    for (auto& form : forms) site.patterns.push_back(policy::PatternSpec::literal_bytes(std::move(form)));
    sink.add(stats, std::move(site));
  }
  if (unrelocatable > 0) {
    sink.note(
        ".altinstructions: " + std::to_string(unrelocatable) +
        " replacements the kernel could not relocate either (it would WARN or BUG); only their original "
        "bytes are allowed");
  }
  return Ok{};
}

}  // namespace vg::analyzer
