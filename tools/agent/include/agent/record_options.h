// Command line of the agent's record mode (`vmplguard-agent --record FILE`).
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace vg::agent {

struct RecordOptions {
  std::string trace_path;     // --record FILE ('-': standard output)
  std::string boot_baseline;  // --boot-baseline FILE: on-disk bytes of [_text, _etext)
  std::string boot_sites;     // --boot-sites FILE: link addresses where patch sites start
  std::string watch_data;     // --watch-data FILE: critical data objects to snapshot (data_watch.h)
  std::string kcore = "/proc/kcore";
  std::string control;  // --control FIFO: phase names, one a line
  std::string ready_file;
  std::string kallsyms = "/proc/kallsyms";
  std::string notes = "/sys/kernel/notes";
  // Link address of _text: x86-64's __START_KERNEL_map + CONFIG_PHYSICAL_START
  // (0x1000000), the value of every Debian x86-64 kernel.
  uint64_t link_text = 0xffffffff81000000;
};

// True when the command line asks for record mode (any `--record`).
bool wants_record_mode(int argc, const char* const* argv);

// Parses a record-mode command line. Options of the normal mode (--policy,
// --output, ...) are refused: a record run classifies nothing.
Result<RecordOptions, std::string> parse_record_options(int argc, const char* const* argv);

const char* record_usage();

}  // namespace vg::agent
