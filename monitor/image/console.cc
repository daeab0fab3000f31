#include "console.h"

namespace vg::image {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kDebugExitPort = 0xf4;

void outb(uint16_t port, uint8_t value) {
  // SAFETY: port I/O to COM1 or QEMU's debug-exit device, both owned by the
  // monitor in native mode; no memory is touched.
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

uint8_t inb(uint16_t port) {
  uint8_t value = 0;
  // SAFETY: reads a UART status register; no side effect beyond the device.
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

void put(char c) {
  // Wait for the transmit holding register to empty (LSR bit 5), bounded so
  // a missing UART cannot hang the monitor.
  for (int spin = 0; spin < 100000 && (inb(kCom1 + 5) & 0x20) == 0; ++spin) {
  }
  outb(kCom1, static_cast<uint8_t>(c));
}

}  // namespace

void console_init() {
  outb(kCom1 + 1, 0x00);  // no interrupts
  outb(kCom1 + 3, 0x80);  // DLAB on
  outb(kCom1 + 0, 0x01);  // divisor 1: 115200 baud
  outb(kCom1 + 1, 0x00);
  outb(kCom1 + 3, 0x03);  // 8N1, DLAB off
  outb(kCom1 + 2, 0xc7);  // FIFO on, cleared
}

void console_write(const char* text) {
  for (; *text != '\0'; ++text) {
    if (*text == '\n') put('\r');
    put(*text);
  }
}

void console_write_decimal(uint64_t value) {
  char digits[21];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  char out[22];
  for (int i = 0; i < count; ++i) out[i] = digits[count - 1 - i];
  out[count] = '\0';
  console_write(out);
}

void console_write_hex(uint64_t value) {
  constexpr char kHex[] = "0123456789abcdef";
  char out[19] = {'0', 'x'};
  for (int i = 0; i < 16; ++i) out[2 + i] = kHex[(value >> (60 - 4 * i)) & 0xf];
  out[18] = '\0';
  console_write(out);
}

[[noreturn]] void exit_emulator(uint8_t code) {
  outb(kDebugExitPort, code);
  for (;;) {
    // SAFETY: halting with interrupts off is the monitor's terminal state.
    asm volatile("cli; hlt");
  }
}

}  // namespace vg::image
