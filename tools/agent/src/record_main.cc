// vmplguard-agent --record: the record mode's front end. Writes a `vgtrace`
// (docs/trace-format.md) of what the running kernel does to its own code:
// the boot-time difference against the on-disk text, then every batch and
// raw text write, module text, and control register write the probes see,
// in the phases a driver script announces through a FIFO.
#include "record_main.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "agent/boot_diff.h"
#include "agent/data_watch.h"
#include "agent/kallsyms_table.h"
#include "agent/kernel_identity.h"
#include "agent/record_options.h"
#include "agent/record_session.h"
#include "agent/trace_writer.h"
#include "probes.h"

namespace vg::agent {
namespace {

volatile sig_atomic_t g_record_stop = 0;

void on_record_stop(int) {
  g_record_stop = 1;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "vmplguard-agent: record: %s\n", message.c_str());
  return 1;
}

// Phase names arrive on a FIFO, one a line. Opened read-write so that the
// FIFO never reports end-of-file between two writers.
class ControlFifo {
 public:
  ~ControlFifo() {
    if (fd_ >= 0) close(fd_);
  }
  Result<void, std::string> open_path(const std::string& path) {
    path_ = path;
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) {
      if (mkfifo(path.c_str(), 0600) != 0) return Err(path + ": mkfifo: " + std::strerror(errno));
    } else if (!S_ISFIFO(info.st_mode)) {
      return Err(path + ": exists and is not a FIFO");
    }
    fd_ = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) return Err(path + ": " + std::strerror(errno));
    return Ok{};
  }
  // Complete lines read so far (without their newline).
  std::vector<std::string> read_lines() {
    std::vector<std::string> lines;
    if (fd_ < 0) return lines;
    char buffer[512];
    ssize_t got;
    while ((got = read(fd_, buffer, sizeof(buffer))) > 0) {
      pending_.append(buffer, static_cast<size_t>(got));
      if (pending_.size() > 4096) pending_.clear();  // a runaway writer: nothing sane to salvage
    }
    size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      lines.push_back(pending_.substr(0, newline));
      pending_.erase(0, newline + 1);
    }
    return lines;
  }
  void acknowledge(const std::string& name) const {
    const std::string ack = path_ + ".ack";
    const std::string tmp = ack + ".tmp";
    if (FILE* file = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(file, "%s\n", name.c_str());
      std::fclose(file);
      std::rename(tmp.c_str(), ack.c_str());
    }
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::string pending_;
};

struct KernelLayout {
  uint64_t text = 0, stext = 0, etext = 0, end = 0, poke_memset = 0;
};

Result<KernelLayout, std::string> kernel_layout(const std::string& kallsyms) {
  KernelLayout layout;
  layout.text = VG_TRY(kallsyms_address(kallsyms, "_text"));
  layout.stext = VG_TRY(kallsyms_address(kallsyms, "_stext"));
  layout.etext = VG_TRY(kallsyms_address(kallsyms, "_etext"));
  layout.end = VG_TRY(kallsyms_address(kallsyms, "_end"));
  if (auto memset = kallsyms_address(kallsyms, "text_poke_memset")) layout.poke_memset = *memset;
  if (layout.etext <= layout.text || layout.end < layout.etext || layout.etext - layout.text > (256u << 20)) {
    return Err(std::string("kallsyms: _text/_etext/_end out of order or too far apart"));
  }
  return layout;
}

