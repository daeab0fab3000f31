/* Instruction-length fixture: GNU as encodes each instruction below and,
 * beside it, emits its length (the distance between two labels), so the
 * decoder is checked against the assembler's own encodings. The forms are
 * the ones kernel code writes memory with (mov, ALU, atomics, string ops,
 * bit ops, pushes, setcc, cmpxchg16b), plus the control flow and
 * immediates around them. Built into the test at test time. */
	.macro insn args:vararg
	.section .rodata.vg_insn_code,"a"
990:	\args
991:
	.section .rodata.vg_insn_length,"a"
	.byte 991b - 990b
	.endm

	.section .rodata.vg_insn_code,"a"
	.globl vg_insn_code_begin
vg_insn_code_begin:
	.section .rodata.vg_insn_length,"a"
	.globl vg_insn_length_begin
vg_insn_length_begin:

	insn movq %rax, (%rdi)
	insn movl %eax, 0x10(%rdi)
	insn movw %ax, 0x1000(%rdi,%rcx,2)
	insn movb %al, (%rsp)
	insn movb %r12b, 0x7f(%r13)
	insn movq %rax, 0x12345678(,%rcx,8)
	insn movq %rax, 0x10(%rip)
	insn movq $0x41414141, 0x10(%rdi,%rcx,8)
	insn movl $0x12345678, (%rax)
	insn movw $0x1234, (%rax)
	insn movb $0x41, -8(%rbp)
	insn movabsq %rax, 0x1122334455667788
	insn movabsq $0x1122334455667788, %rax
	insn movl $1, %eax
	insn movw $1, %ax
	insn addq %rax, (%rdi)
	insn addl $1, (%rdi)
	insn addq $0x1000, 8(%rdi)
	insn orb $0x80, 3(%rdi)
	insn andl $~0x10, (%rdi)
	insn xorq %rdx, 0x30(%rbx)
	insn subw $2, (%rsi)
	insn lock incl (%rdi)
	insn lock decq 0x18(%rdi)
	insn lock xaddl %eax, (%rdi)
	insn lock cmpxchgq %rcx, (%rdi)
	insn lock cmpxchg16b (%rdi)
	insn lock btsq $3, (%rdi)
	insn lock btrl %eax, (%rdi)
	insn lock orq $1, %gs:0x28
	insn xchgq %rax, (%rdi)
	insn incq %gs:0x1234
	insn movq %rax, %gs:(%rdi)
	insn notl (%rdi)
	insn negq 8(%rdi)
	insn testb $1, (%rdi)
	insn testl $0x100, (%rdi)
	insn shlq $3, (%rdi)
	insn shrl (%rdi)
	insn rep stosq
	insn rep movsb
	insn movsq
	insn sete (%rdi)
	insn pushq (%rdi)
	insn popq (%rdi)
	insn pushq $0x1000
	insn pushq $1
	insn movnti %rax, (%rdi)
	insn movl (%rdi), %eax
	insn leaq 0x10(%rdi,%rsi,4), %rax
	insn movzbl (%rdi), %eax
	insn movslq %eax, %rdx
	insn imull $0x100, %eax, %edx
	insn cmpq $0, 0x8(%rdi)
	insn call *0x10(%rax)
	insn jmp *%rax
	insn call .
	insn jmp .
	insn jne .
	insn je . + 0x1000
	insn ret
	insn ret $8
	insn nop
	insn nopl 0(%rax,%rax,1)
	insn nopw 0(%rax,%rax,1)
	insn .byte 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00
	insn endbr64
	insn int3
	insn ud2
	insn wrmsr
	insn rdmsr
	insn movq %rax, %cr4
	insn movq %cr0, %rax
	insn lgdt (%rdi)
	insn lidt 0x10(%rdi)
	insn swapgs
	insn sysretq
	insn iretq
	insn cpuid
	insn rdtsc
	insn xsave (%rdi)
	insn fxsave64 (%rdi)
	insn clac
	insn stac
	insn pause
	insn enter $16, $0
	insn inb $0x80, %al
	insn outb %al, $0x80
	insn crc32q (%rdi), %rax
	insn pshufd $0x1b, (%rdi), %xmm0
	insn movdqu %xmm0, (%rdi)
	insn movaps %xmm1, 0x20(%rsp)
	insn palignr $4, %xmm1, %xmm0
	insn shldq $4, %rax, (%rdi)
	insn bswap %eax
	insn cmovne (%rdi), %rax
	insn movb %al, 0x1122334455667788
	insn addr32 movl %eax, (%edi)
	insn fldl (%rdi)

	.section .rodata.vg_insn_code,"a"
	.globl vg_insn_code_end
vg_insn_code_end:
	.section .rodata.vg_insn_length,"a"
	.globl vg_insn_length_end
vg_insn_length_end:
	.section .note.GNU-stack,"",@progbits
