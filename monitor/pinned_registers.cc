#include "monitor/pinned_registers.h"

namespace vg::monitor {
namespace {

constexpr PinnedRegister kAll[kPinnedRegisterCount] = {
    PinnedRegister::kCr0,    PinnedRegister::kCr4,      PinnedRegister::kEfer,
    PinnedRegister::kLstar,  PinnedRegister::kStar,     PinnedRegister::kCstar,
    PinnedRegister::kSfmask, PinnedRegister::kIdtrBase, PinnedRegister::kGdtrBase,
};

size_t slot(PinnedRegister id) {
  return static_cast<size_t>(id) - 1;
}

// The VMSA field of a register; State is VmsaState or const VmsaState.
template <typename State>
auto& field(State& state, PinnedRegister id) {
  switch (id) {
    case PinnedRegister::kCr0: return state.cr0;
    case PinnedRegister::kCr4: return state.cr4;
    case PinnedRegister::kEfer: return state.efer;
    case PinnedRegister::kLstar: return state.lstar;
    case PinnedRegister::kStar: return state.star;
    case PinnedRegister::kCstar: return state.cstar;
    case PinnedRegister::kSfmask: return state.sfmask;
    case PinnedRegister::kIdtrBase: return state.idtr_base;
    case PinnedRegister::kGdtrBase: return state.gdtr_base;
  }
  return state.cr0;
}

}  // namespace

uint64_t pinned_mask(PinnedRegister id) {
  switch (id) {
    case PinnedRegister::kCr0: return kCr0PinnedMask;
    case PinnedRegister::kCr4: return kCr4PinnedMask;
    case PinnedRegister::kEfer: return kEferPinnedMask;
    default: return ~0ull;
  }
}

uint64_t register_value(const hal::VmsaState& state, PinnedRegister id) {
  return field(state, id);
}

void PinnedRegisters::lock(const hal::VmsaState& state) {
  for (PinnedRegister id : kAll) {
    values_[slot(id)] = register_value(state, id) & pinned_mask(id);
    reported_[slot(id)] = false;
  }
  locked_ = true;
}

size_t PinnedRegisters::check(const hal::VmsaState& state, PinDeviation (&out)[kPinnedRegisterCount]) {
  if (!locked_) return 0;
  size_t count = 0;
  for (PinnedRegister id : kAll) {
    const size_t i = slot(id);
    const uint64_t value = register_value(state, id);
    if ((value & pinned_mask(id)) == values_[i]) {
      reported_[i] = false;
      continue;
    }
    if (reported_[i] && reported_value_[i] == value) continue;
    reported_[i] = true;
    reported_value_[i] = value;
    out[count++] = PinDeviation{id, value};
  }
  return count;
}

void PinnedRegisters::restore(hal::VmsaState& state) const {
  for (PinnedRegister id : kAll) {
    uint64_t& value = field(state, id);
    value = (value & ~pinned_mask(id)) | values_[slot(id)];
  }
}

}  // namespace vg::monitor
