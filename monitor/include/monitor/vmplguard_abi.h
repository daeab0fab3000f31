/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vmplguard protocol ABI: the one definition of what the guest kernel and
 * the VMPL0 monitor exchange. Plain C so that the Linux guest patches can
 * carry an identical copy; docs/monitor-abi.md explains every field, and a
 * test compares this header with the kernel's copy.
 *
 * Calls follow the SVSM calling convention [SVSM 58019 4.1]: the guest puts
 * RAX = (protocol << 32) | call, arguments in RCX, RDX, R8, sets the calling
 * area's call-pending byte and asks the host to run VMPL0. The monitor
 * answers in RAX with an SVSM result code or one of vmplguard's own below.
 * Every structure is little-endian, naturally aligned, and fits in the page
 * the guest names by GPA; the monitor copies it out before it looks at it.
 */
#ifndef VMPLGUARD_ABI_H
#define VMPLGUARD_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __u8 vg_u8;
typedef __u16 vg_u16;
typedef __u32 vg_u32;
typedef __u64 vg_u64;
#else
#include <stdint.h>
typedef uint8_t vg_u8;
typedef uint16_t vg_u16;
typedef uint32_t vg_u32;
typedef uint64_t vg_u64;
#endif

/*
 * Protocol number in the vendor-specific range (bit 31 set) of the SVSM
 * protocol space; QUERY_PROTOCOL reports it [SVSM 58019 5.1].
 */
#define VG_PROTOCOL 0x80564750u /* bit 31 | 'VGP' */
#define VG_ABI_VERSION 1u

/* Calls of VG_PROTOCOL (the low 32 bits of RAX). */
#define VG_CALL_QUERY 0u            /* RCX <- ABI version, RDX <- feature bits */
#define VG_CALL_REGISTER_KERNEL 1u  /* RCX = GPA of struct vg_register_kernel */
#define VG_CALL_LOCK_RO_AFTER_INIT 2u
#define VG_CALL_TEXT_PATCH 3u       /* RCX = GPA of struct vg_patch_batch */
#define VG_CALL_REGISTER_MODULE 4u  /* RCX = GPA of struct vg_module */
#define VG_CALL_UNREGISTER_MODULE 5u /* RCX = module handle */
#define VG_CALL_MEDIATED_WRITE 6u   /* RCX = GPA of struct vg_mediated_write */
#define VG_CALL_SETUP_RING 7u       /* RCX = GPA of the ring's first page, RDX = pages */
#define VG_CALL_BPF_JIT_MAP 8u      /* RCX = GPA of struct vg_bpf_jit */
#define VG_CALL_FREE_INIT 9u        /* init text freed: drop its execute permission */
#define VG_CALL_ACK_RING 10u        /* RCX = last ring sequence the kernel consumed */

/*
 * Result codes in RAX. 0 and the 0x8000_00xx range are the SVSM spec's
 * [SVSM 58019 Table 5]; vmplguard's own start at 0x8000_1000.
 */
#define VG_RESULT_SUCCESS 0x00000000u
#define VG_RESULT_INCOMPLETE 0x80000000u
#define VG_RESULT_UNSUPPORTED_PROTOCOL 0x80000001u
#define VG_RESULT_UNSUPPORTED_CALL 0x80000002u
#define VG_RESULT_INVALID_ADDRESS 0x80000003u
#define VG_RESULT_INVALID_FORMAT 0x80000004u
#define VG_RESULT_INVALID_PARAMETER 0x80000005u
#define VG_RESULT_INVALID_REQUEST 0x80000006u
#define VG_RESULT_BUSY 0x80000007u
#define VG_RESULT_DENIED 0x80001000u          /* policy says no; a record was written */
#define VG_RESULT_NOT_REGISTERED 0x80001001u  /* call needs a registered kernel */
#define VG_RESULT_ALREADY_DONE 0x80001002u    /* one-shot call repeated (register, lock) */
#define VG_RESULT_POLICY_MISMATCH 0x80001003u /* kernel build id differs from the policy's */

/*
 * VG_CALL_REGISTER_KERNEL: where the kernel is, as the kernel sees itself.
 * The monitor trusts none of it: every range must match the policy's regions
 * once the KASLR slide (text_va - policy link_text_va) is applied.
 */
struct vg_register_kernel {
	vg_u32 abi_version;      /* VG_ABI_VERSION */
	vg_u32 build_id_size;    /* bytes used in build_id */
	vg_u8 build_id[32];      /* must equal the policy's build id */
	vg_u64 text_va;          /* runtime address of _text */
	vg_u64 text_gpa;         /* guest-physical address of _text */
	vg_u64 kernel_size;      /* bytes from _text to _end, physically contiguous */
	vg_u64 flags;            /* reserved, 0 */
};

/*
 * VG_CALL_TEXT_PATCH: one batch, one monitor round trip. Entries are applied
 * all or nothing: the monitor copies the page, validates every entry against
 * the policy, then writes.
 */
