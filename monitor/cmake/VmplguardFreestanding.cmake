# Freestanding compilation for code that runs inside the VMPL0 image
# (monitor, kci, partitions). Components call vg_freestanding(target) on a
# library of their sources; the flags are also exported as
# VG_FREESTANDING_FLAGS for separate projects (monitor/freestanding).
#
# Why each flag: no hosted runtime (-ffreestanding -nostdlib), no unwinding
# or RTTI runtime (-fno-exceptions -fno-rtti), interrupts and #VC may arrive
# on the monitor's stack at any point (-mno-red-zone), no FPU/SIMD state is
# saved on entry (-mno-sse... -mgeneral-regs-only), no stack-protector
# runtime, and the image links in the top 2 GiB (-mcmodel=kernel -fno-pic).
set(VG_FREESTANDING_FLAGS
    -ffreestanding -fno-exceptions -fno-rtti -nostdlib -fno-threadsafe-statics
    -mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-avx -mno-80387 -mgeneral-regs-only
    -fno-stack-protector -mcmodel=kernel -fno-pic -fno-asynchronous-unwind-tables)

function(vg_freestanding target)
  target_compile_options(${target} PRIVATE ${VG_FREESTANDING_FLAGS})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
endfunction()
