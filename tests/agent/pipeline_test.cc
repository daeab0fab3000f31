// The event path end to end without BPF: dedup, drop accounting (every
// produced event is exported or counted dropped), telemetry-loss findings,
// monitor sequence gaps, flushing at SIGTERM and reopening at SIGHUP.
#include "agent/pipeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "agent_fixture.h"

namespace vg::agent {
namespace {

using namespace testing;

// Records what it is given; refuses records while `fail` is set.
class CaptureTransport final : public Transport {
 public:
  explicit CaptureTransport(std::vector<std::string>* records, const bool* fail)
      : records_(records), fail_(fail) {}
  bool send(std::string_view record) override {
    if (*fail_) return false;
    records_->emplace_back(record);
    return true;
  }
  const char* name() const override { return "capture"; }

 private:
  std::vector<std::string>* records_;
  const bool* fail_;
};

struct Harness {
  explicit Harness(uint64_t dedup_window_ns, size_t capacity = 4096) {
    std::vector<Output> outputs;
    Output output;
    output.format = Format::kNative;
    output.transport = std::make_unique<CaptureTransport>(&records, &fail);
    outputs.push_back(std::move(output));
    PipelineOptions options;
    options.dedup_window_ns = dedup_window_ns;
    options.dedup_capacity = capacity;
    options.loss_report_interval_ns = 10'000'000'000;
    pipeline = std::make_unique<Pipeline>(agent.classifier, metrics, context, std::move(outputs), options);
  }
  void feed(const Event& event, uint64_t now) {
    auto bytes = raw_sample(event);
    ++produced;
    pipeline->on_sample(ByteView{bytes.data(), bytes.size()}, now);
  }
  Agent agent;
  Metrics metrics;
  FormatContext context;
  std::vector<std::string> records;
  bool fail = false;
  uint64_t produced = 0;
  std::unique_ptr<Pipeline> pipeline;
};

size_t count_of(const std::string& record) {
  const size_t at = record.find("\"count\":");
  return at == std::string::npos ? 0 : std::stoul(record.substr(at + 8));
}

TEST(Dedup, SameSiteAndBytesWithinTheWindowLeaveAsOneRecordWithACount) {
  Harness h(1'000'000'000);
  const Event patch = text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00});
  for (int i = 0; i < 5; ++i) h.feed(patch, 100 + static_cast<uint64_t>(i));
  h.feed(text_patch(at(0x110), {0xe9, 0x1b, 0, 0, 0}), 200);  // other bytes: its own record
  EXPECT_TRUE(h.records.empty());                             // held until the window closes
  h.pipeline->tick(100 + 999'999'999);
  EXPECT_TRUE(h.records.empty());
  h.pipeline->tick(200 + 1'000'000'000);
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(count_of(h.records[0]), 5u);
  EXPECT_EQ(count_of(h.records[1]), 1u);
  EXPECT_EQ(h.metrics.dedup_suppressed(), 4u);
  EXPECT_EQ(h.metrics.exported(), 6u);
  EXPECT_EQ(h.metrics.classified("text_patch", Verdict::kAllowed), 6u);
}

TEST(Dedup, WindowZeroExportsEveryEventAtOnce) {
  Harness h(0);
  const Event patch = text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00});
  h.feed(patch, 1);
  h.feed(patch, 2);
  EXPECT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.metrics.dedup_suppressed(), 0u);
}

TEST(Dedup, AFullTableExportsItsOldestRecordEarly) {
  Harness h(1'000'000'000, 2);
  h.feed(text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00}), 1);
  h.feed(text_patch(at(0x120), {0x66, 0x90}), 2);
  EXPECT_TRUE(h.records.empty());
  h.feed(text_patch(at(0x104), {0x0f, 0x1f, 0x44, 0x00, 0x00}), 3);
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_NE(h.records[0].find("\"text_offset\":\"0x110\""), std::string::npos);
}

TEST(Dedup, FinishFlushesEverythingHeld) {
  Harness h(60'000'000'000);
  h.feed(text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00}), 1);
  h.feed(text_poke(at(0x310), {0x90}), 2);
  h.pipeline->finish(3);
  EXPECT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.metrics.exported(), 2u);
}

