/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Compiled once against the monitor's vmplguard_abi.h and once against the
 * copy the Linux patch series adds: if either copy lays out a structure
 * differently from what the other side was written for, one of the two
 * compilations fails. VG_ABI_HEADER names the header under test.
 */
#include <stddef.h>

#include VG_ABI_HEADER

#define VG_CHECK(expr) _Static_assert(expr, #expr)

VG_CHECK(VG_PROTOCOL == 0x80564750u);
VG_CHECK(VG_ABI_VERSION == 1u);
VG_CHECK(VG_CALL_QUERY == 0u && VG_CALL_REGISTER_KERNEL == 1u);
VG_CHECK(VG_CALL_LOCK_RO_AFTER_INIT == 2u && VG_CALL_TEXT_PATCH == 3u);
VG_CHECK(VG_CALL_REGISTER_MODULE == 4u && VG_CALL_UNREGISTER_MODULE == 5u);
VG_CHECK(VG_CALL_MEDIATED_WRITE == 6u && VG_CALL_SETUP_RING == 7u);
VG_CHECK(VG_CALL_BPF_JIT_MAP == 8u && VG_CALL_FREE_INIT == 9u);
VG_CHECK(VG_RESULT_DENIED == 0x80001000u);
VG_CHECK(VG_RESULT_POLICY_MISMATCH == 0x80001003u);

/* struct vg_register_kernel */
VG_CHECK(sizeof(struct vg_register_kernel) == 72);
VG_CHECK(offsetof(struct vg_register_kernel, abi_version) == 0);
VG_CHECK(offsetof(struct vg_register_kernel, build_id_size) == 4);
VG_CHECK(offsetof(struct vg_register_kernel, build_id) == 8);
VG_CHECK(offsetof(struct vg_register_kernel, text_va) == 40);
VG_CHECK(offsetof(struct vg_register_kernel, text_gpa) == 48);
VG_CHECK(offsetof(struct vg_register_kernel, kernel_size) == 56);
VG_CHECK(offsetof(struct vg_register_kernel, flags) == 64);

/* struct vg_patch_entry and vg_patch_batch: 127 entries in one page */
VG_CHECK(VG_PATCH_MAGIC == 0x48435450u && VG_PATCH_MAX_BYTES == 16u);
VG_CHECK(sizeof(struct vg_patch_entry) == 32);
VG_CHECK(offsetof(struct vg_patch_entry, address) == 0);
VG_CHECK(offsetof(struct vg_patch_entry, length) == 8);
VG_CHECK(offsetof(struct vg_patch_entry, reserved) == 9);
VG_CHECK(offsetof(struct vg_patch_entry, bytes) == 16);
VG_CHECK(sizeof(struct vg_patch_batch) == 16);
VG_CHECK(offsetof(struct vg_patch_batch, magic) == 0);
VG_CHECK(offsetof(struct vg_patch_batch, count) == 4);
VG_CHECK(offsetof(struct vg_patch_batch, reserved) == 6);
VG_CHECK(offsetof(struct vg_patch_batch, sequence) == 8);
VG_CHECK(offsetof(struct vg_patch_batch, entries) == 16);
VG_CHECK(VG_PATCH_MAX_ENTRIES == 127u);
VG_CHECK(16 + VG_PATCH_MAX_ENTRIES * 32 <= 4096);

/* struct vg_module: fits in one page */
VG_CHECK(VG_MODULE_MAX_PAGES == 480u);
VG_CHECK(offsetof(struct vg_module, name) == 0);
VG_CHECK(offsetof(struct vg_module, text_va) == 56);
VG_CHECK(offsetof(struct vg_module, text_size) == 64);
VG_CHECK(offsetof(struct vg_module, page_count) == 72);
VG_CHECK(offsetof(struct vg_module, reserved) == 76);
VG_CHECK(offsetof(struct vg_module, page_gpa) == 80);
VG_CHECK(sizeof(struct vg_module) == 80 + 480 * 8);
VG_CHECK(sizeof(struct vg_module) <= 4096);

/* struct vg_mediated_write */
VG_CHECK(VG_MEDIATED_MAX_BYTES == 256u);
VG_CHECK(offsetof(struct vg_mediated_write, object_va) == 0);
VG_CHECK(offsetof(struct vg_mediated_write, offset) == 8);
VG_CHECK(offsetof(struct vg_mediated_write, length) == 12);
VG_CHECK(offsetof(struct vg_mediated_write, bytes) == 16);
VG_CHECK(sizeof(struct vg_mediated_write) == 272);

/* struct vg_bpf_jit */
VG_CHECK(sizeof(struct vg_bpf_jit) == 24);
VG_CHECK(offsetof(struct vg_bpf_jit, image_gpa) == 8);
VG_CHECK(offsetof(struct vg_bpf_jit, pages) == 16);

/* Telemetry ring header and records */
VG_CHECK(VG_RING_MAGIC == 0x474e4952u);
VG_CHECK(sizeof(struct vg_ring_header) == 40);
VG_CHECK(offsetof(struct vg_ring_header, magic) == 0);
VG_CHECK(offsetof(struct vg_ring_header, abi_version) == 4);
VG_CHECK(offsetof(struct vg_ring_header, record_size) == 6);
VG_CHECK(offsetof(struct vg_ring_header, capacity) == 8);
VG_CHECK(offsetof(struct vg_ring_header, next_sequence) == 16);
VG_CHECK(offsetof(struct vg_ring_header, overwritten) == 24);
VG_CHECK(offsetof(struct vg_ring_header, ack_sequence) == 32);
VG_CHECK(sizeof(struct vg_record) == 64);
VG_CHECK(offsetof(struct vg_record, sequence) == 0);
VG_CHECK(offsetof(struct vg_record, tsc) == 8);
VG_CHECK(offsetof(struct vg_record, kind) == 16);
VG_CHECK(offsetof(struct vg_record, verdict) == 18);
VG_CHECK(offsetof(struct vg_record, vmpl) == 19);
VG_CHECK(offsetof(struct vg_record, vcpu) == 20);
VG_CHECK(offsetof(struct vg_record, rip) == 24);
VG_CHECK(offsetof(struct vg_record, address) == 32);
VG_CHECK(offsetof(struct vg_record, gpa) == 40);
VG_CHECK(offsetof(struct vg_record, policy_offset) == 48);
VG_CHECK(offsetof(struct vg_record, detail) == 52);
VG_CHECK(offsetof(struct vg_record, value) == 56);
VG_CHECK(VG_KIND_TEXT_WRITE == 1u && VG_KIND_POLICY_REFUSED == 13u);
VG_CHECK(VG_VERDICT_ALLOWED == 0u && VG_VERDICT_STOPPED == 3u);

/* An empty translation unit is not ISO C. */
int vg_abi_layout_checked;
