// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmplguard-agent probes (libbpf CO-RE). Each probe exists as an fentry/fexit
 * program and, where the function can be kprobed, as a kprobe fallback; the
 * agent picks one per probe at start-up (src/probes.cc). Every event goes
 * through emit_reserve(), which counts attempts and ring-buffer reserve
 * failures in per-CPU counters so that user space can account for every loss.
 *
 * Kernel structures are read with CO-RE relocations against vmlinux.h, which
 * the build generates from the BTF of Debian's 6.12 cloud vmlinux.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "agent/probe_event.h"

char LICENSE[] SEC("license") = "GPL";

/* Runtime address of _stext; text_poke_loc.rel_addr is relative to it.
 * Set by the agent from /proc/kallsyms before load. */
const volatile __u64 stext_address = 0;

/* Record mode (vmplguard-agent --record): the text, module and CR probes
 * emit struct vgt_event/vgt_chunk (old bytes, batch boundaries, module
 * text) instead of struct vgp_event. The verifier drops the branch not
 * taken, so the normal agent pays nothing for it. */
const volatile __u32 record_mode = 0;

/* Ids that let user space rebuild batches and join module chunks. */
__u64 batch_sequence = 0;
__u64 module_sequence = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VGP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Per thread: inside text_poke_bp_batch (its own pokes are reported once, as
 * batch entries), and which machinery asked for the patch. Keyed by thread,
 * not CPU: patching sleeps and may migrate. */
struct thread_state {
	__u32 batch_depth;
	__u32 origin;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);
	if (value)
		*value += 1;
}

static __always_inline struct thread_state *thread_state(int create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *state = bpf_map_lookup_elem(&threads, &tid);
	if (!state && create) {
		struct thread_state fresh = {};
		bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST);
		state = bpf_map_lookup_elem(&threads, &tid);
	}
	return state;
}

static __always_inline void drop_thread_state_if_idle(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *state = bpf_map_lookup_elem(&threads, &tid);
	if (state && state->batch_depth == 0 && state->origin == VGP_ORIGIN_UNKNOWN)
		bpf_map_delete_elem(&threads, &tid);
}

static __always_inline struct vgp_event *emit_reserve(void *ctx, __u16 type, __u32 flags, int with_stack)
{
	count(VGP_CNT_PRODUCED);
	struct vgp_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		count(VGP_CNT_RESERVE_FAILED);
		return 0;
	}
	__builtin_memset(event, 0, sizeof(*event));
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	event->magic = VGP_MAGIC;
	event->type = type;
	event->flags = flags;
	event->ktime_ns = bpf_ktime_get_boot_ns();
	event->pid = (__u32)pid_tgid;
	event->tgid = (__u32)(pid_tgid >> 32);
	event->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	if (with_stack) {
		long got = bpf_get_stack(ctx, event->frames, sizeof(event->frames), 0);
		if (got > 0)
			event->frame_count = (__u32)got / 8;
	}
	struct thread_state *state = thread_state(0);
	if (state && state->origin <= VGP_ORIGIN_MAX)
		event->origin = (__u8)state->origin;
	return event;
}

/* ---- record mode: events with the bytes before each write ---- */

static __always_inline void *record_reserve(__u64 size)
{
	count(VGP_CNT_PRODUCED);
	void *record = bpf_ringbuf_reserve(&events, size, 0);
	if (!record)
		count(VGP_CNT_RESERVE_FAILED);
	return record;
}

static __always_inline struct vgt_event *record_event(void *ctx, __u16 type, int with_stack)
{
	struct vgt_event *event = record_reserve(sizeof(*event));
	if (!event)
		return 0;
	__builtin_memset(event, 0, sizeof(*event));
	event->magic = VGT_MAGIC;
	event->type = type;
	if (with_stack) {
		long got = bpf_get_stack(ctx, event->frames, sizeof(event->frames), 0);
		if (got > 0)
			event->frame_count = (__u32)got / 8;
	}
	struct thread_state *state = thread_state(0);
	if (state && state->origin <= VGP_ORIGIN_MAX)
		event->origin = (__u8)state->origin;
	return event;
}