TEST(Accounting, EveryProducedEventIsExportedOrCountedAsDropped) {
  Harness h(1'000'000'000);
  const Event patch = text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00});
  for (int i = 0; i < 3; ++i) h.feed(patch, 10);
  // Malformed samples are dropped at decode.
  std::vector<uint8_t> garbage(sizeof(vgp_event), 0xab);
  for (int i = 0; i < 2; ++i) {
    ++h.produced;
    h.pipeline->on_sample(ByteView{garbage.data(), garbage.size()}, 11);
  }
  std::vector<uint8_t> truncated(12, 0);
  ++h.produced;
  h.pipeline->on_sample(ByteView{truncated.data(), truncated.size()}, 11);
  // A sink failure drops the whole record: all the events merged into it.
  h.feed(text_poke(at(0x310), {0x90}), 12);
  h.feed(text_poke(at(0x310), {0x90}), 13);
  h.fail = true;
  h.pipeline->tick(12 + 1'000'000'000);
  h.fail = false;
  h.feed(text_patch(at(0x120), {0x66, 0x90}), 20);
  // Events the ring buffer refused never reach user space; BPF counts them.
  const uint64_t ring_drops = 7;
  h.metrics.set_ring_drops(ring_drops);
  h.metrics.set_produced(h.produced + ring_drops);
  h.pipeline->finish(2'000'000'000);
  EXPECT_EQ(h.metrics.dropped(DropStage::kDecode), 3u);
  EXPECT_EQ(h.metrics.dropped(DropStage::kOutput), 5u);  // 3 + 2 merged events
  EXPECT_EQ(h.metrics.exported(), 1u);
  EXPECT_EQ(h.metrics.produced(), h.metrics.exported() + h.metrics.dropped_total());
}

TEST(Accounting, TelemetryLossIsReportedAtMostOncePerInterval) {
  Harness h(0);
  h.metrics.set_ring_drops(3);
  h.pipeline->tick(1'000);
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_NE(h.records[0].find("\"kind\":\"telemetry_loss\""), std::string::npos);
  EXPECT_NE(h.records[0].find("\"lost\":3,\"lost_total\":3"), std::string::npos);
  h.metrics.set_ring_drops(10);
  h.pipeline->tick(2'000);  // within the interval: no second report yet
  EXPECT_EQ(h.records.size(), 1u);
  h.pipeline->tick(1'000 + 10'000'000'000);
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_NE(h.records[1].find("\"lost\":7,\"lost_total\":10"), std::string::npos);
  h.pipeline->tick(30'000'000'000);  // no new loss: nothing
  EXPECT_EQ(h.records.size(), 2u);
  // The agent's own records are not probe events: the identity is untouched.
  EXPECT_EQ(h.metrics.exported(), 0u);
}

TEST(Accounting, MonitorSequenceGapsAreCounted) {
  Harness h(0);
  for (uint64_t sequence : {1ull, 2ull, 5ull, 6ull, 10ull}) {
    Event event;
    event.type = EventType::kMonitorRecord;
    event.record.sequence = sequence;
    event.record.kind = VG_KIND_TEXT_WRITE;
    event.record.verdict = VG_VERDICT_DENIED;
    auto bytes = raw_sample(event);
    std::memcpy(bytes.data() + offsetof(vgp_event, record), &event.record, sizeof(event.record));
    h.pipeline->on_sample(ByteView{bytes.data(), bytes.size()}, 1);
  }
  EXPECT_EQ(h.metrics.sequence_gaps(), 5u);  // 3, 4 and 7, 8, 9
  EXPECT_EQ(h.records.size(), 5u);
}

// A mixed stream in which order matters: module text is only known as such
// once its load was seen, and its unload forgets it again.
std::vector<Event> mixed_stream() {
  const uint64_t module_base = 0xffffffffc0100000ull;
  std::vector<Event> events;
  for (int round = 0; round < 3; ++round) {
    events.push_back(text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00}));
    events.push_back(text_patch(at(0x104), {0xe8, 0xf7, 0x00, 0x00, 0x00}));  // call ftrace_caller
    events.push_back(text_poke(at(0x310), {0x90}));
    events.push_back(module_load("vg_mod", module_base, 0x2000));
    events.push_back(text_poke(module_base + 0x10, {0xcc}, {module_base + 0x40, at(0x300)}));
    Event unload = module_load("vg_mod", module_base, 0x2000);
    unload.type = EventType::kModuleFree;
    events.push_back(unload);
    events.push_back(text_poke(module_base + 0x10, {0xcc}));
    events.push_back(text_patch(at(0x120), {0xeb, 0x06}));
    events.push_back(text_patch(at(0x400), {0x41}));
  }
  return events;
}

TEST(Batching, QueuedSamplesGiveTheSameRecordsInTheSameOrder) {
  const auto events = mixed_stream();
  ASSERT_GT(events.size(), Pipeline::kBatch);  // at least one full batch and a partial one
  Harness one_by_one(0), batched(0);
  for (const Event& event : events) one_by_one.feed(event, 1);
  for (const Event& event : events) {
    auto bytes = raw_sample(event);
    batched.pipeline->queue_sample(ByteView{bytes.data(), bytes.size()}, 1);
  }
  // A full batch went out as it filled; the rest waits for the next tick.
  EXPECT_EQ(batched.records.size(), events.size() / Pipeline::kBatch * Pipeline::kBatch);
  batched.pipeline->tick(2);
  ASSERT_EQ(batched.records.size(), one_by_one.records.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(batched.records[i], one_by_one.records[i]) << i;
  EXPECT_EQ(batched.metrics.exported(), events.size());
}

TEST(Batching, DecodeDropsAreCountedWhenQueuedAndFinishExportsWhatIsHeld) {
  Harness h(0);
  std::vector<uint8_t> garbage(sizeof(vgp_event), 0xab);
  h.pipeline->queue_sample(ByteView{garbage.data(), garbage.size()}, 1);
  EXPECT_EQ(h.metrics.dropped(DropStage::kDecode), 1u);
  auto bytes = raw_sample(text_poke(at(0x310), {0x90}));
  h.pipeline->queue_sample(ByteView{bytes.data(), bytes.size()}, 1);
  EXPECT_TRUE(h.records.empty());
  h.pipeline->finish(2);
  ASSERT_EQ(h.records.size(), 2u);  // the event, then the loss report for the dropped sample
  EXPECT_NE(h.records[0].find("\"reason\":\"not_a_site\""), std::string::npos);
  EXPECT_NE(h.records[1].find("\"kind\":\"telemetry_loss\""), std::string::npos);
  EXPECT_EQ(h.metrics.exported() + h.metrics.dropped_total(), 2u);
}

TEST(Batching, ReopenExportsQueuedEventsFirst) {
  Harness h(0);
  auto bytes = raw_sample(text_poke(at(0x310), {0x90}));
  h.pipeline->queue_sample(ByteView{bytes.data(), bytes.size()}, 1);
  EXPECT_TRUE(h.records.empty());
  h.pipeline->reopen(2);
  EXPECT_EQ(h.records.size(), 1u);
}

TEST(Signals, ReopenStartsANewFileAfterRotation) {
  const std::string path = ::testing::TempDir() + "/vg_agent_reopen.ndjson";
  std::remove(path.c_str());
  std::remove((path + ".1").c_str());
  auto transport = open_file_transport(path);
  ASSERT_TRUE(transport.ok()) << transport.error();
  ASSERT_TRUE((*transport)->send("first"));
  (*transport)->flush();
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);  // logrotate
  ASSERT_TRUE((*transport)->send("second"));
  (*transport)->reopen();  // what SIGHUP triggers
  ASSERT_TRUE((*transport)->send("third"));
  (*transport)->flush();
  auto read = [](const std::string& p) {
    std::stringstream s;
    s << std::ifstream(p).rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(path + ".1"), "first\nsecond\n");
  EXPECT_EQ(read(path), "third\n");
}

TEST(Signals, UnwritableOutputIsAnErrorAtStartUp) {
  auto transport = open_file_transport("/nonexistent-dir/x.ndjson");
  ASSERT_FALSE(transport.ok());
  EXPECT_NE(transport.error().find("/nonexistent-dir/x.ndjson"), std::string::npos);
}

}  // namespace
}  // namespace vg::agent
