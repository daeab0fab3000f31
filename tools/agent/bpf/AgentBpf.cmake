# BPF probes and the agent binary. The probes are compiled against a
# vmlinux.h generated from the BTF of Debian's 6.12 cloud vmlinux (the
# machine's own /sys/kernel/btf/vmlinux is not the guest kernel's and may be
# newer); CO-RE relocations adapt them to the running kernel at load time.
# Without that vmlinux (tools/setup fetches it) the BPF part is skipped.

set(VMPLGUARD_BPF_VMLINUX
    "/var/cache/vmplguard/x612/usr/lib/debug/boot/vmlinux-6.12.117+deb12-cloud-amd64"
    CACHE FILEPATH "vmlinux whose BTF generates vmlinux.h for the agent's BPF programs")

find_program(VG_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(VG_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
find_library(VG_LIBBPF NAMES bpf)
find_library(VG_LIBBPF_STATIC NAMES libbpf.a)
find_library(VG_LIBELF_STATIC NAMES libelf.a)
find_library(VG_LIBZ_STATIC NAMES libz.a)

set(VG_AGENT_BPF_REASON "")
if(NOT EXISTS "${VMPLGUARD_BPF_VMLINUX}")
  set(VG_AGENT_BPF_REASON "${VMPLGUARD_BPF_VMLINUX} is absent (tools/setup fetches the Debian 6.12 debug kernel)")
elseif(NOT VG_CLANG)
  set(VG_AGENT_BPF_REASON "clang not found")
elseif(NOT VG_BPFTOOL)
  set(VG_AGENT_BPF_REASON "bpftool not found (Debian package bpftool)")
elseif(NOT VG_LIBBPF)
  set(VG_AGENT_BPF_REASON "libbpf not found (Debian package libbpf-dev)")
endif()

if(VG_AGENT_BPF_REASON)
  message(STATUS "vmplguard-agent: BPF probes and the agent binary are skipped: ${VG_AGENT_BPF_REASON}")
  set(VG_AGENT_HAVE_BPF OFF PARENT_SCOPE)
  set(VG_AGENT_HAVE_BPF OFF)
  return()
endif()
set(VG_AGENT_HAVE_BPF ON)

set(VG_BPF_GEN ${CMAKE_CURRENT_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${VG_BPF_GEN})
add_custom_command(
  OUTPUT ${VG_BPF_GEN}/vmlinux.h
  COMMAND ${VG_BPFTOOL} btf dump file ${VMPLGUARD_BPF_VMLINUX} format c > ${VG_BPF_GEN}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${VG_BPF_GEN}/vmlinux.h.tmp ${VG_BPF_GEN}/vmlinux.h
  DEPENDS ${VMPLGUARD_BPF_VMLINUX}
  COMMENT "vmlinux.h from the BTF of ${VMPLGUARD_BPF_VMLINUX}")
add_custom_command(
  OUTPUT ${VG_BPF_GEN}/vmplguard_agent.bpf.o
  COMMAND ${VG_CLANG} -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_x86 -I${VG_BPF_GEN}
          -I${CMAKE_CURRENT_SOURCE_DIR}/include -c ${CMAKE_CURRENT_SOURCE_DIR}/bpf/vmplguard_agent.bpf.c
          -o ${VG_BPF_GEN}/vmplguard_agent.bpf.o
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/bpf/vmplguard_agent.bpf.c ${CMAKE_CURRENT_SOURCE_DIR}/include/agent/probe_event.h
          ${VG_BPF_GEN}/vmlinux.h
  COMMENT "BPF object vmplguard_agent.bpf.o")
add_custom_command(
  OUTPUT ${VG_BPF_GEN}/vmplguard_agent.skel.h
  COMMAND ${VG_BPFTOOL} gen skeleton ${VG_BPF_GEN}/vmplguard_agent.bpf.o name vmplguard_agent_bpf
          > ${VG_BPF_GEN}/vmplguard_agent.skel.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${VG_BPF_GEN}/vmplguard_agent.skel.h.tmp ${VG_BPF_GEN}/vmplguard_agent.skel.h
  DEPENDS ${VG_BPF_GEN}/vmplguard_agent.bpf.o
  COMMENT "BPF skeleton vmplguard_agent.skel.h")
add_custom_target(vg_agent_skeleton DEPENDS ${VG_BPF_GEN}/vmplguard_agent.skel.h)

function(vg_agent_binary name)
  add_executable(${name} src/main.cc src/probes.cc src/record_main.cc)
  add_dependencies(${name} vg_agent_skeleton)
  target_include_directories(${name} SYSTEM PRIVATE ${VG_BPF_GEN})
  target_link_libraries(${name} PRIVATE vg_agent_record vg_agent_core ${ARGN})
  vg_warnings(${name})
endfunction()

vg_agent_binary(vmplguard-agent ${VG_LIBBPF} elf z)

# A fully static build for the QEMU test bed's initramfs (no libc there).
# Not in sanitizer builds: -static cannot link ASan, and vg_agent_core is
# instrumented there. tools/test runs the test bed from a plain build.
if(VMPLGUARD_SANITIZE OR VMPLGUARD_FUZZ)
  message(STATUS "vmplguard-agent: static agent skipped in sanitizer builds (tools/test builds it plainly)")
elseif(VG_LIBBPF_STATIC AND VG_LIBELF_STATIC AND VG_LIBZ_STATIC)
  vg_agent_binary(vmplguard-agent-static ${VG_LIBBPF_STATIC} ${VG_LIBELF_STATIC} ${VG_LIBZ_STATIC})
  target_link_options(vmplguard-agent-static PRIVATE -static)
else()
  message(STATUS "vmplguard-agent: static agent skipped (needs libbpf.a, libelf.a, libz.a)")
endif()

install(TARGETS vmplguard-agent RUNTIME DESTINATION sbin)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/vmplguard-agent.service DESTINATION lib/systemd/system)
