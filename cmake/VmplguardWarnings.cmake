# Warnings for code we own. Third-party headers come in as SYSTEM includes
# and are not held to these.
function(vg_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic
    -Wno-gnu-statement-expression -Wno-unknown-warning-option)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC does not know the clang spelling; statement expressions back VG_TRY.
    target_compile_options(${target} PRIVATE -Wno-pedantic)
  endif()
  if(VMPLGUARD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
