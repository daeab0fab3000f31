// Workloads for run_callgrind.sh: each measured operation is one noinline
// function, so callgrind's --toggle-collect counts exactly its instructions
// (monitor logic plus the simulated platform's model of the instructions it
// executes). Set-up happens outside the measured functions.
#include <cstdio>
#include <cstring>

#include "hal/sim/platform.h"
#include "monitor/svsm/core_protocol.h"

namespace {

using namespace vg;

constexpr uint64_t kPages = 2048;  // 8 MiB of guest memory
constexpr uint8_t kRW = 3;

Gpa page(uint64_t index) {
  return Gpa(index * kPageSize4K);
}

void write_list(hal::sim::SimPlatform& platform, Gpa list, const uint64_t* entries, uint16_t count) {
  monitor::svsm::PvalidateListHeader header{count, 0, 0};
  std::memcpy(platform.memory(list, sizeof(header)), &header, sizeof(header));
  std::memcpy(platform.memory(list + sizeof(header), count * 8u), entries, count * 8u);
}

__attribute__((noinline)) uint32_t measured_pvalidate(monitor::svsm::CoreProtocol& core, Gpa list) {
  monitor::svsm::CoreRequest request;
  request.call = monitor::svsm::kCorePvalidate;
  request.rcx = list.raw();
  return core.handle(request).rax;
}

__attribute__((noinline)) bool measured_switch(partitions::Partitions& partitions, partitions::DomainId from,
                                               partitions::DomainId to) {
  return partitions.switch_domain(0, from, to).ok();
}

}  // namespace

int main() {
  hal::sim::SimPlatform platform(kPages, 1);
  hal::sim::ScopedInstall install(platform);
  // Pages 0-511 are launched (validated, kernel read/write); the 2 MiB
  // region at 1024-1535 and pages 512-1023 are assigned but not validated.
  for (uint64_t i = 0; i < 512; ++i) {
    platform.launch_page(page(i), hal::PageSize::k4K);
    (void)hal::rmpadjust(page(i), hal::PageSize::k4K, {Vmpl(3), kRW, false});
  }
  for (uint64_t i = 512; i < 1024; ++i) platform.host_assign(page(i), hal::PageSize::k4K);
  platform.host_assign(page(1024), hal::PageSize::k2M);

  partitions::Partitions partitions(partitions::PartitionPolicy::nested_kernel_default(), 1);
  monitor::svsm::CoreProtocol core(partitions, 1, nullptr);

  const uint64_t one[] = {page(512).raw() | 4u};
  write_list(platform, page(10), one, 1);
  const uint32_t one_result = measured_pvalidate(core, page(10));

  const uint64_t huge[] = {page(1024).raw() | 4u | 1u};
  write_list(platform, page(11), huge, 1);
  const uint32_t huge_result = measured_pvalidate(core, page(11));

  uint64_t many[511];
  for (uint64_t i = 0; i < 511; ++i) many[i] = page(513 + i).raw() | 4u;
  write_list(platform, page(12), many, 511);
  const uint32_t many_result = measured_pvalidate(core, page(12));

  // Two enclaves of 16 pages each; the measured switch swaps VMPL2's set.
  auto a = partitions.create_domain(partitions::DomainKind::kEnclave).value();
  auto b = partitions.create_domain(partitions::DomainKind::kEnclave).value();
  for (uint64_t i = 0; i < 16; ++i) {
    (void)partitions.donate(a, page(100 + i), kRW);
    (void)partitions.donate(b, page(200 + i), kRW);
  }
  (void)partitions.switch_domain(0, partitions::kKernelDomain, a);
  (void)partitions.switch_domain(0, a, partitions::kKernelDomain);
  const bool refused = !measured_switch(partitions, a, b);  // not current: the decision alone
  const bool switched = measured_switch(partitions, partitions::kKernelDomain, b);

  std::printf("pvalidate 1x4K: 0x%x, 1x2M: 0x%x, 511x4K: 0x%x, refused switch: %d, switch: %d\n", one_result,
              huge_result, many_result, refused, switched);
  return one_result == 0 && huge_result == 0 && many_result == 0 && refused && switched ? 0 : 1;
}
