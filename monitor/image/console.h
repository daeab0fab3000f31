// The image's serial console (COM1, 16550 UART at port 0x3f8) and its way
// out under QEMU (isa-debug-exit). Native mode only: under SEV-SNP the
// monitor talks to the host through the GHCB instead.
#pragma once

#include <stdint.h>

namespace vg::image {

void console_init();
void console_write(const char* text);
void console_write_decimal(uint64_t value);
void console_write_hex(uint64_t value);

// Ends the run: QEMU's isa-debug-exit turns `code` into exit status
// (code << 1) | 1. Halts forever where no such device exists.
[[noreturn]] void exit_emulator(uint8_t code);

}  // namespace vg::image
