/* Entry of the vmplguard monitor image under the x86/HVM direct boot ABI
 * (PVH): QEMU, cloud-hypervisor and Xen enter at the address named by the
 * XEN_ELFNOTE_PHYS32_ENTRY note, in 32-bit protected mode with paging off,
 * EBX holding the physical address of struct hvm_start_info.
 *
 * This boot code builds 4-level page tables (identity and higher half, 2 MiB
 * pages over the first GiB), enters long mode, switches to the monitor
 * stack, clears .bss and calls vg_image_main(start_info).
 *
 * On an SEV-SNP launch the image would instead be entered in 64-bit mode by
 * the IGVM loader with its page tables measured into the launch digest; see
 * docs/monitor-image.md. */

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(sym) ((sym) - KERNEL_VMA)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.pvh, "a"
	.p2align 2
	.long 4                     /* name size: "Xen\0" */
	.long 4                     /* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long PHYS(pvh_start)

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	/* SAFETY: EBX is the only live register the boot ABI defines; keep it
	 * in EDI, which survives to the 64-bit call as its first argument. */
	movl %ebx, %edi

	/* Page directory: 512 entries of 2 MiB, present | writable | PS. */
	movl $PHYS(boot_pd), %edx
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, (%edx, %ecx, 8)
	movl $0, 4(%edx, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jne 1b

	/* PML4[0] -> identity PDPT, PML4[511] -> higher-half PDPT; both PDPTs
	 * point at the same directory (identity at PDPT[0], the -2 GiB slot at
	 * PDPT[510]). */
	movl $PHYS(boot_pdpt_low), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pml4)
	movl $PHYS(boot_pdpt_high), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pml4) + 511 * 8
	movl $PHYS(boot_pd), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pdpt_low)
	movl %eax, PHYS(boot_pdpt_high) + 510 * 8

	/* SAFETY: the standard long-mode switch [APM2 14.6]: CR4.PAE, CR3,
	 * EFER.LME, then CR0.PG with PE; the next far jump loads a 64-bit CS. */
	movl %cr4, %eax
	orl $(1 << 5), %eax
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $(1 << 8), %eax
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax   /* PG | WP | PE */
	movl %eax, %cr0

	lgdt PHYS(boot_gdt_pointer)
	ljmp $0x08, $PHYS(long_mode_identity)

	.code64
long_mode_identity:
	movabsq $long_mode_high, %rax
	jmp *%rax
long_mode_high:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp

	/* SAFETY: zeroes [__bss_start, __bss_end), memory the linker reserved
	 * for the image and nothing else uses yet. */
	movabsq $__bss_start, %rdx
	movabsq $__bss_end, %rcx
2:	cmpq %rcx, %rdx
	jae 3f
	movq $0, (%rdx)
	addq $8, %rdx
	jmp 2b
3:
	movl %edi, %edi             /* start_info physical address, zero-extended */
	movabsq $vg_image_main, %rax
	call *%rax
4:	cli
	hlt
	jmp 4b

	.section .boot.data, "aw"
	.p2align 12
boot_pml4:
	.fill 512, 8, 0
boot_pdpt_low:
	.fill 512, 8, 0
boot_pdpt_high:
	.fill 512, 8, 0
boot_pd:
	.fill 512, 8, 0
	.p2align 4
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff    /* 0x08: 64-bit code, DPL0 */
	.quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)

	.section .bss
	.p2align 12
boot_stack:
	.skip 65536
boot_stack_top:

