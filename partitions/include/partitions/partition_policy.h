// Which domain switches and which page shares the monitor allows, by kind.
// The default is the nested-kernel shape: the kernel may call into services
// and enter enclaves, each returns only to the kernel; enclaves may share
// buffers with the kernel (their I/O), services may read kernel memory they
// are given; nothing may share into an enclave but its owner.
#pragma once

#include "partitions/domain.h"

namespace vg::partitions {

struct PartitionPolicy {
  // switch_allowed[from][to]
  bool switch_allowed[kDomainKinds][kDomainKinds] = {};
  // share_allowed[owner][with]: an owner of kind `owner` may grant access to
  // one of its pages to a domain of kind `with`.
  bool share_allowed[kDomainKinds][kDomainKinds] = {};

  static constexpr PartitionPolicy nested_kernel_default() {
    PartitionPolicy policy;
    constexpr auto kernel = static_cast<int>(DomainKind::kKernel);
    constexpr auto service = static_cast<int>(DomainKind::kService);
    constexpr auto enclave = static_cast<int>(DomainKind::kEnclave);
    policy.switch_allowed[kernel][service] = true;
    policy.switch_allowed[service][kernel] = true;
    policy.switch_allowed[kernel][enclave] = true;
    policy.switch_allowed[enclave][kernel] = true;
    policy.share_allowed[enclave][kernel] = true;
    policy.share_allowed[service][kernel] = true;
    policy.share_allowed[kernel][service] = true;
    return policy;
  }

  bool can_switch(DomainKind from, DomainKind to) const {
    return switch_allowed[static_cast<int>(from)][static_cast<int>(to)];
  }
  bool can_share(DomainKind owner, DomainKind with) const {
    return share_allowed[static_cast<int>(owner)][static_cast<int>(with)];
  }
};

}  // namespace vg::partitions
