// Strong types for the address spaces and levels the monitor juggles.
//
// A guest-physical address passed where a guest-virtual one is expected is a
// classic monitor bug; making them distinct types turns it into a compile error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <compare>  // operator<=> below needs std::strong_ordering

namespace vg {

inline constexpr uint64_t kPageSize4K = 4096;
inline constexpr uint64_t kPageSize2M = 2 * 1024 * 1024;

// A value of one address space, not convertible to another without intent.
template <typename Tag>
class Address {
 public:
  constexpr Address() = default;
  constexpr explicit Address(uint64_t raw) : raw_(raw) {}
  constexpr uint64_t raw() const { return raw_; }
  constexpr Address operator+(uint64_t delta) const { return Address(raw_ + delta); }
  constexpr uint64_t operator-(Address other) const { return raw_ - other.raw_; }
  constexpr bool is_aligned(uint64_t alignment) const { return (raw_ & (alignment - 1)) == 0; }
  constexpr Address align_down(uint64_t alignment) const { return Address(raw_ & ~(alignment - 1)); }
  constexpr uint64_t page_offset() const { return raw_ & (kPageSize4K - 1); }
  friend constexpr bool operator==(Address, Address) = default;
  friend constexpr auto operator<=>(Address a, Address b) { return a.raw_ <=> b.raw_; }

 private:
  uint64_t raw_ = 0;
};

struct GpaTag {};
struct GvaTag {};
struct TextOffsetTag {};

using Gpa = Address<GpaTag>;  // guest-physical address
using Gva = Address<GvaTag>;  // guest-virtual address (kernel VA)
// Offset from the kernel's `_text`: the KASLR-independent address the policy uses.
using TextOffset = Address<TextOffsetTag>;

// A 4 KiB guest page frame number.
class Pfn {
 public:
  constexpr Pfn() = default;
  constexpr explicit Pfn(uint64_t raw) : raw_(raw) {}
  static constexpr Pfn of(Gpa gpa) { return Pfn(gpa.raw() / kPageSize4K); }
  constexpr uint64_t raw() const { return raw_; }
  constexpr Gpa gpa() const { return Gpa(raw_ * kPageSize4K); }
  friend constexpr bool operator==(Pfn, Pfn) = default;
  friend constexpr auto operator<=>(Pfn a, Pfn b) { return a.raw_ <=> b.raw_; }

 private:
  uint64_t raw_ = 0;
};

// Virtual Machine Privilege Level, 0 (most privileged) to 3 [APM2 15.36.7].
class Vmpl {
 public:
  static constexpr uint8_t kCount = 4;
  constexpr Vmpl() = default;
  constexpr explicit Vmpl(uint8_t level) : level_(level) {}
  constexpr uint8_t raw() const { return level_; }
  constexpr bool valid() const { return level_ < kCount; }
  // True if `this` may adjust permissions of `other`: only numerically greater
  // (less privileged) levels can be adjusted [APM2 15.36.7, RMPADJUST].
  constexpr bool more_privileged_than(Vmpl other) const { return level_ < other.level_; }
  friend constexpr bool operator==(Vmpl, Vmpl) = default;

 private:
  uint8_t level_ = 0;
};

// A read-only view of bytes; freestanding stand-in for std::span<const uint8_t>.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr bool contains(size_t offset, size_t length) const {
    return offset <= size && length <= size - offset;
  }
  constexpr ByteView sub(size_t offset, size_t length) const { return ByteView{data + offset, length}; }
};

}  // namespace vg
