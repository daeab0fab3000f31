# Configures and builds monitor/freestanding, then checks the combined
# object: no undefined symbol except the allowlist, and the SEV-SNP
# instructions present with the APM's encodings.
#   cmake -DVG_ROOT=... -DVG_BINARY_DIR=... [-DVG_CXX_COMPILER=...] -P check.cmake
include(${VG_ROOT}/cmake/VmplguardSubBuild.cmake)
set(build_dir ${VG_BINARY_DIR})
vg_sub_build(freestanding ${VG_ROOT}/monitor/freestanding ${build_dir})

set(object ${build_dir}/vg_image.o)
execute_process(COMMAND nm -u ${object} RESULT_VARIABLE status OUTPUT_VARIABLE undefined)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nm failed on ${object}")
endif()

# Allowed: nothing from a C or C++ runtime. The only outside symbols are
# KCI's service methods while kci/*.cc has not landed (the image links them
# from KCI).
file(GLOB kci_sources ${VG_ROOT}/kci/*.cc)
string(REPLACE "\n" ";" lines "${undefined}")
set(bad "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX REPLACE "^U +" "" symbol "${line}")
  if(NOT kci_sources AND symbol MATCHES "^_ZN2vg3kci7Service")
    continue()
  endif()
  string(APPEND bad "  ${symbol}\n")
endforeach()
if(NOT bad STREQUAL "")
  message(FATAL_ERROR "undefined symbols in the freestanding monitor:\n${bad}")
endif()

# The .byte sequences must decode as the instructions they stand for.
execute_process(COMMAND objdump -d ${object} OUTPUT_VARIABLE disassembly RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "objdump failed on ${object}")
endif()
foreach(pair "f3 0f 01 fe;rmpadjust" "f2 0f 01 ff;pvalidate" "f3 0f 01 d9;vmgexit")
  list(GET pair 0 bytes)
  list(GET pair 1 mnemonic)
  if(NOT disassembly MATCHES "${bytes}[ \t]+${mnemonic}")
    message(FATAL_ERROR "${mnemonic} (${bytes}) not found in the freestanding object")
  endif()
endforeach()
message(STATUS "freestanding monitor: no unexpected undefined symbols; rmpadjust/pvalidate/vmgexit encoded")
