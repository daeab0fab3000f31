// The rule that decides which functions form the trusted region.
//
// A function is trusted when
//  1. it holds an aligned privileged instruction found by the sweep (the code
//     that legitimately writes CRs, MSRs, descriptor tables, ...), reason
//     "privileged: <kinds>"; or
//  2. an alternative or paravirt site inside it can be patched with
//     replacement code holding a privileged instruction (the instruction will
//     run there after boot), reason "privileged via alternative: <kinds>"; or
//  3. it is the kernel's text-patching machinery: its name, with compiler
//     suffixes (".cold", ".part.N", ".constprop.N", ".isra.N", ".lto_priv.N")
//     removed, is in the list below, reason "patching machinery: <mechanism>".
// The list is explicit rather than "every caller of text_poke": a caller that
// only asks for a patch (a static key user, a kprobe registration) does not
// write text itself and stays untrusted. It was read off the symbol tables of
// Debian's 6.1 and 6.12 kernels (arch/x86/kernel/alternative.c, jump_label.c,
// static_call.c, ftrace.c, kprobes/, net/bpf_jit_comp.c, callthunks.c).
//
// Unintended privileged instructions are never trusted, even inside a trusted
// function: no legitimate code path executes them.
#pragma once

#include <string_view>

namespace vg::analyzer::insn {

// The mechanism a patching function belongs to ("text_poke", "ftrace", ...),
// or "" when the name is not patching machinery.
std::string_view patching_mechanism(std::string_view function_name);

// The name without a compiler-generated suffix: "apply_alternatives.cold" ->
// "apply_alternatives".
std::string_view base_function_name(std::string_view name);

}  // namespace vg::analyzer::insn