/* ---- text_poke_bp_batch: the final bytes of every patched site ---- */

struct batch_ctx {
	void *ctx;
	void *vec;
	__u32 count;
	__u32 flags;
	__u64 batch_id;
};

/* Record mode: one entry with the live text before the batch writes it (the
 * fentry/kprobe runs before text_poke_bp_batch touches anything). */
static long record_batch_entry(__u64 index, struct batch_ctx *batch)
{
	if (index >= batch->count)
		return 1;
	struct text_poke_loc *loc =
		(struct text_poke_loc *)(batch->vec + index * bpf_core_type_size(struct text_poke_loc));
	struct vgt_event *event = record_event(batch->ctx, VGT_BATCH_ENTRY, 1);
	if (!event)
		return 0;
	__s32 rel_addr = 0;
	__u8 len = 0;
	BPF_CORE_READ_INTO(&rel_addr, loc, rel_addr);
	BPF_CORE_READ_INTO(&len, loc, len);
	if (len > 5)
		len = 5; /* POKE_MAX_OPCODE_SIZE */
	event->sequence = batch->batch_id;
	event->index = (__u32)index;
	event->size = batch->count;
	event->address = stext_address + (__s64)rel_addr;
	event->length = len;
	if (bpf_core_read(event->new_bytes, 5, &loc->text) != 0)
		event->flags |= VGT_FLAG_NEW_FAULT;
	if (bpf_probe_read_kernel(event->old_bytes, len & 7, (const void *)event->address) != 0)
		event->flags |= VGT_FLAG_OLD_FAULT;
	bpf_ringbuf_submit(event, 0);
	return 0;
}

static long emit_batch_entry(__u64 index, struct batch_ctx *batch)
{
	if (index >= batch->count)
		return 1;
	struct text_poke_loc *loc =
		(struct text_poke_loc *)(batch->vec + index * bpf_core_type_size(struct text_poke_loc));
	struct vgp_event *event = emit_reserve(batch->ctx, VGP_TEXT_PATCH, batch->flags, 1);
	if (!event)
		return 0;
	__s32 rel_addr = 0;
	__u8 len = 0;
	BPF_CORE_READ_INTO(&rel_addr, loc, rel_addr);
	BPF_CORE_READ_INTO(&len, loc, len);
	if (len > 5)
		len = 5; /* POKE_MAX_OPCODE_SIZE */
	event->address = stext_address + (__s64)rel_addr;
	event->size = len;
	event->length = len;
	if (bpf_core_read(event->bytes, 5, &loc->text) != 0)
		event->flags |= VGP_FLAG_BYTES_FAULT;
	bpf_ringbuf_submit(event, 0);
	return 0;
}

static __always_inline void batch_enter(void *ctx, void *vec, __u32 count, __u32 flags)
{
	struct thread_state *state = thread_state(1);
	if (state)
		state->batch_depth += 1;
	struct batch_ctx batch = {.ctx = ctx, .vec = vec, .count = count, .flags = flags};
	/* TP_VEC_MAX is PAGE_SIZE / sizeof(struct text_poke_loc): 256. */
	if (record_mode) {
		batch.batch_id = __sync_fetch_and_add(&batch_sequence, 1);
		bpf_loop(count < 256 ? count : 256, record_batch_entry, &batch, 0);
		return;
	}
	bpf_loop(count < 256 ? count : 256, emit_batch_entry, &batch, 0);
}

static __always_inline void batch_exit(void)
{
	struct thread_state *state = thread_state(0);
	if (state && state->batch_depth > 0)
		state->batch_depth -= 1;
	drop_thread_state_if_idle();
}

SEC("fentry/text_poke_bp_batch")
int BPF_PROG(fentry_text_poke_bp_batch, struct text_poke_loc *tp, unsigned int nr_entries)
{
	batch_enter(ctx, tp, nr_entries, VGP_FLAG_FENTRY);
	return 0;
}

SEC("fexit/text_poke_bp_batch")
int BPF_PROG(fexit_text_poke_bp_batch, struct text_poke_loc *tp, unsigned int nr_entries)
{
	batch_exit();
	return 0;
}