#define VG_PATCH_MAGIC 0x48435450u /* "PTCH" */
#define VG_PATCH_MAX_BYTES 16u
struct vg_patch_entry {
	vg_u64 address;              /* runtime VA of the first byte */
	vg_u8 length;                /* 1..VG_PATCH_MAX_BYTES */
	vg_u8 reserved[7];           /* 0 */
	vg_u8 bytes[VG_PATCH_MAX_BYTES];
};
struct vg_patch_batch {
	vg_u32 magic;                /* VG_PATCH_MAGIC */
	vg_u16 count;                /* 1..VG_PATCH_MAX_ENTRIES */
	vg_u16 reserved;             /* 0 */
	vg_u64 sequence;             /* kernel's batch counter, echoed in records */
	struct vg_patch_entry entries[];
};
#define VG_PATCH_MAX_ENTRIES ((4096u - 16u) / 32u) /* 127: one page */

/*
 * VG_CALL_REGISTER_MODULE: module text to make executable. The text pages
 * are listed by GPA; the monitor hashes their contents (SHA-256 over
 * text_size bytes, as loaded) and checks the policy's allowlist.
 */
#define VG_MODULE_MAX_PAGES 480u
struct vg_module {
	char name[56];               /* NUL-terminated */
	vg_u64 text_va;              /* runtime VA of the module's text, page aligned */
	vg_u64 text_size;            /* bytes */
	vg_u32 page_count;           /* ceil(text_size / 4096) */
	vg_u32 reserved;             /* 0 */
	vg_u64 page_gpa[VG_MODULE_MAX_PAGES];
};

/*
 * VG_CALL_MEDIATED_WRITE: a write to a write-mediated critical object
 * (modprobe_path, core_pattern, ...) done by the monitor after validation.
 */
#define VG_MEDIATED_MAX_BYTES 256u
struct vg_mediated_write {
	vg_u64 object_va;            /* runtime VA of the object's first byte */
	vg_u32 offset;               /* byte offset inside the object */
	vg_u32 length;               /* 1..VG_MEDIATED_MAX_BYTES */
	vg_u8 bytes[VG_MEDIATED_MAX_BYTES];
};

/* VG_CALL_BPF_JIT_MAP: make one JIT image executable (if the policy allows). */
struct vg_bpf_jit {
	vg_u64 image_va;
	vg_u64 image_gpa;            /* page aligned, contiguous */
	vg_u32 pages;
	vg_u32 reserved;
};

/*
 * Telemetry ring: pages the monitor writes and the kernel may only read
 * (RMP read-only for the kernel's VMPL). Page 0 is the header, records
 * follow. Sequence numbers start at 1 and strictly increase; record n lives
 * in slot (n - 1) % capacity. A reader that sees a record with a sequence
 * number above the one it expects has lost the difference; the monitor also
 * counts records overwritten before the kernel acknowledged them.
 */
#define VG_RING_MAGIC 0x474e4952u /* "RING" */
struct vg_ring_header {
	vg_u32 magic;                /* VG_RING_MAGIC */
	vg_u16 abi_version;          /* VG_ABI_VERSION */
	vg_u16 record_size;          /* sizeof(struct vg_record) */
	vg_u32 capacity;             /* records */
	vg_u32 reserved;
	vg_u64 next_sequence;        /* written by the monitor after the record */
	vg_u64 overwritten;          /* records overwritten before being read */
	vg_u64 ack_sequence;         /* last sequence the kernel acked via the call area */
};

/* What a record reports. */
#define VG_KIND_TEXT_WRITE 1u        /* write to kernel text outside the monitor */
#define VG_KIND_PATCH_DENIED 2u      /* text-patch entry not allowed by the policy */
#define VG_KIND_PATCH_APPLIED 3u     /* text-patch batch applied (audit) */
#define VG_KIND_DATA_WRITE 4u        /* write to a locked critical object */
#define VG_KIND_MEDIATED_DENIED 5u   /* mediated write refused */
#define VG_KIND_EXEC_VIOLATION 6u    /* execute of a non-executable page */
#define VG_KIND_PINNED_REGISTER 7u   /* CR0/CR4/EFER/MSR/IDTR/GDTR changed */
#define VG_KIND_MODULE_DENIED 8u     /* module text not in the allowlist */
#define VG_KIND_MODULE_LOADED 9u
#define VG_KIND_RMP_TAMPER 10u       /* RMPADJUST/PVALIDATE misuse by the kernel */
#define VG_KIND_REQUEST_MALFORMED 11u
#define VG_KIND_WATCHED_CHANGED 12u  /* a watched object differs from its baseline */
#define VG_KIND_POLICY_REFUSED 13u

#define VG_VERDICT_ALLOWED 0u
#define VG_VERDICT_DENIED 1u         /* refused, the guest continues */
#define VG_VERDICT_INJECTED 2u       /* a fault was injected into the kernel */
#define VG_VERDICT_STOPPED 3u        /* the guest was stopped */

struct vg_record {
	vg_u64 sequence;             /* 1, 2, 3, ... never reused */
	vg_u64 tsc;                  /* monitor's timestamp */
	vg_u16 kind;                 /* VG_KIND_* */
	vg_u8 verdict;               /* VG_VERDICT_* */
	vg_u8 vmpl;                  /* VMPL that caused it */
	vg_u32 vcpu;
	vg_u64 rip;                  /* guest RIP (runtime VA) */
	vg_u64 address;              /* faulting or requested VA (runtime) */
	vg_u64 gpa;                  /* guest-physical address, if known */
	vg_u32 policy_offset;        /* site/object offset from _text, or ~0 */
	vg_u32 detail;               /* kind-specific: register id, error code low bits */
	vg_u64 value;                /* kind-specific: new register value, batch sequence */
};

#endif /* VMPLGUARD_ABI_H */
