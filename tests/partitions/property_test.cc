// Random sequences of partition operations (seeded, reproducible): after every
// step the RMP matches the manager's intent, no domain page is writable and
// executable, no page is reachable by a VMPL that neither owns (while
// resident) nor was granted it, and a refused operation changes nothing.
#include <cstdlib>
#include <random>

#include "partitions_fixture.h"

namespace vg::partitions {
namespace {

using testing::page;
using testing::PartitionsTest;

class PartitionProperty : public PartitionsTest {};

TEST_F(PartitionProperty, InvariantsHoldUnderRandomOperations) {
  const char* long_run = std::getenv("VMPLGUARD_LONG_PROPERTY");
  const int steps = long_run != nullptr ? 200000 : 3000;
  std::mt19937_64 random(0x5eed);
  std::vector<DomainId> domains = {kKernelDomain};
  auto pick_domain = [&] { return domains[random() % domains.size()]; };
  auto pick_page = [&] { return page(1 + random() % (testing::kPages - 1)); };
  auto pick_perms = [&] { return static_cast<uint8_t>(random() % 16); };

  for (int step = 0; step < steps; ++step) {
    const auto before = rmp_snapshot();
    bool refused = false;
    switch (random() % 8) {
      case 0: {
        auto made = partitions_.create_domain(random() % 2 ? DomainKind::kEnclave : DomainKind::kService);
        if (made.ok()) domains.push_back(made.value());
        refused = !made.ok();
        break;
      }
      case 1: refused = !partitions_.donate(pick_domain(), pick_page(), pick_perms()).ok(); break;
      case 2:
        refused = !partitions_.share(pick_domain(), pick_page(), pick_domain(), pick_perms()).ok();
        break;
      case 3: refused = !partitions_.unshare(pick_domain(), pick_page(), pick_domain()).ok(); break;
      case 4:
      case 5: {
        const uint32_t vcpu = static_cast<uint32_t>(random() % 2);
        const DomainId from = random() % 4 ? partitions_.current(vcpu) : pick_domain();
        refused = !partitions_.switch_domain(vcpu, from, pick_domain()).ok();
        break;
      }
      case 6: {
        DomainId victim = pick_domain();
        auto destroyed = partitions_.destroy_domain(victim);
        if (destroyed.ok()) std::erase(domains, victim);
        refused = !destroyed.ok();
        break;
      }
      case 7:
        refused =
            !partitions_.create_vmsa(pick_domain(), static_cast<uint32_t>(random() % 2), pick_page()).ok();
        break;
    }
    if (refused) {
      ASSERT_EQ(rmp_snapshot(), before) << "a refused operation changed the RMP at step " << step;
    }
    for (uint32_t i = 0; i < partitions_.page_count(); ++i) {
      const PageRecord& record = partitions_.pages()[i];
      const hal::sim::RmpEntry* entry = platform_.rmp_entry(record.pfn.gpa());
      for (uint8_t v = 1; v < Vmpl::kCount; ++v) {
        ASSERT_EQ(entry->perms[v], partitions_.intended_perms(record, Vmpl(v))) << "step " << step;
        const bool writable = entry->perms[v] & testing::kW;
        const bool executable = entry->perms[v] & (testing::kX | (1u << 2));
        ASSERT_FALSE(writable && executable) << "W+X page at step " << step;
      }
      if (record.vmsa) {
        ASSERT_TRUE(entry->vmsa);
      }
      if (record.owner != kKernelDomain && !(record.shared_with & 2u)) {
        ASSERT_EQ(entry->perms[3], 0) << "the kernel reaches a domain page it was not given, step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace vg::partitions