SEC("kprobe/text_poke_bp_batch")
int BPF_KPROBE(kprobe_text_poke_bp_batch, struct text_poke_loc *tp, unsigned int nr_entries)
{
	batch_enter(ctx, tp, nr_entries, 0);
	return 0;
}

SEC("kretprobe/text_poke_bp_batch")
int BPF_KRETPROBE(kretprobe_text_poke_bp_batch)
{
	batch_exit();
	return 0;
}

/* ---- __text_poke: raw text writes outside a batch ---- */

/* Record mode: the first 16 bytes at `addr` before the write and of the
 * source. For text_poke_memset `src` points at the one fill byte: user space
 * knows the function and repeats it. */
static __always_inline void record_text_poke(void *ctx, void *func, void *addr, const void *src, __u64 len)
{
	struct vgt_event *event = record_event(ctx, VGT_POKE, 1);
	if (!event)
		return;
	__u32 copy = len < VGP_MAX_BYTES ? (__u32)len : VGP_MAX_BYTES;
	event->address = (__u64)addr;
	event->size = len;
	event->value = (__u64)func;
	event->length = (__u8)copy;
	if (bpf_probe_read_kernel(event->old_bytes, copy & 31, addr) != 0)
		event->flags |= VGT_FLAG_OLD_FAULT;
	if (bpf_probe_read_kernel(event->new_bytes, copy & 31, src) != 0)
		event->flags |= VGT_FLAG_NEW_FAULT;
	bpf_ringbuf_submit(event, 0);
}

static __always_inline void emit_text_poke(void *ctx, void *func, void *addr, const void *src, __u64 len,
					   __u32 flags)
{
	struct thread_state *state = thread_state(0);
	if (state && state->batch_depth > 0)
		return;
	if (record_mode) {
		record_text_poke(ctx, func, addr, src, len);
		return;
	}
	struct vgp_event *event = emit_reserve(ctx, VGP_TEXT_POKE, flags, 1);
	if (!event)
		return;
	event->address = (__u64)addr;
	event->size = len;
	event->value = (__u64)func;
	__u32 copy = len < VGP_MAX_BYTES ? (__u32)len : VGP_MAX_BYTES;
	if (copy > VGP_MAX_BYTES)
		copy = VGP_MAX_BYTES;
	event->length = (__u8)copy;
	if (bpf_probe_read_kernel(event->bytes, copy, src) != 0)
		event->flags |= VGP_FLAG_BYTES_FAULT;
	bpf_ringbuf_submit(event, 0);
}