// `boot` records: the running [_text, _etext) against the on-disk bytes.
Result<void, std::string> write_boot_diff(const RecordOptions& options, const KernelLayout& layout,
                                          TraceWriter& writer) {
  const uint64_t size = layout.etext - layout.text;
  auto disk = VG_TRY(read_file(options.boot_baseline, size + 1));
  if (disk.size() != size) {
    return Err(options.boot_baseline + ": " + std::to_string(disk.size()) +
               " bytes, but the running [_text, _etext) has " + std::to_string(size) +
               ": not this kernel's text");
  }
  std::vector<uint64_t> cuts;
  if (!options.boot_sites.empty()) {
    auto text = VG_TRY(read_file(options.boot_sites, 64u << 20));
    auto parsed = parse_cut_list(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
    if (!parsed) return Err(options.boot_sites + ": " + parsed.error());
    cuts = std::move(parsed).value();
  }
  auto live = VG_TRY(read_kcore(options.kcore, layout.text, size));
  const auto patches = diff_text(ByteView{disk.data(), disk.size()}, ByteView{live.data(), live.size()},
                                 options.link_text, cuts);
  uint64_t bytes = 0;
  for (const auto& patch : patches) {
    VG_TRY_VOID(writer.boot(patch));
    bytes += patch.length;
  }
  VG_TRY_VOID(writer.note("boot diff of [_text, _etext) (" + std::to_string(size) +
                          " bytes): " + std::to_string(patches.size()) + " records, " +
                          std::to_string(bytes) + " bytes differ; cut at 16 bytes and at " +
                          std::to_string(cuts.size()) + " site starts"));
  std::fprintf(stderr, "vmplguard-agent: record: boot diff: %zu records, %llu bytes differ\n", patches.size(),
               static_cast<unsigned long long>(bytes));
  return Ok{};
}

// The critical data objects of --watch-data, read through --kcore.
Result<std::unique_ptr<DataWatch>, std::string> open_data_watch(const RecordOptions& options,
                                                                uint64_t kaslr_offset) {
  auto text = VG_TRY(read_file(options.watch_data, 16u << 20));
  auto objects = parse_watch_list(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  if (!objects) return Err(options.watch_data + ": " + objects.error());
  const std::string kcore = options.kcore;
  return std::make_unique<DataWatch>(
      std::move(objects).value(), kaslr_offset,
      [kcore](uint64_t va, uint64_t size) { return read_kcore(kcore, va, size); });
}

int record(const RecordOptions& options) {
  auto notes = read_file(options.notes, 1u << 20);
  if (!notes) return fail(notes.error());
  auto build_id = build_id_from_notes(*notes);
  if (!build_id) return fail(options.notes + ": " + build_id.error());
  auto kallsyms_bytes = read_file(options.kallsyms, 256u << 20);
  if (!kallsyms_bytes) return fail(kallsyms_bytes.error());
  const std::string kallsyms(kallsyms_bytes->begin(), kallsyms_bytes->end());
  auto layout = kernel_layout(kallsyms);
  if (!layout) return fail(options.kallsyms + ": " + layout.error());
  if (layout->text < options.link_text) return fail("_text is below --link-text: wrong link address");
  const KallsymsTable symbols = KallsymsTable::parse(kallsyms);

  std::FILE* out = options.trace_path == "-" ? stdout : std::fopen(options.trace_path.c_str(), "w");
  if (out == nullptr) return fail(options.trace_path + ": " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(out == stdout ? nullptr : out, std::fclose);
  TraceWriter writer(out);
  utsname uts{};
  uname(&uts);
  TraceKernel kernel{uts.release, hex(build_id->data(), build_id->size()), options.link_text,
                     layout->text - options.link_text};
  auto status = writer.begin(kernel);
  // Before any probe attaches: attaching patches fentry sites itself.
  if (status && !options.boot_baseline.empty()) status = writer.phase("boot");
  if (status && !options.boot_baseline.empty()) status = write_boot_diff(options, *layout, writer);
  // The data baseline: user space runs, so the kernel has locked its text
  // and ro_after_init; what changes from here on is post-boot behaviour.
  std::unique_ptr<DataWatch> data_watch;
  if (status && !options.watch_data.empty()) {
    auto opened = open_data_watch(options, kernel.kaslr_offset);
    if (!opened) return fail(opened.error());
    data_watch = std::move(opened).value();
    status = data_watch->baseline(writer);
  }
  if (status) status = writer.phase("agent-attach");
  if (status) status = writer.flush();
  if (!status) return fail(status.error());
  // Before every phase line: the objects that changed during the phase ending.
  auto check_data = [&]() -> Result<void, std::string> {
    if (data_watch == nullptr) return Ok{};
    auto checked = data_watch->check(writer);
    if (!checked) return Err(checked.error());
    return Ok{};
  };

  RecordLayout record_layout{layout->text, layout->end, kernel.kaslr_offset, layout->poke_memset};
  RecordSession session(writer, record_layout,
                        [&](uint64_t address) { return symbols.function_at(address); });
  std::string write_error;
  auto on_sample = [&](ByteView sample) {
    if (!write_error.empty()) return;
    auto written = session.on_sample(sample);
    if (!written) write_error = written.error();
  };

  struct sigaction stop {};
  stop.sa_handler = on_record_stop;
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGINT, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto started = BpfProbes::start(layout->stext, on_sample, /*record_mode=*/true);
  if (!started) return fail(started.error());
  std::unique_ptr<BpfProbes> probes(*started);
  for (const auto& probe : probes->statuses()) {
    if (probe.attached) continue;
    status = writer.note("probe " + probe.name + " did not attach: its events are not in this trace");
    if (!status) return fail(status.error());
  }

  ControlFifo control;
  if (!options.control.empty()) {
    auto opened = control.open_path(options.control);
    if (!opened) return fail(opened.error());
  }
  if (!options.ready_file.empty()) {
    if (FILE* ready = std::fopen(options.ready_file.c_str(), "w")) {
      std::fprintf(ready, "%d\n", getpid());
      std::fclose(ready);
    }
  }

  while (!g_record_stop && write_error.empty()) {
    probes->poll(50);
    for (const std::string& line : control.read_lines()) {
      // Everything the kernel did before the driver asked for the next phase
      // is in the ring by now: deliver it before the phase line.
      probes->drain();
      if (!write_error.empty()) break;
      Result<void, std::string> switched = Ok{};
      if (valid_phase_name(line)) {
        switched = check_data();
        if (switched) switched = session.switch_phase(line);
      } else {
        switched = writer.note("control: bad phase name ignored: " + line);
      }
      if (!switched) {
        write_error = switched.error();
        break;
      }
      std::fprintf(stderr, "vmplguard-agent: record: phase %s\n", line.c_str());
      control.acknowledge(line);
    }
  }
  // The probes' own detachment (trampolines removed, JIT space wiped) is
  // recorded in its own phase, not in the driver's last one.
  probes->drain();
  if (write_error.empty()) {
    auto switched = check_data();
    if (switched) switched = session.switch_phase("agent-detach");
    if (!switched) write_error = switched.error();
  }
  probes->stop_and_drain();
  if (write_error.empty()) {
    auto checked = check_data();
    if (!checked) write_error = checked.error();
  }
  if (!write_error.empty()) return fail(write_error);
  const ProbeCounters counters = probes->counters();
  status = session.finish(counters.produced);
  if (!status) return fail(status.error());
  std::fprintf(
      stderr, "vmplguard-agent: record: %llu events, %llu lost, %llu patches, %llu lines\n",
      static_cast<unsigned long long>(session.decoded()),
      static_cast<unsigned long long>(counters.produced - std::min(counters.produced, session.decoded())),
      static_cast<unsigned long long>(session.patches()), static_cast<unsigned long long>(writer.lines()));
  if (data_watch != nullptr) {
    std::fprintf(stderr, "vmplguard-agent: record: %llu data records\n",
                 static_cast<unsigned long long>(data_watch->records()));
  }
  return 0;
}

}  // namespace

int run_record_mode(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(record_usage(), stderr);
      return 0;
    }
  }
  auto options = parse_record_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "vmplguard-agent: %s\n%s", options.error().c_str(), record_usage());
    return 2;
  }
  return record(*options);
}

}  // namespace vg::agent
