#include "fake_kci_service.h"

namespace vg {
namespace test {

FakeKci& fake_kci() {
  static FakeKci state;
  return state;
}

void reset_fake_kci() {
  fake_kci() = FakeKci{};
}

}  // namespace test

namespace kci {

// The parts of Service the monitor's code and the fixture need; the rest of
// KCI (kci/*.cc) is not linked into these tests.
Storage& default_storage() {
  static Storage storage;
  return storage;
}
Service::Service(monitor::TelemetryRing& ring, Storage& storage) : ring_(ring), storage_(storage) {}
Service::~Service() = default;

Result<void, LoadFailure> Service::load_policy(ByteView bytes) {
  (void)bytes;
  loaded_ = true;
  return Ok{};
}

CallOutcome Service::handle_call(uint32_t vcpu, Vmpl caller, uint32_t call, const CallArgs& args) {
  test::FakeKci& fake = test::fake_kci();
  fake.calls.push_back({vcpu, caller, call, args});
  if (call == VG_CALL_REGISTER_KERNEL && fake.result == VG_RESULT_SUCCESS) registered_ = true;
  CallOutcome outcome;
  outcome.result = fake.result;
  outcome.rcx = fake.out_rcx;
  outcome.rdx = fake.out_rdx;
  return outcome;
}

Verdict Service::handle_violation(const ViolationExit& exit) {
  test::FakeKci& fake = test::fake_kci();
  fake.violations.push_back(exit);
  // Like KCI, record the violation.
  vg_record record{};
  record.kind = VG_KIND_TEXT_WRITE;
  record.verdict = VG_VERDICT_DENIED;
  record.vmpl = exit.vmpl.raw();
  record.vcpu = exit.vcpu;
  record.rip = exit.rip;
  record.gpa = exit.gpa.raw();
  (void)ring_.record(record);
  return fake.verdict;
}

// The double lets every PVALIDATE through: the monitor's own dispatch tests
// do not exercise KCI's veto (tests/monitor/kci_integration_test.cc does).
bool Service::vet_pvalidate(uint32_t vcpu, Gpa page, bool validate) {
  (void)vcpu;
  (void)page;
  (void)validate;
  return true;
}

void Service::check_watched() {
  ++test::fake_kci().watched_checks;
}

}  // namespace kci
}  // namespace vg
