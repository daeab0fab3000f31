#include "analyzer/insn/trust_rules.h"

#include <algorithm>
#include <array>
#include <utility>

namespace vg::analyzer::insn {
namespace {

using Entry = std::pair<std::string_view, std::string_view>;  // name, mechanism

// Sorted by name for binary search; the static_assert below keeps it so.
constexpr std::array kPatchingMachinery = std::to_array<Entry>({
    {"__bpf_arch_text_poke", "bpf"},
    {"__ftrace_modify_code", "ftrace"},
    {"__ftrace_replace_code", "ftrace"},
    {"__jump_label_transform", "jump label"},
    {"__static_call_transform", "static call"},
    {"__static_call_update", "static call"},
    {"__static_call_update_early", "static call"},
    {"__text_poke", "text_poke"},
    {"alternatives_enable_smp", "alternatives"},
    {"alternatives_smp_lock", "alternatives"},
    {"alternatives_smp_module_add", "alternatives"},
    {"alternatives_smp_module_del", "alternatives"},
    {"alternatives_smp_unlock", "alternatives"},
    {"apply_alternatives", "alternatives"},
    {"apply_fineibt", "alternatives"},
    {"apply_ibt_endbr", "alternatives"},
    {"apply_paravirt", "paravirt"},
    {"apply_relocate_add", "module relocation"},
    {"apply_retpolines", "alternatives"},
    {"apply_returns", "alternatives"},
    {"apply_seal_endbr", "alternatives"},
    {"arch_arm_kprobe", "kprobes"},
    {"arch_disarm_kprobe", "kprobes"},
    {"arch_jump_label_transform", "jump label"},
    {"arch_jump_label_transform_apply", "jump label"},
    {"arch_jump_label_transform_queue", "jump label"},
    {"arch_optimize_kprobes", "kprobes"},
    {"arch_static_call_transform", "static call"},
    {"arch_unoptimize_kprobe", "kprobes"},
    {"arch_unoptimize_kprobes", "kprobes"},
    {"bpf_arch_text_copy", "bpf"},
    {"bpf_arch_text_invalidate", "bpf"},
    {"bpf_arch_text_poke", "bpf"},
    {"callthunks_patch_builtin_calls", "call depth tracking"},
    {"callthunks_patch_module_calls", "call depth tracking"},
    {"ftrace_make_call", "ftrace"},
    {"ftrace_make_nop", "ftrace"},
    {"ftrace_modify_all_code", "ftrace"},
    {"ftrace_modify_call", "ftrace"},
    {"ftrace_modify_code", "ftrace"},
    {"ftrace_modify_code_direct", "ftrace"},
    {"ftrace_replace_code", "ftrace"},
    {"ftrace_update_ftrace_func", "ftrace"},
    {"jump_label_transform", "jump label"},
    {"optimize_nops", "alternatives"},
    {"paravirt_patch", "paravirt"},
    {"patch_dest", "call depth tracking"},
    {"poke_int3_handler", "text_poke"},
    {"text_poke", "text_poke"},
    {"text_poke_apply_relocation", "text_poke"},
    {"text_poke_bp", "text_poke"},
    {"text_poke_bp_batch", "text_poke"},
    {"text_poke_copy", "text_poke"},
    {"text_poke_copy_locked", "text_poke"},
    {"text_poke_early", "text_poke"},
    {"text_poke_finish", "text_poke"},
    {"text_poke_kgdb", "text_poke"},
    {"text_poke_loc_init", "text_poke"},
    {"text_poke_memcpy", "text_poke"},
    {"text_poke_memset", "text_poke"},
    {"text_poke_queue", "text_poke"},
    {"text_poke_set", "text_poke"},
    {"text_poke_sync", "text_poke"},
});

constexpr bool sorted_by_name() {
  for (size_t i = 1; i < kPatchingMachinery.size(); ++i) {
    if (!(kPatchingMachinery[i - 1].first < kPatchingMachinery[i].first)) return false;
  }
  return true;
}
static_assert(sorted_by_name(), "kPatchingMachinery must stay sorted for binary search");

}  // namespace

std::string_view base_function_name(std::string_view name) {
  // GCC's clones and split parts: "f.cold", "f.part.0", "f.constprop.0",
  // "f.isra.0", "f.lto_priv.0", and combinations; the first dot ends the name.
  const size_t dot = name.find('.');
  return dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string_view patching_mechanism(std::string_view function_name) {
  const std::string_view base = base_function_name(function_name);
  const auto it =
      std::lower_bound(kPatchingMachinery.begin(), kPatchingMachinery.end(), base,
                       [](const Entry& entry, std::string_view key) { return entry.first < key; });
  if (it == kPatchingMachinery.end() || it->first != base) return {};
  return it->second;
}

}  // namespace vg::analyzer::insn
