# The source lists of the portable monitor, shared by the hosted build
# (monitor/CMakeLists.txt) and the freestanding check (monitor/freestanding).
# VG_ROOT is the repository root.
set(VG_MONITOR_CORE_SOURCES
    ${VG_ROOT}/monitor/dispatch.cc
    ${VG_ROOT}/monitor/insn_length.cc
    ${VG_ROOT}/monitor/monitor.cc
    ${VG_ROOT}/monitor/page_walk.cc
    ${VG_ROOT}/monitor/pinned_registers.cc
    ${VG_ROOT}/monitor/telemetry.cc
    ${VG_ROOT}/monitor/violation.cc)
# The SVSM core protocol and the partition manager it hands VMSAs to.
set(VG_SVSM_SOURCES
    ${VG_ROOT}/monitor/svsm/core_protocol.cc
    ${VG_ROOT}/partitions/partitions.cc
    ${VG_ROOT}/partitions/errors.cc)
set(VG_HAL_SNP_SOURCES ${VG_ROOT}/monitor/hal/snp/hal_snp.cc)
set(VG_HAL_SIM_SOURCES ${VG_ROOT}/monitor/hal/sim/hal_sim.cc)
# The image's own runtime: mem* functions and the halting vg::halt.
set(VG_MONITOR_LIB_SOURCES ${VG_ROOT}/monitor/lib/string.cc ${VG_ROOT}/monitor/lib/halt_snp.cc)
set(VG_MONITOR_INCLUDE_DIRS
    ${VG_ROOT}/monitor/include ${VG_ROOT}/monitor/hal/include ${VG_ROOT}/kci/include
    ${VG_ROOT}/base/include ${VG_ROOT}/policy/include ${VG_ROOT}/monitor/svsm/include
    ${VG_ROOT}/partitions/include)
