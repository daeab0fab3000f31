# Warnings for code we own. Third-party headers come in as SYSTEM includes
# and are not held to these.
function(vg_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic
    -Wno-gnu-statement-expression -Wno-unknown-warning-option)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # vmplguard_abi.h is a C header shared with the Linux guest patches; its
    # flexible array member (vg_patch_batch.entries) is C99, not ISO C++.
    target_compile_options(${target} PRIVATE -Wno-c99-extensions)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC does not know the clang spelling; statement expressions back VG_TRY.
    target_compile_options(${target} PRIVATE -Wno-pedantic)
    # GCC 12's object-size analysis reports impossible bounds (2^64 - 7) in
    # libstdc++'s std::fill/vector code once ASan instrumentation is inlined
    # at -O2; the sanitizers themselves check these accesses at run time.
    target_compile_options(${target} PRIVATE -Wno-stringop-overflow -Wno-stringop-overread)
    if(VMPLGUARD_SANITIZE)
      # With ASan inlined, GCC 12 also reports libstdc++'s own <regex> and
      # std::function internals as maybe-uninitialized and out of bounds.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-array-bounds)
    endif()
  endif()
  if(VMPLGUARD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
