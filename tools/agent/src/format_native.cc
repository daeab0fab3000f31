#include <array>
#include <cstring>
#include <memory>

#include "agent/format.h"
#include "agent/stack_cache.h"
#include "json_out.h"
#include "json_writer.h"
#include "policy/format.h"

namespace vg::agent {

namespace {

constexpr struct {
  uint16_t bit;
  const char* name;
} kSiteKindNames[] = {
    {policy::kSiteAlternative, "alternative"},
    {policy::kSiteJumpLabel, "jump_label"},
    {policy::kSiteStaticCall, "static_call"},
    {policy::kSiteFtrace, "ftrace"},
    {policy::kSiteRetpoline, "retpoline"},
    {policy::kSiteReturn, "return"},
    {policy::kSiteCall, "call"},
    {policy::kSiteEndbrSeal, "endbr_seal"},
    {policy::kSiteParavirt, "paravirt"},
    {policy::kSiteRuntimeConst, "runtime_const"},
    {policy::kSiteSmpLock, "smp_lock"},
};

// The monitor's own record (rare: only on kernels with the guest patches).
void monitor_object(std::string& out, const Event& event) {
  const vg_record& record = event.record;
  json::key(out, "monitor");
  out.push_back('{');
  json::field_u64(out, "sequence", record.sequence);
  json::field_u64(out, "tsc", record.tsc);
  json::field(out, "verdict", monitor_verdict_name(record.verdict));
  json::field_u64(out, "vmpl", record.vmpl);
  json::field_u64(out, "vcpu", record.vcpu);
  json::field_hex(out, "rip", record.rip);
  json::field_hex(out, "gpa", record.gpa);
  json::field_u64(out, "detail", record.detail);
  json::field_hex(out, "value", record.value);
  json::field(
      out, "tracepoint",
      event.from_request_tracepoint ? "vmplguard:vmplguard_request" : "vmplguard:vmplguard_violation");
  json::close(out, '}');
  out.push_back(',');
}

// The parts of a record that only depend on the context, escaped once: the
// host field and the trailer (kernel object, policy digest, closing brace).
// Rebuilt when the context's contents change; comparing them costs far less
// than escaping them for every record.
struct ContextText {
  std::string hostname, release, build_id, digest;
  uint64_t kaslr_offset = 0;
  bool valid = false;
  std::string host_field;
  std::string trailer;
};

const ContextText& context_text(const FormatContext& context) {
  thread_local ContextText cached;
  if (cached.valid && cached.kaslr_offset == context.kaslr_offset && cached.hostname == context.hostname &&
      cached.release == context.kernel_release && cached.build_id == context.build_id_hex &&
      cached.digest == context.policy_digest_hex) {
    return cached;
  }
  cached.hostname = context.hostname;
  cached.release = context.kernel_release;
  cached.build_id = context.build_id_hex;
  cached.digest = context.policy_digest_hex;
  cached.kaslr_offset = context.kaslr_offset;
  cached.host_field.clear();
  json::field_string(cached.host_field, "host", context.hostname);
  std::string& out = cached.trailer;
  out.clear();
  json::key(out, "kernel");
  out.push_back('{');
  json::field_string(out, "release", context.kernel_release);
  json::field_string(out, "build_id", context.build_id_hex);
  json::field_hex(out, "kaslr_offset", context.kaslr_offset);
  json::close(out, '}');
  out.push_back(',');
  json::field_string(out, "policy_digest", context.policy_digest_hex);
  json::close(out, '}');
  cached.valid = true;
  return cached;
}

// A formatted time, kept so that a record's equal stamps (time and
// last_seen always, first_seen too when nothing was merged) cost one format.
struct TimeText {
  uint64_t boot_ns = 0;
  size_t length = 0;
  char text[kRfc3339Max];
};

void time_field(json::Writer& w, const FormatContext& context, uint64_t boot_ns, TimeText& memo) {
  if (memo.length == 0 || memo.boot_ns != boot_ns) {
    memo.boot_ns = boot_ns;
    memo.length = format_rfc3339(memo.text, context, boot_ns);
  }
  char* at = w.cursor(memo.length + 3);
  at[0] = '"';
  std::memcpy(at + 1, memo.text, memo.length);
  at[memo.length + 1] = '"';
  at[memo.length + 2] = ',';
  w.advance(memo.length + 3);
}

void hex_field(json::Writer& w, uint64_t value) {
  w.put('"');
  w.hex_u64(value);
  w.literal("\",");
}

void symbol_or_null(json::Writer& w, const Symbol& symbol) {
  if (symbol.space == Space::kNone) {
    w.literal("null,");
    return;
  }
  w.put('"');
  w.symbol(symbol);
  w.literal("\",");
}

// A stack frame: its symbol, or the raw address when it has none.
void frame(json::Writer& w, const Symbol& symbol, uint64_t address) {
  w.put('"');
  if (symbol.space == Space::kNone) {
    w.hex_u64(address);
  } else {
    w.symbol(symbol);
  }
  w.literal("\",");
}

// The "stack" array and "culprit" field of a distinct stack, kept per
// thread: a repeated call chain is formatted once. Keyed by the raw frames
// and the finding's stack epoch, which fix the frames' symbols. Bounded:
// 256 entries of 1 KiB; a longer text is not kept.
struct StackText {
  uint16_t length = 0;
  std::array<char, 1022> text{};
};
using StackTextCache = StackCache<StackText, 256>;

StackTextCache& stack_texts() {
  thread_local std::unique_ptr<StackTextCache> cache = std::make_unique<StackTextCache>();
  return *cache;
}

void stack_and_culprit(json::Writer& w, const Finding& finding) {
  const Event& event = finding.event;
  StackTextCache& cache = stack_texts();
  if (finding.stack_epoch != 0) {
    if (const StackText* known = cache.find(event.frames.data(), finding.frame_count, finding.stack_epoch)) {
      w.raw(known->text.data(), known->length);
      return;
    }
  }
  const size_t start = w.written();
  for (size_t i = 0; i < finding.frame_count; ++i) frame(w, finding.frames[i], event.frames[i]);
  w.close(']');
  w.literal(",\"culprit\":");
  if (finding.culprit_frame >= 0) {
    const auto index = static_cast<size_t>(finding.culprit_frame);
    frame(w, finding.frames[index], event.frames[index]);
  } else {
    w.literal("null,");
  }
  const size_t length = w.written() - start;
  if (finding.stack_epoch == 0 || length > StackText{}.text.size()) return;
  StackText& entry = cache.insert(event.frames.data(), finding.frame_count, finding.stack_epoch);
  entry.length = static_cast<uint16_t>(length);
  std::memcpy(entry.text.data(), w.written_at(start), length);
}

}  // namespace

// Field order and spelling are the schema (docs/agent-schema.md); the golden
// files in tests/agent/golden hold this formatter to it byte for byte.
void format_native(std::string& out, const Finding& finding, const FormatContext& context) {
  const Event& event = finding.event;
  const ContextText& fixed = context_text(context);
  json::Writer w(out);
  TimeText time;
  w.literal("{\"schema\":\"");
  w.name(kNativeSchema);
  w.literal("\",\"seq\":");
  w.u64(finding.sequence);
  w.literal(",\"time\":");
  time_field(w, context, finding.last_seen_ns, time);
  w.raw(fixed.host_field.data(), fixed.host_field.size());
  w.literal("\"kind\":\"");
  w.name(finding_kind(finding));
  w.literal("\",\"verdict\":\"");
  w.name(to_string(finding.verdict));
  w.literal("\",\"reason\":\"");
  w.name(to_string(finding.reason));
  w.literal("\",");
  if (event.type == EventType::kTelemetryLoss) {
    w.literal("\"lost\":");
    w.u64(finding.lost_since_last);
    w.literal(",\"lost_total\":");
    w.u64(finding.lost_total);
    w.put(',');
  } else {
    w.literal("\"origin\":\"");
    w.name(to_string(event.origin));
    w.literal("\",\"address\":");
    hex_field(w, event.address);
    w.literal("\"text_offset\":");
    if (finding.has_text_offset) {
      hex_field(w, finding.text_offset);
    } else {
      w.literal("null,");
    }
    w.literal("\"symbol\":");
    symbol_or_null(w, finding.target);
    w.literal("\"object\":");
    if (finding.object != nullptr) {
      w.put('"');
      w.name(finding.object_name);
      w.literal("\",");
    } else {
      w.literal("null,");
    }
    w.literal("\"site_kinds\":[");
    for (const auto& kind : kSiteKindNames) {
      if ((finding.site_kinds & kind.bit) != 0) {
        w.put('"');
        w.name(kind.name);
        w.literal("\",");
      }
    }
    w.close(']');
    w.literal(",\"size\":");
    w.u64(event.size);
    w.literal(",\"bytes\":\"");
    w.hex_bytes(event.bytes.data(), event.length);
    w.literal("\",");
    if (finding.has_call_target) {
      w.literal("\"call_target\":");
      hex_field(w, finding.call_target);
      w.literal("\"call_target_symbol\":");
      symbol_or_null(w, finding.call_target_symbol);
    }
    w.literal("\"value\":");
    hex_field(w, event.value);
    if (event.name_length > 0) {
      w.literal("\"module\":\"");
      w.escaped(event.name.data(), event.name_length);
      w.literal("\",");
    }
    w.literal("\"process\":{\"pid\":");
    w.u64(event.pid);
    w.literal(",\"tgid\":");
    w.u64(event.tgid);
    w.literal(",\"comm\":\"");
    w.escaped(event.comm.data(), event.comm_length);
    w.literal("\"},\"cpu\":");
    w.u64(event.cpu);
    w.literal(",\"stack\":[");
    stack_and_culprit(w, finding);
    if (event.type == EventType::kMonitorRecord) {
      std::string text;  // rare: only on kernels with the guest patches
      monitor_object(text, event);
      w.raw(text.data(), text.size());
    }
  }
  w.literal("\"count\":");
  w.u64(finding.count);
  w.literal(",\"first_seen\":");
  time_field(w, context, finding.first_seen_ns, time);
  w.literal("\"last_seen\":");
  time_field(w, context, finding.last_seen_ns, time);
  w.raw(fixed.trailer.data(), fixed.trailer.size());
}

}  // namespace vg::agent
