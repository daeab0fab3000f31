// collect_regions: the kernel image split into regions that each get one set
// of run-time permissions.
//
// Permissions follow what the kernel itself does: mark_rodata_ro() makes
// [_text, __end_rodata_hpage_align) read-only, which also locks
// ro_after_init (a range inside .rodata, not a section); free_initmem() hands
// init memory to the page allocator, so init text stops being executable and
// becomes ordinary writable memory. No region is ever writable and executable.
#include <elf.h>

#include <algorithm>
#include <chrono>

#include "analyzer/layout.h"
#include "analyzer/site_tables.h"
#include "analyzer/stages.h"

namespace vg::analyzer {
namespace {

using policy::RegionKind;

constexpr uint8_t kR = policy::kPermRead;
constexpr uint8_t kRW = policy::kPermRead | policy::kPermWrite;
constexpr uint8_t kRX = policy::kPermRead | policy::kPermSupervisorExec;

RegionInfo make_region(std::string name, RegionKind kind, uint64_t start, uint64_t size) {
  RegionInfo region;
  region.name = std::move(name);
  region.kind = kind;
  region.start = start;
  region.size = size;
  switch (kind) {
    case RegionKind::kText:
      region.perms_boot = kRX;
      region.perms_final = kRX;
      break;
    case RegionKind::kRodata:
      region.perms_boot = kR;
      region.perms_final = kR;
      break;
    case RegionKind::kRoAfterInit:
      region.perms_boot = kRW;
      region.perms_final = kR;
      break;
    case RegionKind::kData:
    case RegionKind::kBss:
    case RegionKind::kInitData:
      region.perms_boot = kRW;
      region.perms_final = kRW;
      break;
    case RegionKind::kInitText:
      region.perms_boot = kRX;
      region.perms_final = kRW;
      break;
  }
  return region;
}

constexpr uint64_t kPage = 4096;

// Linux maps init memory RWX until free_initmem; the monitor never makes a
// page W+X. A writable init section sharing a page with init code (6.12.117:
// .apicdrivers, 32 bytes of driver pointers between .altinstr_replacement
// and .exit.text, only read) is therefore read-only until FREE_INIT: a boot
// write to it would fault, which the note makes visible.
void drop_write_beside_init_text(std::vector<RegionInfo>& regions, std::vector<std::string>& notes) {
  auto pages_of = [](const RegionInfo& r) {
    return std::make_pair(r.start / kPage, (r.start + r.size - 1) / kPage);
  };
  for (RegionInfo& data : regions) {
    if (data.kind != RegionKind::kInitData || (data.perms_boot & policy::kPermWrite) == 0) continue;
    const auto [first, last] = pages_of(data);
    for (const RegionInfo& text : regions) {
      if (text.kind != RegionKind::kInitText) continue;
      const auto [text_first, text_last] = pages_of(text);
      if (text_last < first || last < text_first) continue;
      data.perms_boot = kR;
      notes.push_back(data.name + " at " + hex(data.start) + " shares a page with init code " + text.name +
                      ": read-only until init memory is freed (no page is W+X)");
      break;
    }
  }
}

}  // namespace

AddressRange init_range(const ElfImage& image) {
  const auto begin = image.symbol_address("__init_begin");
  const auto end = image.symbol_address("__init_end");
  if (!begin || !end || *end <= *begin) return {};
  return {*begin, *end};
}

Result<void, Diagnostic> collect_regions(const ElfImage& image, Analysis& out) {
  const auto started = std::chrono::steady_clock::now();
  const AddressRange init = init_range(image);
  AddressRange rodata;
  if (auto begin = image.symbol_address("__start_rodata"), end = image.symbol_address("__end_rodata");
      begin && end && *begin < *end) {
    rodata = {*begin, *end};
  }
  AddressRange ro_after_init;
  const auto ro_begin = image.symbol_address("__start_ro_after_init");
  const auto ro_end = image.symbol_address("__end_ro_after_init");
  if (ro_begin.has_value() != ro_end.has_value() || (ro_begin && *ro_end < *ro_begin)) {
    return Err{image.error(
        "ro_after_init bounds __start_ro_after_init/__end_ro_after_init are incomplete or reversed")};
  }
  if (ro_begin) ro_after_init = {*ro_begin, *ro_end};
  bool ro_after_init_placed = ro_after_init.empty();

  // The kernel registers [_text, _end) with the monitor (vg_register_kernel
  // kernel_size), so a region past _end could never be covered: 6.12 links
  // .init.scratch (early boot page-table scratch, writable, never executed)
  // at the next 2 MiB boundary after _end.
  const auto image_end = image.symbol_address("_end");

  std::vector<RegionInfo> regions;
  for (const Section& section : image.sections()) {
    // .data..percpu has VA 0: its symbols are per-CPU offsets. Its boot copy
    // is covered below through __per_cpu_load.
    if (!section.allocated() || section.size == 0 || section.address == 0) continue;
    if (image_end && section.address >= *image_end) {
      out.notes.push_back(section.name + " at " + hex(section.address) +
                          " lies past _end: outside the image the kernel registers, not a region");
      continue;
    }
    RegionKind kind;
    if (init.contains(section.address)) {
      kind = section.executable() ? RegionKind::kInitText : RegionKind::kInitData;
    } else if (section.executable()) {
      kind = RegionKind::kText;
    } else if (section.type == SHT_NOBITS) {
      kind = RegionKind::kBss;
    } else if (!section.writable() || rodata.contains(section.address)) {
      kind = RegionKind::kRodata;
    } else {
      kind = RegionKind::kData;
    }
    const uint64_t end = section.address + section.size;
    if (!ro_after_init.empty() && ro_after_init.begin >= section.address && ro_after_init.begin < end) {
      if (ro_after_init.end > end) {
        return Err{image.error("ro_after_init " + hex(ro_after_init.begin) + ".." + hex(ro_after_init.end) +
                               " runs past the end of " + section.name)};
      }
      if (kind != RegionKind::kRodata) {
        return Err{image.error("ro_after_init lies in " + section.name + ", which is not read-only data")};
      }
      if (ro_after_init.begin > section.address) {
        regions.push_back(
            make_region(section.name, kind, section.address, ro_after_init.begin - section.address));
      }
      regions.push_back(make_region("ro_after_init", RegionKind::kRoAfterInit, ro_after_init.begin,
                                    ro_after_init.end - ro_after_init.begin));
      if (end > ro_after_init.end) {
        regions.push_back(make_region(section.name, kind, ro_after_init.end, end - ro_after_init.end));
      }
      ro_after_init_placed = true;
      continue;
    }
    RegionInfo region = make_region(section.name, kind, section.address, section.size);
    // Read-only tables in init memory (.altinstructions, .retpoline_sites,
    // ...) are only read until free_initmem: read-only at boot, so that the
    // init code sharing their pages can stay executable without W+X.
    if (kind == RegionKind::kInitData && !section.writable()) region.perms_boot = kR;
    regions.push_back(region);
  }
  if (!ro_after_init_placed) {
    return Err{image.error("ro_after_init " + hex(ro_after_init.begin) + " lies in no allocated section")};
  }
  // The boot copy of the per-CPU area sits in init memory at __per_cpu_load.
  const Section* percpu = image.section(".data..percpu");
  const auto percpu_load = image.symbol_address("__per_cpu_load");
  if (percpu != nullptr && percpu->address == 0 && percpu->size > 0 && percpu_load && *percpu_load != 0) {
    const RegionInfo copy =
        make_region(".data..percpu (boot copy)", RegionKind::kInitData, *percpu_load, percpu->size);
    const bool clashes = std::any_of(regions.begin(), regions.end(), [&](const RegionInfo& region) {
      return copy.start < region.start + region.size && region.start < copy.start + copy.size;
    });
    if (clashes) {
      out.notes.push_back("per-CPU boot copy at " + hex(copy.start) +
                          " overlaps another section; not a region");
    } else {
      regions.push_back(copy);
    }
  }
  std::sort(regions.begin(), regions.end(),
            [](const RegionInfo& a, const RegionInfo& b) { return a.start < b.start; });
  drop_write_beside_init_text(regions, out.notes);
  out.regions = std::move(regions);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.timings.push_back({"regions", took.count()});
  return Ok{};
}

}  // namespace vg::analyzer