SEC("fentry/__text_poke")
int BPF_PROG(fentry___text_poke, void *func, void *addr, const void *src, size_t len)
{
	emit_text_poke(ctx, func, addr, src, len, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/__text_poke")
int BPF_KPROBE(kprobe___text_poke, void *func, void *addr, const void *src, size_t len)
{
	emit_text_poke(ctx, func, addr, src, len, 0);
	return 0;
}

/* ---- origins: which machinery is patching (context for batch entries) ---- */

static __always_inline void set_origin(__u32 origin)
{
	struct thread_state *state = thread_state(1);
	if (state)
		state->origin = origin;
}

static __always_inline void clear_origin(void)
{
	struct thread_state *state = thread_state(0);
	if (state)
		state->origin = VGP_ORIGIN_UNKNOWN;
	drop_thread_state_if_idle();
}

SEC("fentry/arch_jump_label_transform_queue")
int BPF_PROG(fentry_jump_label_queue)
{
	set_origin(VGP_ORIGIN_JUMP_LABEL);
	return 0;
}

SEC("fexit/arch_jump_label_transform_apply")
int BPF_PROG(fexit_jump_label_apply)
{
	clear_origin();
	return 0;
}

SEC("fentry/__static_call_transform")
int BPF_PROG(fentry_static_call_transform)
{
	set_origin(VGP_ORIGIN_STATIC_CALL);
	return 0;
}

SEC("fexit/__static_call_transform")
int BPF_PROG(fexit_static_call_transform)
{
	clear_origin();
	return 0;
}

SEC("fentry/ftrace_modify_all_code")
int BPF_PROG(fentry_ftrace_modify_all_code)
{
	set_origin(VGP_ORIGIN_FTRACE);
	return 0;
}

SEC("fexit/ftrace_modify_all_code")
int BPF_PROG(fexit_ftrace_modify_all_code)
{
	clear_origin();
	return 0;
}

/* ---- modules: text made executable, module freed ---- */

struct chunk_ctx {
	const __u8 *base;
	__u64 size;
	__u64 sequence;
};

static long record_module_chunk(__u64 index, struct chunk_ctx *chunks)
{
	__u64 offset = index * VGT_CHUNK_SIZE;
	if (offset >= chunks->size)
		return 1;
	__u64 length = chunks->size - offset;
	if (length > VGT_CHUNK_SIZE)
		length = VGT_CHUNK_SIZE;
	struct vgt_chunk *chunk = record_reserve(sizeof(*chunk));
	if (!chunk)
		return 0;
	chunk->magic = VGT_MAGIC;
	chunk->type = VGT_MODULE_CHUNK;
	chunk->reserved = 0;
	chunk->index = (__u32)index;
	chunk->sequence = chunks->sequence;
	chunk->length = (__u32)length;
	if (bpf_probe_read_kernel(chunk->data, length & (2 * VGT_CHUNK_SIZE - 1), chunks->base + offset) != 0) {
		/* A chunk without its bytes is lost: user space counts it missing. */
		bpf_ringbuf_discard(chunk, 0);
		count(VGP_CNT_READ_FAILED);
		return 0;
	}
	bpf_ringbuf_submit(chunk, 0);
	return 0;
}

/* Record mode: one region of the module's code as module_enable_text_rox is
 * about to make it executable (relocations and alternatives applied), in
 * chunks, so that user space can hash exactly what the kernel will run.
 * `region` is MOD_TEXT (0) or MOD_INIT_TEXT (4), where module_init runs. */
static __always_inline void record_module_region(void *ctx, const struct module *mod, int region)
{
	void *base = 0;
	unsigned int size = 0;
	if (region == 0) {
		BPF_CORE_READ_INTO(&base, mod, mem[0].base);
		BPF_CORE_READ_INTO(&size, mod, mem[0].size);
	} else {
		BPF_CORE_READ_INTO(&base, mod, mem[4].base);
		BPF_CORE_READ_INTO(&size, mod, mem[4].size);
		if (size == 0)
			return;
	}
	struct vgt_event *event = record_event(ctx, VGT_MODULE, 0);
	if (!event)
		return;
	bpf_core_read_str(event->name, sizeof(event->name), &mod->name);
	event->address = (__u64)base;
	event->size = size;
	if (region != 0)
		event->flags |= VGT_FLAG_INIT_TEXT;
	__u64 chunks = ((__u64)size + VGT_CHUNK_SIZE - 1) / VGT_CHUNK_SIZE;
	if (chunks > VGT_MAX_CHUNKS) {
		chunks = VGT_MAX_CHUNKS;
		event->flags |= VGT_FLAG_TRUNCATED;
	}
	struct chunk_ctx chunk_ctx = {.base = base, .size = chunks * VGT_CHUNK_SIZE, .sequence = 0};
	if (chunk_ctx.size > size)
		chunk_ctx.size = size;
	chunk_ctx.sequence = __sync_fetch_and_add(&module_sequence, 1);
	event->sequence = chunk_ctx.sequence;
	event->value = chunks;
	bpf_ringbuf_submit(event, 0);
	bpf_loop((__u32)chunks, record_module_chunk, &chunk_ctx, 0);
}

static __always_inline void record_module(void *ctx, __u16 type, const struct module *mod)
{
	if (type == VGT_MODULE) {
		record_module_region(ctx, mod, 0);
		record_module_region(ctx, mod, 4);
		return;
	}
	struct vgt_event *event = record_event(ctx, type, 0);
	if (!event)
		return;
	void *base = 0;
	BPF_CORE_READ_INTO(&base, mod, mem[0].base); /* MOD_TEXT */
	bpf_core_read_str(event->name, sizeof(event->name), &mod->name);
	event->address = (__u64)base;
	bpf_ringbuf_submit(event, 0);
}

static __always_inline void emit_module(void *ctx, __u16 type, const struct module *mod, __u32 flags)
{
	if (record_mode) {
		record_module(ctx, type == VGP_MODULE_LOAD ? VGT_MODULE : VGT_MODULE_FREE, mod);
		return;
	}
	struct vgp_event *event = emit_reserve(ctx, type, flags, 0);
	if (!event)
		return;
	void *base = 0;
	unsigned int size = 0;
	BPF_CORE_READ_INTO(&base, mod, mem[0].base); /* MOD_TEXT */
	BPF_CORE_READ_INTO(&size, mod, mem[0].size);
	event->address = (__u64)base;
	event->size = size;
	/* MOD_INIT_TEXT: module_init functions run from there. */
	BPF_CORE_READ_INTO(&base, mod, mem[4].base);
	BPF_CORE_READ_INTO(&size, mod, mem[4].size);
	event->value = (__u64)base;
	event->aux = size;
	bpf_core_read_str(event->name, sizeof(event->name), &mod->name);
	bpf_ringbuf_submit(event, 0);
}

SEC("fentry/module_enable_text_rox")
int BPF_PROG(fentry_module_enable_text_rox, const struct module *mod)
{
	emit_module(ctx, VGP_MODULE_LOAD, mod, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/module_enable_text_rox")
int BPF_KPROBE(kprobe_module_enable_text_rox, const struct module *mod)
{
	emit_module(ctx, VGP_MODULE_LOAD, mod, 0);
	return 0;
}

SEC("fentry/free_module")
int BPF_PROG(fentry_free_module, struct module *mod)
{
	emit_module(ctx, VGP_MODULE_FREE, mod, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/free_module")
int BPF_KPROBE(kprobe_free_module, struct module *mod)
{
	emit_module(ctx, VGP_MODULE_FREE, mod, 0);
	return 0;
}

/* ---- page permissions, control registers, BPF JIT ---- */

static __always_inline void emit_simple(void *ctx, __u16 type, __u64 address, __u64 size, __u64 value, __u32 flags)
{
	if (record_mode && (type == VGP_WRITE_CR0 || type == VGP_WRITE_CR4)) {
		struct vgt_event *event = record_event(ctx, VGT_CR, 0);
		if (!event)
			return;
		event->index = type == VGP_WRITE_CR0 ? 0 : 4;
		event->value = value;
		bpf_ringbuf_submit(event, 0);
		return;
	}
	struct vgp_event *event = emit_reserve(ctx, type, flags, 1);
	if (!event)
		return;
	event->address = address;
	event->size = size;
	event->value = value;
	bpf_ringbuf_submit(event, 0);
}

SEC("fentry/set_memory_x")
int BPF_PROG(fentry_set_memory_x, unsigned long addr, int numpages)
{
	emit_simple(ctx, VGP_SET_MEMORY_X, addr, (__u64)numpages, 0, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/set_memory_x")
int BPF_KPROBE(kprobe_set_memory_x, unsigned long addr, int numpages)
{
	emit_simple(ctx, VGP_SET_MEMORY_X, addr, (__u64)numpages, 0, 0);
	return 0;
}

SEC("fentry/set_memory_rw")
int BPF_PROG(fentry_set_memory_rw, unsigned long addr, int numpages)
{
	emit_simple(ctx, VGP_SET_MEMORY_RW, addr, (__u64)numpages, 0, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/set_memory_rw")
int BPF_KPROBE(kprobe_set_memory_rw, unsigned long addr, int numpages)
{
	emit_simple(ctx, VGP_SET_MEMORY_RW, addr, (__u64)numpages, 0, 0);
	return 0;
}

SEC("fentry/native_write_cr0")
int BPF_PROG(fentry_native_write_cr0, unsigned long val)
{
	emit_simple(ctx, VGP_WRITE_CR0, 0, 0, val, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/native_write_cr0")
int BPF_KPROBE(kprobe_native_write_cr0, unsigned long val)
{
	emit_simple(ctx, VGP_WRITE_CR0, 0, 0, val, 0);
	return 0;
}

SEC("fentry/native_write_cr4")
int BPF_PROG(fentry_native_write_cr4, unsigned long val)
{
	emit_simple(ctx, VGP_WRITE_CR4, 0, 0, val, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/native_write_cr4")
int BPF_KPROBE(kprobe_native_write_cr4, unsigned long val)
{
	emit_simple(ctx, VGP_WRITE_CR4, 0, 0, val, 0);
	return 0;
}

SEC("fentry/bpf_jit_binary_pack_alloc")
int BPF_PROG(fentry_bpf_jit_binary_pack_alloc, unsigned int proglen)
{
	emit_simple(ctx, VGP_BPF_JIT_ALLOC, 0, proglen, 0, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/bpf_jit_binary_pack_alloc")
int BPF_KPROBE(kprobe_bpf_jit_binary_pack_alloc, unsigned int proglen)
{
	emit_simple(ctx, VGP_BPF_JIT_ALLOC, 0, proglen, 0, 0);
	return 0;
}

/* ---- out-of-line kernel code the kernel registers: ftrace trampolines
 * (PERF_RECORD_KSYMBOL_TYPE_OOL) and BPF programs and trampolines
 * (PERF_RECORD_KSYMBOL_TYPE_BPF). perf_event_ksymbol() is called for every
 * one of them whether or not perf listens. ---- */

static __always_inline void emit_ksymbol(void *ctx, __u16 ksym_type, __u64 addr, __u32 len, bool unregister,
					 const char *sym, __u32 flags)
{
	struct vgp_event *event = emit_reserve(ctx, VGP_KSYMBOL, flags | (unregister ? VGP_FLAG_UNREGISTER : 0), 0);
	if (!event)
		return;
	event->address = addr;
	event->size = len;
	event->value = ksym_type;
	bpf_probe_read_kernel_str(event->name, sizeof(event->name), sym);
	bpf_ringbuf_submit(event, 0);
}

SEC("fentry/perf_event_ksymbol")
int BPF_PROG(fentry_perf_event_ksymbol, __u16 ksym_type, __u64 addr, __u32 len, bool unregister, const char *sym)
{
	emit_ksymbol(ctx, ksym_type, addr, len, unregister, sym, VGP_FLAG_FENTRY);
	return 0;
}

SEC("kprobe/perf_event_ksymbol")
int BPF_KPROBE(kprobe_perf_event_ksymbol, __u16 ksym_type, __u64 addr, __u32 len, bool unregister, const char *sym)
{
	emit_ksymbol(ctx, ksym_type, addr, len, unregister, sym, 0);
	return 0;
}

SEC("kprobe/ftrace_modify_all_code")
int BPF_KPROBE(kprobe_ftrace_modify_all_code)
{
	set_origin(VGP_ORIGIN_FTRACE);
	return 0;
}

SEC("kretprobe/ftrace_modify_all_code")
int BPF_KRETPROBE(kretprobe_ftrace_modify_all_code)
{
	clear_origin();
	return 0;
}

/* ---- monitor records from the patched guest kernel (optional) ----
 * Tracepoint prototype expected: TP_PROTO(const struct vg_record *record).
 * The record is copied as bytes, so this program does not depend on the
 * kernel's type name; the agent validates it (agent/decode.h). */

static __always_inline void emit_record(void *ctx, const void *record, __u32 flags)
{
	struct vgp_event *event = emit_reserve(ctx, VGP_MONITOR_RECORD, flags, 0);
	if (!event)
		return;
	if (bpf_probe_read_kernel(event->record, sizeof(event->record), record) != 0) {
		bpf_ringbuf_discard(event, 0);
		count(VGP_CNT_READ_FAILED);
		return;
	}
	bpf_ringbuf_submit(event, 0);
}

SEC("tp_btf/vmplguard_violation")
int BPF_PROG(tp_vmplguard_violation, const void *record)
{
	emit_record(ctx, record, VGP_FLAG_FENTRY);
	return 0;
}

SEC("tp_btf/vmplguard_request")
int BPF_PROG(tp_vmplguard_request, const void *record)
{
	emit_record(ctx, record, VGP_FLAG_FENTRY | VGP_FLAG_REQUEST);
	return 0;
}
