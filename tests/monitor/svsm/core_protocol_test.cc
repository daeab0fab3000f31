// The SVSM core protocol as a Linux guest at VMPL3 drives it, on the
// simulated platform: every call, every error path, and the partial
// completion rule of PVALIDATE [SVSM 58019 section 7].
#include "monitor/svsm/core_protocol.h"

#include <gtest/gtest.h>

#include <cstring>

#include "hal/sim/platform.h"
#include "monitor/vmplguard_abi.h"

namespace vg::monitor::svsm {
namespace {

using hal::sim::Access;
using hal::sim::SimPlatform;

constexpr uint8_t kR = 1u << 0;
constexpr uint8_t kW = 1u << 1;
constexpr uint64_t kValidatedPages = 128;  // 0..127 launched and validated
constexpr uint64_t kPages = 256;           // 128..255 assigned, not validated

Gpa page(uint64_t index) {
  return Gpa(index * kPageSize4K);
}

uint64_t vmplguard_query(uint32_t protocol, uint32_t version) {
  if (protocol == VG_PROTOCOL && version == VG_ABI_VERSION)
    return uint64_t{VG_ABI_VERSION} | uint64_t{VG_ABI_VERSION} << 32;
  return 0;
}

class CoreProtocolTest : public ::testing::Test {
 protected:
  CoreProtocolTest()
      : platform_(kPages, 2),
        install_(platform_),
        partitions_(partitions::PartitionPolicy::nested_kernel_default(), 2),
        core_(partitions_, 2, &vmplguard_query) {}

  void SetUp() override {
    for (uint64_t i = 0; i < kValidatedPages; ++i) {
      ASSERT_TRUE(platform_.launch_page(page(i), hal::PageSize::k4K));
      ASSERT_EQ(hal::rmpadjust(page(i), hal::PageSize::k4K, {Vmpl(3), kR | kW, false}),
                hal::RmpStatus::kSuccess);
    }
    for (uint64_t i = kValidatedPages; i < kPages; ++i)
      ASSERT_TRUE(platform_.host_assign(page(i), hal::PageSize::k4K));
    // Pages 0-3 hold the monitor.
    ASSERT_TRUE(core_.protect_range(page(0), 4 * kPageSize4K));
  }

  CoreResult call(uint32_t call_id, uint64_t rcx, uint64_t rdx = 0, uint64_t r8 = 0) {
    CoreRequest request;
    request.vcpu = 0;
    request.caller = Vmpl(3);
    request.call = call_id;
    request.rcx = rcx;
    request.rdx = rdx;
    request.r8 = r8;
    return core_.handle(request);
  }

  // Writes a PVALIDATE list at `list` and returns its GPA.
  uint64_t write_list(Gpa list, uint16_t next, std::initializer_list<uint64_t> entries) {
    PvalidateListHeader header{static_cast<uint16_t>(entries.size()), next, 0};
    std::memcpy(platform_.memory(list, sizeof(header)), &header, sizeof(header));
    uint64_t offset = sizeof(header);
    for (uint64_t entry : entries) {
      std::memcpy(platform_.memory(list + offset, 8), &entry, 8);
      offset += 8;
    }
    return list.raw();
  }
  uint16_t list_next(Gpa list) {
    uint16_t next = 0;
    std::memcpy(&next, platform_.memory(list + 2, 2), 2);
    return next;
  }
  static uint64_t validate(uint64_t index, bool ignore_cf = false) {
    return page(index).raw() | 4u | (ignore_cf ? 8u : 0u);
  }
  static uint64_t rescind(uint64_t index) { return page(index).raw(); }

  bool kernel_can(Gpa gpa, Access access) {
    uint64_t value = 0;
    return platform_.guest_access(0, Vmpl(3), gpa, access, &value, sizeof(value)).performed;
  }

  void write_vmsa_image(Gpa vmsa, uint8_t vmpl, uint64_t efer) {
    std::memset(platform_.memory(vmsa, kPageSize4K), 0, kPageSize4K);
    *platform_.memory(vmsa + kVmsaVmplOffset, 1) = vmpl;
    std::memcpy(platform_.memory(vmsa + kVmsaEferOffset, 8), &efer, 8);
  }

