// Result<T, E>: the error channel for everything that input can cause.
//
// Freestanding-safe (no exceptions, no heap, no RTTI): the monitor, KCI and the
// policy parser use it unchanged in the VMPL0 image and in hosted tests.
// Broken invariants are not Results; they halt through VG_ASSERT.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

namespace vg {

// Wraps an error value so that `return Err(e)` reads naturally and cannot be
// confused with a success value of a compatible type.
template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

// Success marker for Result<void, E>.
struct Ok {};

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : has_value_(true) { new (&storage_.value) T(value); }
  Result(T&& value) : has_value_(true) { new (&storage_.value) T(std::move(value)); }
  template <typename U>
  Result(Err<U> err) : has_value_(false) {
    new (&storage_.error) E(std::move(err.error));
  }
  Result(const Result& other) : has_value_(other.has_value_) {
    if (has_value_) {
      new (&storage_.value) T(other.storage_.value);
    } else {
      new (&storage_.error) E(other.storage_.error);
    }
  }
  Result(Result&& other) noexcept : has_value_(other.has_value_) {
    if (has_value_) {
      new (&storage_.value) T(std::move(other.storage_.value));
    } else {
      new (&storage_.error) E(std::move(other.storage_.error));
    }
  }
  Result& operator=(const Result& other) {
    if (this != &other) {
      destroy();
      new (this) Result(other);
    }
    return *this;
  }
  Result& operator=(Result&& other) noexcept {
    if (this != &other) {
      destroy();
      new (this) Result(std::move(other));
    }
    return *this;
  }
  ~Result() { destroy(); }

  bool ok() const { return has_value_; }
  explicit operator bool() const { return has_value_; }

  T& value() & { return storage_.value; }
  const T& value() const& { return storage_.value; }
  T&& value() && { return std::move(storage_.value); }
  const E& error() const { return storage_.error; }

  T* operator->() { return &storage_.value; }
  const T* operator->() const { return &storage_.value; }
  T& operator*() & { return storage_.value; }
  const T& operator*() const& { return storage_.value; }

 private:
  void destroy() {
    if (has_value_) {
      storage_.value.~T();
    } else {
      storage_.error.~E();
    }
  }
  union Storage {
    Storage() {}
    ~Storage() {}
    T value;
    E error;
  } storage_;
  bool has_value_;
};

// Result<void, E>: success carries nothing.
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result(Ok) : has_value_(true), error_() {}
  template <typename U>
  Result(Err<U> err) : has_value_(false), error_(std::move(err.error)) {}

  bool ok() const { return has_value_; }
  explicit operator bool() const { return has_value_; }
  const E& error() const { return error_; }

 private:
  bool has_value_;
  E error_;
};

}  // namespace vg

// Propagates the error of a Result-returning expression, else yields its value.
// GNU statement expressions are supported by both GCC and Clang.
#define VG_TRY(expr)                            \
  ({                                            \
    auto vg_try_result_ = (expr);               \
    if (!vg_try_result_.ok()) {                 \
      return ::vg::Err{vg_try_result_.error()}; \
    }                                           \
    std::move(vg_try_result_).value();          \
  })

// Propagates the error of a Result<void, E>.
#define VG_TRY_VOID(expr)                       \
  do {                                          \
    auto vg_try_result_ = (expr);               \
    if (!vg_try_result_.ok()) {                 \
      return ::vg::Err{vg_try_result_.error()}; \
    }                                           \
  } while (0)
