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
  VGP_MONITOR_RECORD = 11, /* vmplguard:vmplguard_violation / _request record */
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
#define VGP_FLAG_REQUEST 0x4u     /* monitor record came from vmplguard:vmplguard_request */
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

/* ---- record mode (vmplguard-agent --record, docs/trace-format.md) ----
 * With the rodata switch `record_mode` set, the text-patch, module and CR
 * probes emit these records instead of the vgp_event above: they carry the
 * bytes before each write and the batch boundaries, and the module text as
 * it is made executable, which the normal agent does not need. The normal
 * agent never sees them (a different magic). */
#define VGT_MAGIC 0x56475431u /* "VGT1" */
#define VGT_CHUNK_SIZE 4096u  /* module text bytes per chunk record */
#define VGT_MAX_CHUNKS 256u   /* module text read at most: 1 MiB */

enum vgt_type {
  VGT_BATCH_ENTRY = 64,  /* one entry of text_poke_bp_batch: old and new bytes */
  VGT_POKE = 65,         /* __text_poke outside a batch */
  VGT_MODULE = 66,       /* module_enable_text_rox: name, text, chunk count */
  VGT_MODULE_CHUNK = 67, /* VGT_CHUNK_SIZE bytes of that module's text */
  VGT_MODULE_FREE = 68,  /* free_module */
  VGT_CR = 69,           /* native_write_cr0/cr4 (value; `index` 0 or 4) */
  VGT_TYPE_MIN = 64,
  VGT_TYPE_MAX = 69,
};

#define VGT_FLAG_OLD_FAULT 0x1u /* the bytes before the write could not be read */
#define VGT_FLAG_NEW_FAULT 0x2u /* the bytes written could not be read */
#define VGT_FLAG_TRUNCATED 0x4u /* module text longer than VGT_MAX_CHUNKS chunks */
#define VGT_FLAG_INIT_TEXT 0x8u /* VGT_MODULE: the module's init text (MOD_INIT_TEXT) */

struct vgt_event {
  vgp_u32 magic;    /* VGT_MAGIC */
  vgp_u16 type;     /* enum vgt_type */
  vgp_u8 origin;    /* enum vgp_origin, from the transform probes */
  vgp_u8 length;    /* valid bytes in old_bytes/new_bytes (0..VGP_MAX_BYTES) */
  vgp_u32 flags;    /* VGT_FLAG_* */
  vgp_u32 index;    /* batch entry index; CR number */
  vgp_u64 sequence; /* batch id; module load id (its chunks carry it) */
  vgp_u64 address;  /* runtime VA written; module text base */
  vgp_u64 size;     /* batch entries; write length; module text size */
  vgp_u64 value;    /* __text_poke: the poke function; module: chunks that follow; CR value */
  vgp_u8 old_bytes[VGP_MAX_BYTES];
  vgp_u8 new_bytes[VGP_MAX_BYTES];
  vgp_u32 frame_count; /* valid entries in `frames` */
  vgp_u32 reserved;
  vgp_u64 frames[VGP_MAX_FRAMES]; /* kernel stack, innermost first */
  char name[VGP_NAME_SIZE];       /* module name; not trusted to be terminated */
};

struct vgt_chunk {
  vgp_u32 magic; /* VGT_MAGIC */
  vgp_u16 type;  /* VGT_MODULE_CHUNK */
  vgp_u16 reserved;
  vgp_u32 index;    /* chunk number, from 0 */
  vgp_u32 length;   /* valid bytes in `data` (1..VGT_CHUNK_SIZE) */
  vgp_u64 sequence; /* the VGT_MODULE record's sequence */
  vgp_u8 data[VGT_CHUNK_SIZE];
};

#endif /* VG_AGENT_PROBE_EVENT_H */