  SimPlatform platform_;
  hal::sim::ScopedInstall install_;
  partitions::Partitions partitions_;
  CoreProtocol core_;
};

TEST_F(CoreProtocolTest, QueryProtocolReportsCoreAndVmplguardVersions) {
  CoreResult core = call(kCoreQueryProtocol, uint64_t{kCoreProtocol} << 32 | 1);
  EXPECT_EQ(core.rax, kSuccess);
  ASSERT_TRUE(core.rcx_written);
  EXPECT_EQ(core.rcx, 1u | (uint64_t{1} << 32));
  EXPECT_EQ(call(kCoreQueryProtocol, uint64_t{VG_PROTOCOL} << 32 | VG_ABI_VERSION).rcx,
            uint64_t{VG_ABI_VERSION} | uint64_t{VG_ABI_VERSION} << 32);
  EXPECT_EQ(call(kCoreQueryProtocol, uint64_t{2} << 32 | 1).rcx, 0u) << "the vTPM protocol is not offered";
  EXPECT_EQ(call(kCoreQueryProtocol, uint64_t{kCoreProtocol} << 32 | 7).rcx, 0u) << "unsupported version";
}

TEST_F(CoreProtocolTest, PvalidateValidatesZeroesAndGrantsDataAccessOnly) {
  std::memset(platform_.memory(page(130), kPageSize4K), 0xab, kPageSize4K);  // stale host data
  const uint64_t list = write_list(page(10), 0, {validate(130), validate(131), validate(132)});
  EXPECT_EQ(call(kCorePvalidate, list).rax, kSuccess);
  EXPECT_EQ(list_next(page(10)), 3);
  for (uint64_t i : {130ull, 131ull, 132ull}) {
    EXPECT_TRUE(platform_.rmp_entry(page(i))->validated);
    EXPECT_EQ(platform_.rmp_entry(page(i))->perms[3], kR | kW) << "data, never execute";
  }
  EXPECT_EQ(*platform_.memory(page(130) + 100, 1), 0) << "validated pages are zeroed";
  EXPECT_TRUE(kernel_can(page(130), Access::kWrite));
  EXPECT_FALSE(kernel_can(page(130), Access::kSupervisorExec));
}

TEST_F(CoreProtocolTest, PvalidateStopsAtTheFirstFailureAndReportsNext) {
  const uint64_t list = write_list(page(10), 0, {validate(133), validate(133), validate(134)});
  EXPECT_EQ(call(kCorePvalidate, list).rax, kErrPvalidateFailNoChange);
  EXPECT_EQ(list_next(page(10)), 1) << "entry 1 failed: already validated";
  EXPECT_FALSE(platform_.rmp_entry(page(134))->validated) << "nothing after the failure ran";
  // The guest resumes from `next` with ignore-CF set.
  write_list(page(10), 1, {validate(133), validate(133, true), validate(134)});
  EXPECT_EQ(call(kCorePvalidate, list).rax, kSuccess);
  EXPECT_EQ(list_next(page(10)), 3);
  EXPECT_TRUE(platform_.rmp_entry(page(134))->validated);
}

TEST_F(CoreProtocolTest, PvalidateRescindsAfterRevokingTheCallersAccess) {
  const uint64_t list = write_list(page(10), 0, {rescind(20)});
  EXPECT_EQ(call(kCorePvalidate, list).rax, kSuccess);
  EXPECT_FALSE(platform_.rmp_entry(page(20))->validated);
  EXPECT_EQ(platform_.rmp_entry(page(20))->perms[3], 0);
}

TEST_F(CoreProtocolTest, MalformedListsAreRefusedBeforeAnythingChanges) {
  struct Case {
    const char* name;
    uint64_t list;
    uint32_t expected;
  };
  const Case cases[] = {
      {"no entries", write_list(page(11), 0, {}), kErrInvalidParameter},
      {"next past the end", write_list(page(12), 1, {validate(140)}), kErrInvalidParameter},
      {"bad page size", write_list(page(13), 0, {validate(140), page(141).raw() | 4u | 2u}),
       kErrInvalidParameter},
      {"misaligned 2M page", write_list(page(14), 0, {page(140).raw() | 4u | 1u}), kErrInvalidParameter},
      {"unaligned list", page(15).raw() + 4, kErrInvalidParameter},
      {"monitor page", write_list(page(16), 0, {validate(140), rescind(1)}), kErrInvalidAddress},
      {"outside guest memory", write_list(page(17), 0, {validate(4000)}), kErrInvalidAddress},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(call(kCorePvalidate, c.list).rax, c.expected) << c.name;
    EXPECT_FALSE(platform_.rmp_entry(page(140))->validated) << c.name << ": nothing may change";
    EXPECT_TRUE(platform_.rmp_entry(page(1))->validated) << c.name;
  }
  // A list whose entries would run past its page.
  PvalidateListHeader header{2, 0, 0};
  std::memcpy(platform_.memory(page(18) + 4080, 8), &header, 8);
  EXPECT_EQ(call(kCorePvalidate, page(18).raw() + 4080).rax, kErrInvalidParameter);
}

TEST_F(CoreProtocolTest, PvalidateNeverTouchesADomainsPages) {
  auto enclave = partitions_.create_domain(partitions::DomainKind::kEnclave).value();
  ASSERT_TRUE(partitions_.donate(enclave, page(50), kR | kW).ok());
  const uint64_t list = write_list(page(10), 0, {rescind(50)});
  EXPECT_EQ(call(kCorePvalidate, list).rax, kErrInvalidAddress);
  EXPECT_TRUE(platform_.rmp_entry(page(50))->validated);
}

TEST_F(CoreProtocolTest, RemapCaMovesAndClearsTheCallingArea) {
  *platform_.memory(page(30) + 8, 1) = 1;
  EXPECT_EQ(call(kCoreRemapCa, page(30).raw() + 8).rax, kSuccess);
  EXPECT_EQ(core_.calling_area(0), page(30) + 8);
  EXPECT_EQ(*platform_.memory(page(30) + 8, 1), 0) << "call-pending cleared";
  EXPECT_EQ(call(kCoreRemapCa, page(30).raw() + 4).rax, kErrInvalidParameter) << "not 8-byte aligned";
  EXPECT_EQ(call(kCoreRemapCa, page(2).raw()).rax, kErrInvalidParameter) << "inside the monitor";
  EXPECT_EQ(call(kCoreRemapCa, page(5000).raw()).rax, kErrInvalidParameter) << "not guest memory";
  EXPECT_EQ(core_.calling_area(0), page(30) + 8) << "failed remaps change nothing";
}

TEST_F(CoreProtocolTest, CreateVcpuAcceptsOnlyAVmsaOfTheCallersOwnVmpl) {
  write_vmsa_image(page(40), 3, kEferSvme);
  EXPECT_EQ(call(kCoreCreateVcpu, page(40).raw(), page(41).raw(), 1).rax, kSuccess);
  EXPECT_TRUE(platform_.rmp_entry(page(40))->vmsa);
  EXPECT_FALSE(kernel_can(page(40), Access::kWrite)) << "the kernel cannot edit a live VMSA";
  EXPECT_EQ(core_.calling_area(1), page(41));

  // A kernel forging a VMPL0 vCPU (higher privilege than its own).
  write_vmsa_image(page(42), 0, kEferSvme);
  EXPECT_EQ(call(kCoreCreateVcpu, page(42).raw(), page(43).raw(), 0).rax, kErrInvalidParameter);
  EXPECT_FALSE(platform_.rmp_entry(page(42))->vmsa);
  EXPECT_TRUE(kernel_can(page(42), Access::kWrite)) << "a refused VMSA goes back to the kernel";

  write_vmsa_image(page(44), 3, 0);
  EXPECT_EQ(call(kCoreCreateVcpu, page(44).raw(), page(45).raw(), 0).rax, kErrInvalidParameter)
      << "SVME clear";
  EXPECT_EQ(call(kCoreCreateVcpu, page(46).raw(), page(46).raw(), 0).rax, kErrInvalidAddress)
      << "VMSA is the CAA";
  EXPECT_EQ(call(kCoreCreateVcpu, page(46).raw() + 8, page(47).raw(), 0).rax, kErrInvalidAddress)
      << "unaligned";
  EXPECT_EQ(call(kCoreCreateVcpu, page(2).raw(), page(47).raw(), 0).rax, kErrInvalidAddress)
      << "monitor page";
  write_vmsa_image(page(48), 3, kEferSvme);
  EXPECT_EQ(call(kCoreCreateVcpu, page(48).raw(), page(49).raw(), 9).rax, kErrInvalidParameter)
      << "no such APIC ID";
  EXPECT_EQ(call(kCoreCreateVcpu, page(48).raw(), page(49).raw(), 1).rax, kErrInvalidParameter)
      << "vCPU 1 already has a VMPL3 VMSA";
}

TEST_F(CoreProtocolTest, DeleteVcpuRetiresTheVmsaAndReturnsThePage) {
  write_vmsa_image(page(40), 3, kEferSvme);
  ASSERT_EQ(call(kCoreCreateVcpu, page(40).raw(), page(41).raw(), 1).rax, kSuccess);
  EXPECT_EQ(call(kCoreDeleteVcpu, page(40).raw()).rax, kSuccess);
  EXPECT_FALSE(platform_.rmp_entry(page(40))->vmsa);
  uint64_t efer = 0;
  std::memcpy(&efer, platform_.memory(page(40) + kVmsaEferOffset, 8), 8);
  EXPECT_EQ(efer & kEferSvme, 0u) << "the deleted VMSA can never run again";
  EXPECT_TRUE(kernel_can(page(40), Access::kWrite));
  EXPECT_EQ(call(kCoreDeleteVcpu, page(40).raw()).rax, kErrInvalidAddress) << "not a VMSA any more";
  EXPECT_EQ(call(kCoreDeleteVcpu, page(60).raw()).rax, kErrInvalidAddress) << "never a VMSA";
}

TEST_F(CoreProtocolTest, UnsupportedCallsAreRefusedWithTheSpecCode) {
  EXPECT_EQ(call(kCoreDepositMem, 0).rax, kErrUnsupportedCall);
  EXPECT_EQ(call(kCoreWithdrawMem, 0).rax, kErrUnsupportedCall);
  EXPECT_EQ(call(99, 0).rax, kErrUnsupportedCall);
  EXPECT_EQ(call(kCoreConfigureVtom, 1).rcx, 0u) << "vTOM not supported";
  EXPECT_EQ(call(kCoreConfigureVtom, 0).rax, kErrInvalidRequest);
}

}  // namespace
}  // namespace vg::monitor::svsm
