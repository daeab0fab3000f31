#include "partitions/domain.h"

namespace vg::partitions {

const char* describe(PartitionError error) {
  switch (error) {
    case PartitionError::kTableFull: return "no free slot in the partition tables";
    case PartitionError::kUnknownDomain: return "no such domain";
    case PartitionError::kWrongKind: return "operation does not apply to this kind of domain";
    case PartitionError::kNotCurrent: return "switch does not start from the vCPU's current domain";
    case PartitionError::kEdgeNotAllowed: return "the partition policy does not allow this switch";
    case PartitionError::kBusy: return "the VMPL hosts another domain running on another vCPU";
    case PartitionError::kNotOwner: return "the caller does not own the page";
    case PartitionError::kPageInUse: return "the page already belongs to another domain";
    case PartitionError::kShareNotAllowed: return "the partition policy does not allow this share";
    case PartitionError::kGrantExceedsHeld: return "the grant exceeds the permissions the owner holds";
    case PartitionError::kNotGuestPage: return "not an aligned, validated guest page";
    case PartitionError::kVmsaExists: return "this vCPU and VMPL already have a VMSA";
    case PartitionError::kHardwareRefused: return "RMPADJUST refused; the change was rolled back";
    case PartitionError::kDomainRunning: return "the domain is running on a vCPU";
    case PartitionError::kWritableExecutable: return "a page may be writable or executable, not both";
  }
  return "unknown partition error";
}

}  // namespace vg::partitions
