#include "agent/record_session.h"

#include <cstdio>
#include <cstring>

#include "agent/probe_event.h"
#include "base/sha256.h"

namespace vg::agent {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string hex_u64(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string hex_bytes(const uint8_t* bytes, size_t length) {
  std::string text;
  char pair[3];
  for (size_t i = 0; i < length; ++i) {
    std::snprintf(pair, sizeof(pair), "%02x", bytes[i]);
    text += pair;
  }
  return text;
}

// A kernel-supplied name as one word of a note: printable, no spaces.
std::string note_word(std::string_view name) {
  std::string word = name.empty() ? "_" : std::string(name);
  for (char& c : word) {
    if (c <= 0x20 || c >= 0x7f) c = '_';
  }
  return word;
}

// The machinery a function belongs to, by the kernel's naming; kNone for the
// patching layer itself and for everything else.
enum class Machinery { kNone, kJumpLabel, kStaticCall, kFtrace, kKprobe, kBpf };

Machinery machinery_of(std::string_view name) {
  if (name.empty() || starts_with(name, "text_poke") || starts_with(name, "__text_poke") ||
      starts_with(name, "smp_text_poke")) {
    return Machinery::kNone;
  }
  if (contains(name, "jump_label") || contains(name, "static_key")) return Machinery::kJumpLabel;
  if (contains(name, "static_call")) return Machinery::kStaticCall;
  if (contains(name, "kprobe")) return Machinery::kKprobe;
  if (contains(name, "ftrace")) return Machinery::kFtrace;
  if (starts_with(name, "bpf_") || starts_with(name, "__bpf_") || contains(name, "_bpf_"))
    return Machinery::kBpf;
  return Machinery::kNone;
}

}  // namespace

BatchOrigin origin_from_stack(const uint64_t* frames, size_t count, const FrameNamer& namer) {
  for (size_t i = 0; i < count; ++i) {
    switch (machinery_of(namer(frames[i]))) {
      case Machinery::kNone: break;
      case Machinery::kJumpLabel: return BatchOrigin::kJumpLabel;
      case Machinery::kStaticCall: return BatchOrigin::kStaticCall;
      case Machinery::kFtrace: return BatchOrigin::kFtrace;
      case Machinery::kKprobe: return BatchOrigin::kKprobe;
      case Machinery::kBpf: return BatchOrigin::kBpf;
    }
  }
  return BatchOrigin::kUnknown;
}

RecordSession::RecordSession(TraceWriter& writer, RecordLayout layout, FrameNamer namer)
    : writer_(writer), layout_(layout), namer_(std::move(namer)) {}

uint64_t RecordSession::link_va(uint64_t runtime) const {
  // The format gives kernel-image addresses at link time; anything else
  // (modules, BPF, trampolines) stays a runtime address.
  if (runtime >= layout_.image_start && runtime < layout_.image_end) return runtime - layout_.kaslr_offset;
  return runtime;
}

bool RecordSession::has_bpf_frame(const TraceEvent& event) const {
  for (uint32_t i = 0; i < event.frame_count; ++i) {
    if (machinery_of(namer_(event.frames[i])) == Machinery::kBpf) return true;
  }
  return false;
}

Result<void, std::string> RecordSession::on_sample(ByteView sample) {
  auto decoded = decode_trace_sample(sample);
  if (!decoded) {
    // Not counted as decoded: `end` reports it lost. The first few say why.
    if (++decode_errors_ <= 8) {
      VG_TRY_VOID(writer_.note(std::string("undecodable probe record: ") + describe(decoded.error())));
    }
    return Ok{};
  }
  ++decoded_;
  if (auto* event = std::get_if<TraceEvent>(&*decoded)) return on_event(*event);
  if (auto* chunk = std::get_if<TraceChunk>(&*decoded)) return on_chunk(*chunk);
  const auto& other = std::get<OtherProbeEvent>(*decoded);
  if (other.valid && other.event.type == EventType::kKsymbol) return on_ksymbol(other.event);
  return Ok{};  // set_memory_*, JIT allocation: not part of a trace
}

Result<void, std::string> RecordSession::on_ksymbol(const Event& event) {
  // Out-of-line code the kernel registers (ftrace and BPF trampolines): what
  // batch pokes at ftrace sites call. The format has no record for it, so a
  // note of a fixed shape carries it (docs/trace-format.md).
  const char* kind = event.value == 1 ? "bpf" : event.value == 2 ? "ool" : "other";
  const bool unregister = (event.flags & VGP_FLAG_UNREGISTER) != 0;
  return writer_.note(std::string("ksymbol ") + (unregister ? "unregister " : "register ") + kind + " " +
                      hex_u64(event.address) + " " + std::to_string(event.size) + " " +
                      note_word(std::string_view(event.name.data(), event.name_length)));
}

Result<void, std::string> RecordSession::on_event(const TraceEvent& event) {
  switch (event.type) {
    case TraceEventType::kBatchEntry: return on_batch_entry(event);
    case TraceEventType::kPoke: return on_poke(event);
    case TraceEventType::kModule: return on_module(event);
    case TraceEventType::kModuleFree: return writer_.module_free(event.name_view(), event.address);
    case TraceEventType::kCr:
      if (event.index != 0 && event.index != 4)
        return writer_.note("write to unknown control register ignored");
      return writer_.cr(event.index, event.value);
  }
  return Ok{};
}

Result<void, std::string> RecordSession::on_batch_entry(const TraceEvent& event) {
  // text_poke_bp_batch takes at most TP_VEC_MAX (256) entries.
  if (event.size == 0 || event.size > 256 || event.index >= event.size || event.length == 0) {
    ++decode_errors_;
    --decoded_;
    return writer_.note("batch entry with bad index, count or length ignored");
  }
  auto [it, fresh] = batches_.try_emplace(event.sequence);
  PendingBatch& batch = it->second;
  if (fresh) {
    batch.expected = event.size;
    batch.entries.resize(event.size);
    batch.seen.assign(event.size, false);
    batch.origin = event.origin == VGP_ORIGIN_JUMP_LABEL    ? BatchOrigin::kJumpLabel
                   : event.origin == VGP_ORIGIN_STATIC_CALL ? BatchOrigin::kStaticCall
                   : event.origin == VGP_ORIGIN_FTRACE
                       ? BatchOrigin::kFtrace
                       : origin_from_stack(event.frames.data(), event.frame_count, namer_);
  }
  if (event.size != batch.expected || batch.seen[event.index]) {
    ++decode_errors_;
    --decoded_;
    return writer_.note("batch " + hex_u64(event.sequence) + ": inconsistent entry " +
                        std::to_string(event.index) + " ignored");
  }
  if ((event.flags & (VGT_FLAG_OLD_FAULT | VGT_FLAG_NEW_FAULT)) != 0) {
    VG_TRY_VOID(writer_.note("batch " + hex_u64(event.sequence) + " entry at " +
                             hex_u64(link_va(event.address)) + ": bytes unreadable in the probe"));
  }
  TracePatch& patch = batch.entries[event.index];
  patch.va = link_va(event.address);
  patch.length = event.length;
  std::memcpy(patch.old_bytes, event.old_bytes.data(), event.length);
  std::memcpy(patch.new_bytes, event.new_bytes.data(), event.length);
  batch.seen[event.index] = true;
  bool complete = true;
  for (bool seen : batch.seen) complete = complete && seen;
  if (!complete) return Ok{};
  VG_TRY_VOID(write_batch(it->first, batch));
  batches_.erase(it);
  return Ok{};
}

Result<void, std::string> RecordSession::write_batch(uint64_t id, PendingBatch& batch) {
  std::vector<TracePatch> entries;
  for (size_t i = 0; i < batch.entries.size(); ++i) {
    if (batch.seen[i]) entries.push_back(batch.entries[i]);
  }
  if (entries.size() != batch.expected) {
    VG_TRY_VOID(writer_.note("batch " + hex_u64(id) + ": " + std::to_string(entries.size()) + " of " +
                             std::to_string(batch.expected) + " entries recorded (the rest were lost)"));
  }
  if (entries.empty()) return Ok{};
  patches_ += entries.size();
  return writer_.batch(id, batch.origin, entries);
}

Result<void, std::string> RecordSession::on_poke(const TraceEvent& event) {
  const bool memset = layout_.text_poke_memset != 0 && event.value == layout_.text_poke_memset;
  const uint64_t va = link_va(event.address);
  if (event.size == 0) return Ok{};
  if ((event.flags & (VGT_FLAG_OLD_FAULT | VGT_FLAG_NEW_FAULT)) != 0 || event.length == 0) {
    return writer_.note("raw write at " + hex_u64(va) + " of " + std::to_string(event.size) +
                        " bytes: bytes unreadable in the probe");
  }
  TracePatch patch;
  patch.va = va;
  patch.length = event.length;
  std::memcpy(patch.old_bytes, event.old_bytes.data(), event.length);
  if (memset) {
    std::memset(patch.new_bytes, event.new_bytes[0], event.length);
  } else {
    std::memcpy(patch.new_bytes, event.new_bytes.data(), event.length);
  }
  if (event.size <= kTraceMaxBytes) {
    ++patches_;
    return writer_.poke(patch);
  }
  // Longer writes are whole images: the BPF JIT copying a program into its
  // pack (text_poke_copy), or filling freed pack space with int3
  // (text_poke_set). Anything else is kept as a note with its first bytes.
  if (has_bpf_frame(event) && !memset) return writer_.jit(event.address, event.size);
  if (has_bpf_frame(event)) {
    return writer_.note("bpf pack fill " + hex_u64(event.address) + " " + std::to_string(event.size) +
                        " with " + hex_bytes(patch.new_bytes, 1));
  }
  const BatchOrigin by = origin_from_stack(event.frames.data(), event.frame_count, namer_);
  return writer_.note("raw write " + hex_u64(va) + " " + std::to_string(event.size) + " bytes" +
                      (memset ? " (fill)" : "") + " by " + batch_origin_name(by) +
                      ", first 16: " + hex_bytes(patch.old_bytes, patch.length) + " " +
                      hex_bytes(patch.new_bytes, patch.length));
}

Result<void, std::string> RecordSession::on_module(const TraceEvent& event) {
  const uint64_t chunks = (event.size + kTraceChunkSize - 1) / kTraceChunkSize;
  const bool truncated = (event.flags & VGT_FLAG_TRUNCATED) != 0;
  if (event.value > kTraceMaxChunks || (!truncated && event.value != chunks) ||
      (truncated && event.value != kTraceMaxChunks) || modules_.count(event.sequence) != 0) {
    ++decode_errors_;
    --decoded_;
    return writer_.note("module record with an inconsistent chunk count ignored");
  }
  PendingModule module;
  module.name = std::string(event.name_view());
  // The init text (module_init runs there) is its own executable region.
  if ((event.flags & VGT_FLAG_INIT_TEXT) != 0) module.name += ".init";
  module.va = event.address;
  module.size = event.size;
  module.expected_chunks = event.value;
  module.truncated = truncated;
  module.text.assign(std::min<uint64_t>(event.size, kTraceMaxChunks * kTraceChunkSize), 0);
  module.seen.assign(module.expected_chunks, false);
  if (module.expected_chunks == 0) return write_module(module);
  modules_.emplace(event.sequence, std::move(module));
  return Ok{};
}

Result<void, std::string> RecordSession::on_chunk(const TraceChunk& chunk) {
  auto it = modules_.find(chunk.sequence);
  const char* problem = nullptr;
  if (it == modules_.end()) {
    problem = "module text chunk without its module record ignored";
  } else if (chunk.index >= it->second.expected_chunks || it->second.seen[chunk.index]) {
    problem = "module text chunk with a bad or repeated index ignored";
  } else {
    const uint64_t offset = uint64_t{chunk.index} * kTraceChunkSize;
    const uint64_t want = std::min<uint64_t>(kTraceChunkSize, it->second.text.size() - offset);
    if (chunk.length != want) problem = "module text chunk of the wrong length ignored";
  }
  if (problem != nullptr) {
    ++decode_errors_;
    --decoded_;
    return writer_.note(problem);
  }
  PendingModule& module = it->second;
  std::memcpy(module.text.data() + uint64_t{chunk.index} * kTraceChunkSize, chunk.data.data(), chunk.length);
  module.seen[chunk.index] = true;
  if (++module.received_chunks < module.expected_chunks) return Ok{};
  VG_TRY_VOID(write_module(module));
  modules_.erase(it);
  return Ok{};
}

Result<void, std::string> RecordSession::write_module(PendingModule& module) {
  if (module.truncated) {
    // A hash of part of the text would be a wrong hash: say so instead.
    return writer_.note("module " + trace_token(module.name) + " at " + hex_u64(module.va) + ": text of " +
                        std::to_string(module.size) + " bytes is over the 1 MiB record cap; not hashed");
  }
  const Sha256Digest digest = Sha256::of(module.text.data(), module.text.size());
  return writer_.module(module.name, module.va, module.size, digest.bytes);
}

Result<void, std::string> RecordSession::flush_incomplete() {
  for (auto& [id, batch] : batches_) VG_TRY_VOID(write_batch(id, batch));
  batches_.clear();
  for (auto& [sequence, module] : modules_) {
    VG_TRY_VOID(writer_.note("module " + trace_token(module.name) + " at " + hex_u64(module.va) + ": " +
                             std::to_string(module.received_chunks) + " of " +
                             std::to_string(module.expected_chunks) +
                             " text chunks recorded (the rest were lost); not hashed"));
  }
  modules_.clear();
  return Ok{};
}

Result<void, std::string> RecordSession::switch_phase(std::string_view name) {
  VG_TRY_VOID(flush_incomplete());
  VG_TRY_VOID(writer_.phase(name));
  return writer_.flush();
}

Result<void, std::string> RecordSession::finish(uint64_t produced) {
  VG_TRY_VOID(flush_incomplete());
  const uint64_t lost = produced > decoded_ ? produced - decoded_ : 0;
  return writer_.end(decoded_, lost);
}

}  // namespace vg::agent
