// collect_objects: find each critical object of object_table.cc in a vmlinux,
// size it and name the region that holds it.
//
// Cost on a real kernel (6.1: 590 MB file, 208 MB of DWARF): one pass over the
// symbol table, one pass over the .BTF types (about 5 MB). DWARF is read only
// when BTF is missing or unusable, or when an object is still unsized after
// BTF and the symbol table, and then only the top-level DIEs.
#include <elf.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer/objects/btf_sizes.h"
#include "analyzer/objects/dwarf_sizes.h"
#include "analyzer/objects/object_sizing.h"
#include "analyzer/objects/object_table.h"
#include "analyzer/stages.h"

namespace vg::analyzer {
namespace {

constexpr std::string_view kPercpuSection = ".data..percpu";

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%" PRIx64, value);
  return text;
}

bool is_data_symbol(const Symbol& symbol) {
  return symbol.type == STT_OBJECT || symbol.type == STT_NOTYPE;
}

// The one symbol that defines `name`, or an explanation of why there is none
// we can trust. A global wins over file-local statics of the same name (the
// kernel's statics like sig_enforce repeat across files); several distinct
// locals are ambiguous and are not guessed between.
struct Located {
  const Symbol* symbol = nullptr;
  std::string problem;
};

Located pick_symbol(std::string_view name, const std::vector<const Symbol*>& candidates) {
  Located located;
  if (candidates.empty()) return located;
  std::vector<const Symbol*> globals;
  for (const Symbol* candidate : candidates) {
    if (candidate->bind == STB_GLOBAL || candidate->bind == STB_WEAK) globals.push_back(candidate);
  }
  const std::vector<const Symbol*>& pool = globals.empty() ? candidates : globals;
  bool same_place = std::all_of(pool.begin(), pool.end(), [&](const Symbol* symbol) {
    return symbol->value == pool.front()->value && symbol->section == pool.front()->section;
  });
  if (same_place) {
    located.symbol = pool.front();
  } else {
    located.problem = std::string(name) + ": " + std::to_string(pool.size()) +
                      " different definitions in the symbol table; not protected (ambiguous)";
  }
  return located;
}

const Section* section_by_index(const ElfImage& image, uint16_t index) {
  for (const Section& section : image.sections()) {
    if (section.index == index) return &section;
  }
  return nullptr;
}

struct RoAfterInit {
  uint64_t start = 0;
  uint64_t end = 0;
  bool contains(uint64_t va) const { return va >= start && va < end; }
};

std::optional<RoAfterInit> ro_after_init_bounds(const ElfImage& image) {
  std::optional<uint64_t> start = image.symbol_address("__start_ro_after_init");
  std::optional<uint64_t> end = image.symbol_address("__end_ro_after_init");
  if (!start || !end || *end < *start) return std::nullopt;
  return RoAfterInit{*start, *end};
}

// Everything learned about one present object before sizing.
struct Candidate {
  const CriticalObjectSpec* spec = nullptr;
  const Symbol* symbol = nullptr;
  const Section* section = nullptr;
  std::string region;
  SizeEvidence evidence;
};

// The BTF size for an object: its VAR entry when BTF has one (per-CPU
// variables; the DATASEC offset must match the symbol, which tells apart
// same-named statics), else the size of its declared type.
std::optional<uint64_t> btf_size_for(const BtfIndex& btf, const Candidate& candidate) {
  const Symbol& symbol = *candidate.symbol;
  uint64_t offset_in_section = symbol.value - candidate.section->address;
  for (const BtfVariable& variable : btf.variables(candidate.spec->name)) {
    if (!variable.section_offset || *variable.section_offset == offset_in_section) return variable.size;
  }
  if (!candidate.spec->declared_type.empty()) return btf.type_size(candidate.spec->declared_type);
  return std::nullopt;
}

std::optional<uint64_t> dwarf_size_for(const DwarfScan& scan, const Candidate& candidate) {
  auto found = scan.variables.find(candidate.spec->name);
  if (found == scan.variables.end()) return std::nullopt;
  const std::vector<DwarfVariable>& variables = found->second;
  // The definition at the symbol's address; else the only definition without
  // a plain address; else a declaration's complete type (objects defined in
  // assembly are declared `extern` in C).
  for (const DwarfVariable& variable : variables) {
    if (variable.definition && variable.address == candidate.symbol->value) return variable.size;
  }
  std::optional<uint64_t> unplaced;
  int unplaced_count = 0;
  for (const DwarfVariable& variable : variables) {
    if (variable.definition && !variable.address) {
      unplaced = variable.size;
      ++unplaced_count;
    }
  }
  if (unplaced_count == 1) return unplaced;
  bool any_definition = std::any_of(variables.begin(), variables.end(),
                                    [](const DwarfVariable& variable) { return variable.definition; });
  if (any_definition) return std::nullopt;  // definitions exist, none of them this one
  return variables.front().size;
}

}  // namespace

