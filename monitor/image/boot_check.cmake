# Builds the monitor image, checks the ELF (static executable, no
# interpreter, no undefined symbol, a PVH entry note) and boots it under
# QEMU TCG in native mode, where it must print a self-test summary with no
# failure on its serial port and exit through isa-debug-exit.
#   cmake -DVG_ROOT=... -DVG_BINARY_DIR=... [-DVG_GENERATOR=...] -P boot_check.cmake
include(${VG_ROOT}/cmake/VmplguardSubBuild.cmake)
set(build_dir ${VG_BINARY_DIR})
vg_sub_build(image ${VG_ROOT}/monitor/image ${build_dir})
set(image ${build_dir}/vmplguard-monitor.elf)

execute_process(COMMAND readelf -lhW ${image} OUTPUT_VARIABLE headers RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT headers MATCHES "Type: +EXEC")
  message(FATAL_ERROR "the image is not a static executable:\n${headers}")
endif()
if(headers MATCHES "INTERP" OR headers MATCHES "DYNAMIC")
  message(FATAL_ERROR "the image has an interpreter or dynamic section:\n${headers}")
endif()
if(NOT headers MATCHES "NOTE")
  message(FATAL_ERROR "the image has no PT_NOTE segment (PVH entry):\n${headers}")
endif()
execute_process(COMMAND nm -u ${image} OUTPUT_VARIABLE undefined)
string(STRIP "${undefined}" undefined)
if(NOT undefined STREQUAL "")
  message(FATAL_ERROR "the image has undefined symbols:\n${undefined}")
endif()

find_program(QEMU qemu-system-x86_64)
if(NOT QEMU)
  message(FATAL_ERROR "qemu-system-x86_64 not found: run tools/setup (package qemu-system-x86)")
endif()
set(serial ${build_dir}/serial.log)
file(REMOVE ${serial})
# TCG, never KVM (it hangs on our machines); the serial port goes to a file
# so the check works without a terminal.
execute_process(
  COMMAND ${QEMU} -accel tcg -m 128 -display none -monitor none -no-reboot
          -serial file:${serial} -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel ${image}
  RESULT_VARIABLE exit_code TIMEOUT 120)
file(READ ${serial} console)
message(STATUS "serial console:\n${console}")
if(NOT console MATCHES "vmplguard self-test: ([0-9]+) passed, ([0-9]+) failed")
  message(FATAL_ERROR "no self-test summary on the serial console (QEMU exit ${exit_code})")
endif()
set(passed ${CMAKE_MATCH_1})
set(failed ${CMAKE_MATCH_2})
if(NOT failed EQUAL 0 OR passed EQUAL 0)
  message(FATAL_ERROR "self-tests: ${passed} passed, ${failed} failed")
endif()
# isa-debug-exit: status (0x10 << 1) | 1 means "all passed".
if(NOT exit_code EQUAL 33)
  message(FATAL_ERROR "QEMU exit status ${exit_code}, expected 33 (image reported success)")
endif()
