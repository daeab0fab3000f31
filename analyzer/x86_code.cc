#include "analyzer/x86_code.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstring>

#include "policy/x86_nops.h"

namespace vg::analyzer::x86 {
namespace {

using policy::kX86Nops;

size_t nop_max(KernelLayout layout) {
  return layout == KernelLayout::kLinux61 ? 8 : policy::kX86NopMax;
}

const ZydisDecoder& decoder() {
  static const ZydisDecoder instance = [] {
    ZydisDecoder d;
    ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return d;
  }();
  return instance;
}

// 6.1 optimize_nops_range(): a run of single-byte NOPs becomes add_nops().
size_t optimize_range_61(uint8_t* buffer, size_t length, size_t at) {
  size_t end = at;
  while (end < length && buffer[end] == 0x90) ++end;
  const size_t run = end - at;
  if (run > 1) add_nops(KernelLayout::kLinux61, buffer + at, run);
  return run;
}

size_t skip_nops(const uint8_t* buffer, size_t at, size_t length) {
  while (at < length) {
    auto insn = decode(buffer + at, length - at);
    if (!insn || !insn->nop) break;
    at += insn->length;
  }
  return at;
}

}  // namespace

std::optional<Insn> decode(const uint8_t* bytes, size_t size) {
  ZydisDecodedInstruction raw;
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder(), nullptr, bytes, size, &raw)))
    return std::nullopt;
  Insn insn;
  insn.length = raw.length;
  insn.opcode = raw.opcode;
  insn.two_byte = raw.opcode_map == ZYDIS_OPCODE_MAP_0F;
  const bool legacy = raw.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
  insn.nop = (legacy && raw.opcode == 0x90 && raw.mnemonic == ZYDIS_MNEMONIC_NOP) ||
             (insn.two_byte && raw.opcode == 0x1f);
  for (const auto& imm : raw.raw.imm) {
    if (imm.size != 0 && imm.is_relative) {
      insn.imm_offset = imm.offset;
      insn.imm_size = static_cast<uint8_t>(imm.size / 8);
      insn.imm = imm.value.s;
      break;
    }
  }
  if ((raw.attributes & ZYDIS_ATTRIB_HAS_MODRM) != 0 && raw.raw.modrm.mod == 0 && raw.raw.modrm.rm == 5 &&
      raw.raw.disp.size == 32) {
    insn.disp_offset = raw.raw.disp.offset;
    insn.disp_size = 4;
    insn.disp = raw.raw.disp.value;
  }
  return insn;
}

void add_nops(KernelLayout layout, uint8_t* out, size_t length) {
  const size_t max = nop_max(layout);
  if (layout == KernelLayout::kLinux61) {
    while (length > 0) {
      const size_t chunk = std::min(length, max);
      std::memcpy(out, kX86Nops[chunk - 1], chunk);
      out += chunk;
      length -= chunk;
    }
    return;
  }
  if (length == 0) return;
  if (length <= max) {
    std::memcpy(out, kX86Nops[length - 1], length);
    return;
  }
  size_t used;
  if (length < 128) {
    out[0] = kJmp8;
    out[1] = static_cast<uint8_t>(length - 2);
    used = 2;
  } else {
    out[0] = kJmp32;
    put_rel32(out + 1, static_cast<int64_t>(length) - 5);
    used = 5;
  }
  std::memset(out + used, kInt3, length - used);
}

void optimize_nops(KernelLayout layout, uint8_t* buffer, size_t length) {
  if (layout == KernelLayout::kLinux61) {
    size_t at = 0;
    while (at < length) {
      auto insn = decode(buffer + at, length - at);
      if (!insn) return;
      if (insn->length == 1 && buffer[at] == 0x90) {
        at += optimize_range_61(buffer, length, at);
      } else {
        at += insn->length;
      }
    }
    return;
  }
  // 6.12: a NOP run, possibly preceded by a jump to its end, becomes one
  // add_nop() (__optimize_nops()).
  size_t previous = 0;
  size_t target = 0;
  for (size_t at = 0, next = 0; at < length; at = next) {
    auto insn = decode(buffer + at, length - at);
    if (!insn) return;
    next = at + insn->length;
    if (!insn->two_byte && (insn->opcode == kJmp8 || insn->opcode == kJmp32) && insn->relative_branch()) {
      previous = at;
      const int64_t to = static_cast<int64_t>(next) + insn->imm;
      target = to > 0 ? static_cast<size_t>(to) : 0;
      continue;
    }
    if (insn->nop) {
      size_t nop = at;
      next = skip_nops(buffer, next, length);
      if (target != 0 && next == target) nop = previous;
      add_nops(layout, buffer + nop, next - nop);
      continue;
    }
    target = 0;
  }
}

void put_rel32(uint8_t* out, int64_t displacement) {
  const auto value = static_cast<uint32_t>(static_cast<int32_t>(displacement));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

int32_t get_rel32(const uint8_t* at) {
  int32_t value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

}  // namespace vg::analyzer::x86
