// libFuzzer target: the readers collect_objects uses on hostile sections.
// The first byte picks the reader: even feeds the rest to BtfIndex::parse as
// a .BTF section, odd hands it to libdw as an ELF image for the DWARF scan.
// Either may refuse the input; neither may crash, leak or read out of bounds,
// and every lookup on an accepted index must answer.
#include <libelf.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "analyzer/objects/btf_sizes.h"
#include "analyzer/objects/dwarf_sizes.h"
#include "analyzer/objects/object_table.h"

namespace {

void fuzz_btf(const uint8_t* data, size_t size) {
  std::vector<std::string_view> names;
  std::vector<std::string_view> types;
  for (const vg::analyzer::CriticalObjectSpec& spec : vg::analyzer::critical_object_table()) {
    names.push_back(spec.name);
    types.push_back(spec.declared_type);
  }
  // libbpf keeps its own copy; a private buffer lets ASan see over-reads.
  std::vector<uint8_t> copy(data, data + size);
  auto index = vg::analyzer::BtfIndex::parse(vg::ByteView{copy.data(), copy.size()}, names, types);
  if (!index.ok()) return;
  for (size_t i = 0; i < names.size(); ++i) {
    for (const vg::analyzer::BtfVariable& variable : index->variables(names[i])) (void)variable.size;
    if (!types[i].empty()) (void)index->type_size(types[i]);
  }
}

void fuzz_dwarf(const uint8_t* data, size_t size) {
  std::vector<char> copy(data, data + size);
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(copy.data(), copy.size());
  if (elf == nullptr) return;
  std::vector<vg::analyzer::DwarfQuery> queries;
  for (const vg::analyzer::CriticalObjectSpec& spec : vg::analyzer::critical_object_table()) {
    queries.push_back(vg::analyzer::DwarfQuery{spec.name, 0});
  }
  auto scan = vg::analyzer::scan_dwarf_variables(elf, queries);
  (void)scan.ok();
  elf_end(elf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1) == 0) {
    fuzz_btf(data + 1, size - 1);
  } else {
    fuzz_dwarf(data + 1, size - 1);
  }
  return 0;
}
