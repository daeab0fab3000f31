#include "agent/record_options.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "agent/trace_writer.h"

namespace vg::agent {

bool wants_record_mode(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--record") return true;
  }
  return false;
}

const char* record_usage() {
  return "usage: vmplguard-agent --record FILE [--boot-baseline FILE [--boot-sites FILE]] [--kcore PATH]\n"
         "                       [--watch-data FILE]\n"
         "                       [--control FIFO]\n"
         "                       [--link-text HEX] [--ready-file PATH]\n"
         "                       [--kallsyms PATH] [--notes PATH]\n"
         "  Records every text patch, module load and pinned-register write into FILE\n"
         "  (docs/trace-format.md; '-' is standard output) until SIGTERM/SIGINT.\n"
         "  --boot-baseline FILE  on-disk bytes of the vmlinux text [_text, _etext): the running\n"
         "                        text (read from --kcore, default /proc/kcore) is compared with it\n"
         "                        and every difference becomes a `boot` record in phase `boot`\n"
         "  --boot-sites FILE     hex link addresses (one a line) where patch sites start: no\n"
         "                        `boot` record crosses one\n"
         "  --watch-data FILE     critical data objects, one a line: NAME LINK_VA SIZE PROTECTION\n"
         "                        (from the policy); each is read from --kcore when recording starts\n"
         "                        and at every phase boundary, and a `data` record is written for\n"
         "                        every object whose bytes changed since the previous read\n"
         "  --control FIFO        created if absent; each line written to it is a phase name: the\n"
         "                        agent drains the probes, writes `phase NAME`, then writes NAME to\n"
         "                        FIFO.ack (the driver waits for it before acting)\n"
         "  The probes' own attachment and detachment are recorded in phases `agent-attach`\n"
         "  and `agent-detach`.\n"
         "  --link-text HEX       link address of _text (default ffffffff81000000)\n";
}

Result<RecordOptions, std::string> parse_record_options(int argc, const char* const* argv) {
  RecordOptions options;
  bool have_trace = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool takes_value = arg == "--record" || arg == "--boot-baseline" || arg == "--boot-sites" ||
                             arg == "--watch-data" || arg == "--kcore" || arg == "--control" ||
                             arg == "--link-text" || arg == "--ready-file" || arg == "--kallsyms" ||
                             arg == "--notes";
    if (!takes_value) {
      if (arg == "--policy" || arg == "--output" || arg == "--metrics-port" || arg == "--dedup-window-ms") {
        return Err(arg + " is not used in record mode (a record run classifies and exports nothing)");
      }
      return Err("unknown record-mode option: " + arg);
    }
    if (i + 1 >= argc || argv[i + 1][0] == '\0') return Err(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--record") {
      if (have_trace) return Err(std::string("--record given twice"));
      have_trace = true;
      options.trace_path = value;
    } else if (arg == "--boot-baseline") {
      options.boot_baseline = value;
    } else if (arg == "--boot-sites") {
      options.boot_sites = value;
    } else if (arg == "--watch-data") {
      options.watch_data = value;
    } else if (arg == "--kcore") {
      options.kcore = value;
    } else if (arg == "--control") {
      options.control = value;
    } else if (arg == "--link-text") {
      std::string_view digits = value;
      if (digits.starts_with("0x")) digits.remove_prefix(2);
      char* end = nullptr;
      errno = 0;
      const std::string text(digits);
      const unsigned long long parsed = std::strtoull(text.c_str(), &end, 16);
      if (text.empty() || text.size() > 16 || errno != 0 || end != text.c_str() + text.size() ||
          text.find_first_of("+- ") != std::string::npos) {
        return Err("--link-text: not a hex address: " + value);
      }
      options.link_text = parsed;
    } else if (arg == "--ready-file") {
      options.ready_file = value;
    } else if (arg == "--kallsyms") {
      options.kallsyms = value;
    } else if (arg == "--notes") {
      options.notes = value;
    }
  }
  if (!have_trace) return Err(std::string("record mode needs --record FILE"));
  if (!options.boot_sites.empty() && options.boot_baseline.empty()) {
    return Err(std::string("--boot-sites needs --boot-baseline"));
  }
  return options;
}

}  // namespace vg::agent