Result<void, Diagnostic> collect_objects(const ElfImage& image, Analysis& out) {
  const auto started = std::chrono::steady_clock::now();
  std::span<const CriticalObjectSpec> table = critical_object_table();

  // One pass over the symbol table for every name of the table.
  std::unordered_map<std::string_view, std::vector<const Symbol*>> by_name;
  for (const CriticalObjectSpec& spec : table) by_name.try_emplace(spec.name);
  for (const Symbol& symbol : image.symbols()) {
    if (!is_data_symbol(symbol)) continue;
    auto found = by_name.find(symbol.name);
    if (found != by_name.end()) found->second.push_back(&symbol);
  }

  std::optional<RoAfterInit> ro_after_init = ro_after_init_bounds(image);
  std::vector<CriticalObjectInfo> objects;
  std::vector<Candidate> candidates;  // parallel to the present entries of `objects`
  std::vector<size_t> candidate_slot;
  for (const CriticalObjectSpec& spec : table) {
    CriticalObjectInfo info;
    info.name = std::string(spec.name);
    info.why = std::string(spec.why);
    info.protection = spec.protection;
    Located located = pick_symbol(spec.name, by_name[spec.name]);
    if (!located.problem.empty()) out.notes.push_back(located.problem);
    if (located.symbol != nullptr) {
      const Symbol& symbol = *located.symbol;
      const Section* section = section_by_index(image, symbol.section);
      if (section == nullptr || !section->contains(symbol.value)) {
        return Err{image.error(std::string(spec.name) + ": symbol at " + hex(symbol.value) +
                               " is not inside section index " + std::to_string(symbol.section))};
      }
      Candidate candidate;
      candidate.spec = &spec;
      candidate.symbol = &symbol;
      candidate.section = section;
      if (section->name == kPercpuSection) {
        candidate.region = "percpu";
      } else if (ro_after_init && ro_after_init->contains(symbol.value)) {
        candidate.region = "ro_after_init";
      } else {
        candidate.region = section->name;
      }
      candidate.evidence.symbol_size = symbol.size;
      candidate.evidence.room = section->size - (symbol.value - section->address);
      info.present = true;
      info.address = symbol.value;
      info.region = candidate.region;
      candidate_slot.push_back(objects.size());
      candidates.push_back(candidate);
    }
    objects.push_back(std::move(info));
  }

  // BTF: the section the kernel links in (allocated in vmlinux, a plain
  // section when added by pahole -J).
  bool btf_usable = false;
  if (const Section* btf_section = image.section(".BTF"); btf_section == nullptr) {
    out.notes.push_back(image.path() + ": no .BTF section; critical objects are sized from DWARF");
  } else if (btf_section->bytes.size == 0) {
    out.notes.push_back(image.path() +
                        ": .BTF section has no contents; critical objects are sized from DWARF");
  } else {
    std::vector<std::string_view> names;
    std::vector<std::string_view> types;
    for (const Candidate& candidate : candidates) {
      names.push_back(candidate.spec->name);
      types.push_back(candidate.spec->declared_type);
    }
    auto btf = BtfIndex::parse(btf_section->bytes, names, types);
    if (!btf.ok()) {
      out.notes.push_back(image.path() + ": " + btf.error() + "; critical objects are sized from DWARF");
    } else {
      btf_usable = true;
      for (Candidate& candidate : candidates)
        candidate.evidence.btf_size = btf_size_for(btf.value(), candidate);
    }
  }

  // DWARF only when it can still change an answer.
  std::vector<DwarfQuery> queries;
  for (const Candidate& candidate : candidates) {
    bool unsized = !candidate.evidence.btf_size && candidate.evidence.symbol_size == 0;
    if (!btf_usable || unsized) queries.push_back(DwarfQuery{candidate.spec->name, candidate.symbol->value});
  }
  if (!queries.empty()) {
    auto scan = scan_dwarf_variables(image.libelf_handle(), queries);
    if (!scan.ok()) {
      out.notes.push_back(image.path() + ": " + scan.error() +
                          "; critical objects are sized from the symbol table");
    } else {
      for (Candidate& candidate : candidates)
        candidate.evidence.dwarf_size = dwarf_size_for(scan.value(), candidate);
    }
  }

  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& candidate = candidates[i];
    CriticalObjectInfo& info = objects[candidate_slot[i]];
    SizeChoice choice = choose_size(candidate.spec->name, candidate.evidence);
    info.size = choice.size;
    info.size_source = choice.source;
    for (std::string& note : choice.notes) out.notes.push_back(std::move(note));
    if (candidate.region == "percpu") {
      out.notes.push_back(
          info.name + ": per-CPU object at offset " + hex(info.address) + " of " +
          std::string(kPercpuSection) +
          "; each CPU's copy lives at a run-time address, so the policy cannot pin it (reported only)");
    }
  }

  out.objects = std::move(objects);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  out.timings.push_back({"objects", took.count()});
  return Ok{};
}

}  // namespace vg::analyzer
