/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The record the agent's BPF probes put into the BPF ring buffer. Plain C so
 * that the BPF programs (clang -target bpf) and the C++ agent share one
 * definition. The agent treats every byte of it as hostile: the decoder
 * (agent/decode.h) copies it out, checks sizes, versions and ranges before
 * anything looks at it. docs/agent-schema.md explains every field.
 */
#ifndef VG_AGENT_PROBE_EVENT_H
#define VG_AGENT_PROBE_EVENT_H

#ifdef __bpf__
typedef __u8 vgp_u8;
typedef __u16 vgp_u16;
typedef __u32 vgp_u32;
typedef __u64 vgp_u64;
#else
#include <stdint.h>
typedef uint8_t vgp_u8;
typedef uint16_t vgp_u16;
typedef uint32_t vgp_u32;
typedef uint64_t vgp_u64;
#endif

#define VGP_MAGIC 0x56475031u /* "VGP1" */
#define VGP_MAX_BYTES 16u
#define VGP_MAX_FRAMES 8u
#define VGP_NAME_SIZE 56u

/* What a probe saw. */
enum vgp_type {
  VGP_TEXT_PATCH = 1,      /* one entry of a text_poke_bp_batch (final bytes) */
  VGP_TEXT_POKE = 2,       /* __text_poke outside a batch: a raw text write */
  VGP_MODULE_LOAD = 3,     /* do_init_module: name, text base, text size */
  VGP_MODULE_FREE = 4,     /* free_module */
  VGP_SET_MEMORY_X = 5,    /* set_memory_x(address, pages) */
  VGP_SET_MEMORY_RW = 6,   /* set_memory_rw(address, pages) */
  VGP_WRITE_CR0 = 7,       /* native_write_cr0(value) */
  VGP_WRITE_CR4 = 8,       /* native_write_cr4(value) */
  VGP_BPF_JIT_ALLOC = 9,   /* bpf_jit_binary_pack_alloc(proglen) */
  VGP_KSYMBOL = 10,        /* perf_event_ksymbol: out-of-line code (un)registered */
  VGP_MONITOR_RECORD = 11, /* vmplguard:violation / vmplguard:request record */
  VGP_TYPE_MAX = 11,
};

/* Which kernel machinery was running when a text patch happened: set by
 * entry probes on the transform functions, read by the batch probe. */
enum vgp_origin {
  VGP_ORIGIN_UNKNOWN = 0,
  VGP_ORIGIN_JUMP_LABEL = 1,
  VGP_ORIGIN_STATIC_CALL = 2,
  VGP_ORIGIN_FTRACE = 3,
  VGP_ORIGIN_MAX = 3,
};

/* Flags. */
#define VGP_FLAG_FENTRY 0x1u      /* produced by an fentry/fexit/tp_btf program */
#define VGP_FLAG_BYTES_FAULT 0x2u /* the new bytes could not be read */
#define VGP_FLAG_REQUEST 0x4u     /* monitor record came from vmplguard:request */
#define VGP_FLAG_UNREGISTER 0x8u  /* VGP_KSYMBOL: the code is going away */

struct vgp_event {
  vgp_u32 magic;    /* VGP_MAGIC */
  vgp_u16 type;     /* enum vgp_type */
  vgp_u8 origin;    /* enum vgp_origin */
  vgp_u8 length;    /* bytes valid in `bytes` (0..VGP_MAX_BYTES) */
  vgp_u64 ktime_ns; /* bpf_ktime_get_boot_ns */
  vgp_u32 pid;      /* thread id */
  vgp_u32 tgid;
  vgp_u32 cpu;
  vgp_u32 flags;   /* VGP_FLAG_* */
  char comm[16];   /* current->comm, not NUL-terminated for sure */
  vgp_u64 address; /* runtime VA written/affected */
  vgp_u64 size;    /* bytes (write length, pages, image size) */
  vgp_u64 value;   /* CR value, poke function pointer, ... */
  vgp_u8 bytes[VGP_MAX_BYTES];
  vgp_u32 frame_count;            /* valid entries in `frames` */
  vgp_u32 aux;                    /* module events: init text size (init text base in `value`) */
  vgp_u64 frames[VGP_MAX_FRAMES]; /* kernel stack, innermost first */
  char name[VGP_NAME_SIZE];       /* module name; not trusted to be terminated */
  vgp_u8 record[64];              /* struct vg_record for VGP_MONITOR_RECORD */
};

/* Per-CPU counters (index into the `counters` array map). */
enum vgp_counter {
  VGP_CNT_PRODUCED = 0,       /* events a probe tried to emit */
  VGP_CNT_RESERVE_FAILED = 1, /* bpf_ringbuf_reserve returned NULL */
  VGP_CNT_READ_FAILED = 2,    /* a monitor record could not be read: discarded */
  VGP_CNT_MAX = 3,
};

#endif /* VG_AGENT_PROBE_EVENT_H */
