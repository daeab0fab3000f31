// Attack scenarios against the partitions, each named after the technique it
// models. Every one must be refused and change nothing.
#include "partitions_fixture.h"

namespace vg::partitions {
namespace {

using hal::sim::Access;
using testing::kR;
using testing::kW;
using testing::page;
using testing::PartitionsTest;

class PartitionAttacks : public PartitionsTest {
 protected:
  void SetUp() override {
    PartitionsTest::SetUp();
    enclave_a_ = partitions_.create_domain(DomainKind::kEnclave).value();
    enclave_b_ = partitions_.create_domain(DomainKind::kEnclave).value();
    service_ = partitions_.create_domain(DomainKind::kService).value();
    ASSERT_TRUE(partitions_.donate(enclave_a_, page(8), kR | kW).ok());
    ASSERT_TRUE(partitions_.donate(enclave_b_, page(9), kR | kW).ok());
    ASSERT_TRUE(partitions_.donate(service_, page(12), kR | kW).ok());
  }
  DomainId enclave_a_, enclave_b_, service_;
};

// A compromised kernel forges the "from" of a switch to enter a service as
// if it were an enclave returning (confused-deputy entry; Veil §4.2 requires
// switches to follow the monitor's record of the current domain).
TEST_F(PartitionAttacks, SwitchFromADomainThatIsNotCurrentIsRefused) {
  const auto before = rmp_snapshot();
  auto forged = partitions_.switch_domain(0, enclave_a_, kKernelDomain);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error(), PartitionError::kNotCurrent);
  EXPECT_EQ(partitions_.current(0), kKernelDomain);
  EXPECT_EQ(rmp_snapshot(), before);
}

// An enclave jumps straight into a protected service, bypassing the kernel
// edge the policy defines (cross-domain call gadget).
TEST_F(PartitionAttacks, SwitchAlongAnEdgeThePolicyLacksIsRefused) {
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, enclave_a_).ok());
  const auto before = rmp_snapshot();
  auto edge = partitions_.switch_domain(0, enclave_a_, service_);
  ASSERT_FALSE(edge.ok());
  EXPECT_EQ(edge.error(), PartitionError::kEdgeNotAllowed);
  EXPECT_EQ(partitions_.current(0), enclave_a_);
  EXPECT_EQ(rmp_snapshot(), before);
}

// Enclave A tries to give the kernel access to enclave B's page (granting
// what it does not own; the classic capability-forging attempt).
TEST_F(PartitionAttacks, DomainGrantingAPageItDoesNotOwnIsRefused) {
  const auto before = rmp_snapshot();
  auto grant = partitions_.share(enclave_a_, page(9), kKernelDomain, kR);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error(), PartitionError::kNotOwner);
  EXPECT_FALSE(can(3, page(9), Access::kRead));
  EXPECT_EQ(rmp_snapshot(), before);
}

// The kernel crafts a VMSA in its own memory and marks it with RMPADJUST's
// VMSA bit to gain a vCPU with attacker-chosen state at a higher VMPL
// (VMSA forgery; [APM2 15.36.7]: RMPADJUST only adjusts numerically greater
// VMPLs, and VMPL3 has none).
TEST_F(PartitionAttacks, VmsaPageForgedByTheKernelIsRefusedByHardwareAndMonitor) {
  const auto before = rmp_snapshot();
  const uint64_t vmsa_rdx = uint64_t{3} | (uint64_t{kR | kW} << 8) | (uint64_t{1} << 16);
  auto outcome = platform_.guest_rmpadjust(0, Vmpl(3), page(30), hal::PageSize::k4K, vmsa_rdx);
  EXPECT_TRUE(outcome.fault != hal::sim::Fault::kNone || outcome.rax != 0) << "VMPL3 cannot set the VMSA bit";
  EXPECT_FALSE(platform_.rmp_entry(page(30))->vmsa);
  // Asking the monitor to make a VMSA out of an enclave's page is refused too.
  auto on_enclave_page = partitions_.create_vmsa(kKernelDomain, 0, page(8));
  ASSERT_FALSE(on_enclave_page.ok());
  EXPECT_EQ(on_enclave_page.error(), PartitionError::kPageInUse);
  EXPECT_EQ(rmp_snapshot(), before);
}

// The kernel remaps an enclave page into its own address space (it owns the
// page tables) and reads it, or tries to re-grant it to itself; the RMP, not
// the page tables, decides [Cabin; NestedSGX].
TEST_F(PartitionAttacks, EnclavePageRemappedIntoTheKernelStaysInaccessible) {
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, enclave_a_).ok());
  ASSERT_TRUE(can(2, page(8), Access::kWrite));
  ASSERT_TRUE(partitions_.switch_domain(0, enclave_a_, kKernelDomain).ok());
  const auto before = rmp_snapshot();

  uint64_t value = 0;
  auto read = platform_.guest_access(0, Vmpl(3), page(8), Access::kRead, &value, sizeof(value));
  EXPECT_FALSE(read.performed);
  EXPECT_EQ(read.fault, hal::sim::Fault::kNpf);
  EXPECT_NE(read.error_code & hal::sim::kNpfVmpl, 0u) << "#NPF with the VMPL bit";

  auto regrant =
      platform_.guest_rmpadjust(0, Vmpl(3), page(8), hal::PageSize::k4K, uint64_t{3} | (uint64_t{kR} << 8));
  EXPECT_TRUE(regrant.fault != hal::sim::Fault::kNone || regrant.rax != 0);
  auto donate = partitions_.donate(enclave_b_, page(8), kR);
  ASSERT_FALSE(donate.ok());
  EXPECT_EQ(donate.error(), PartitionError::kPageInUse);
  auto share = partitions_.share(kKernelDomain, page(8), kKernelDomain, kR);
  ASSERT_FALSE(share.ok());
  EXPECT_EQ(rmp_snapshot(), before);
}

}  // namespace
}  // namespace vg::partitions
