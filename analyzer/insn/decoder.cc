#include "analyzer/insn/decoder.h"

#include <capstone/capstone.h>

#include <utility>

#include "analyzer/insn/gap_table.h"
#include "analyzer/insn/prefixes.h"

namespace vg::analyzer::insn {
namespace {

bool is_vmmcall_with_rep(const uint8_t* code, size_t length) {
  const Prefixes prefixes = read_prefixes(code, length);
  return prefixes.last_rep != 0 && prefixes.length + 3u == length && code[prefixes.length] == 0x0F &&
         code[prefixes.length + 1] == 0x01 && code[prefixes.length + 2] == 0xD9;
}

// LOCK 0F 22 /r or LOCK 0F 20 /r: three opcode bytes after the prefixes, the
// ModRM mod field ignored [APM3 MOV(CRn)].
bool is_lock_mov_cr(const uint8_t* code, size_t size, size_t& length) {
  const Prefixes prefixes = read_prefixes(code, size);
  if (!prefixes.complete || !prefixes.lock) return false;
  const size_t end = prefixes.length + 3u;
  if (end > size || end > kMaxInsnLength) return false;
  const uint8_t* op = code + prefixes.length;
  if (op[0] != 0x0F || (op[1] != 0x22 && op[1] != 0x20)) return false;
  length = end;
  return true;
}

}  // namespace

Result<Decoder, std::string> Decoder::open() {
  Decoder decoder;
  csh handle = 0;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
    return Err{std::string("capstone: cannot open an x86-64 handle")};
  }
  decoder.handle_ = handle;
  // Detail off: the classification reads bytes, and detail costs a third of
  // the decoding time (kernel-facts.md).
  if (cs_option(handle, CS_OPT_DETAIL, CS_OPT_OFF) != CS_ERR_OK) {
    return Err{std::string("capstone: cannot turn detail off")};
  }
  decoder.insn_ = cs_malloc(handle);
  if (decoder.insn_ == nullptr) return Err{std::string("capstone: cannot allocate an instruction")};
  return decoder;
}

Decoder::Decoder(Decoder&& other) noexcept
    : handle_(std::exchange(other.handle_, 0)), insn_(std::exchange(other.insn_, nullptr)) {}

Decoder& Decoder::operator=(Decoder&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, 0);
    insn_ = std::exchange(other.insn_, nullptr);
  }
  return *this;
}

Decoder::~Decoder() {
  close();
}

void Decoder::close() {
  if (insn_ != nullptr) cs_free(insn_, 1);
  insn_ = nullptr;
  if (handle_ != 0) {
    csh handle = handle_;
    cs_close(&handle);
  }
  handle_ = 0;
}

DecodedInsn Decoder::decode(const uint8_t* code, size_t size, uint64_t address) {
  DecodedInsn out;
  const uint8_t* cursor = code;
  size_t left = size < kMaxInsnLength ? size : kMaxInsnLength;
  uint64_t at = address;
  if (cs_disasm_iter(handle_, &cursor, &left, &at, insn_)) {
    const size_t length = insn_->size;
    out.classification = classify(code, length);
    if (!out.classification.valid) return DecodedInsn{};
    out.length = static_cast<uint8_t>(length);
    if (insn_->id == X86_INS_VMMCALL && is_vmmcall_with_rep(code, length)) {
      out.source = DecodeSource::kVmgexit;
    }
    return out;
  }
  size_t length = 0;
  if (find_gap_insn(code, size, length) != nullptr) {
    out.source = DecodeSource::kGapTable;
  } else if (is_lock_mov_cr(code, size, length)) {
    out.source = DecodeSource::kLockCr8;
  } else {
    return out;
  }
  out.classification = classify(code, length);
  if (!out.classification.valid) return DecodedInsn{};
  out.length = static_cast<uint8_t>(length);
  return out;
}

std::string Decoder::disassemble(const uint8_t* code, size_t size, uint64_t address) {
  const DecodedInsn decoded = decode(code, size, address);
  if (!decoded.valid()) return "";
  switch (decoded.source) {
    case DecodeSource::kGapTable: {
      size_t length = 0;
      return find_gap_insn(code, size, length)->mnemonic;
    }
    case DecodeSource::kVmgexit: return "vmgexit";
    case DecodeSource::kLockCr8: {
      // Capstone renders the same instruction without its LOCK prefix; the
      // register it names is CR0, which the prefix redirects to CR8.
      const Prefixes prefixes = read_prefixes(code, decoded.length);
      const uint8_t* op = code + prefixes.length;
      uint8_t plain[4] = {0, op[0], op[1], op[2]};
      const uint8_t* start = plain + 1;
      size_t plain_size = 3;
      if (prefixes.rex != 0) {  // keeps REX.B, which names the source register
        plain[0] = prefixes.rex;
        start = plain;
        plain_size = 4;
      }
      std::string text = disassemble(start, plain_size, address);
      const size_t cr0 = text.find("cr0");
      if (cr0 != std::string::npos) text.replace(cr0, 3, "cr8");
      return text;
    }
    case DecodeSource::kCapstone: break;
  }
  std::string text = insn_->mnemonic;
  if (insn_->op_str[0] != '\0') {
    text += ' ';
    text += insn_->op_str;
  }
  return text;
}

}  // namespace vg::analyzer::insn
