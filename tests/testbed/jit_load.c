/* testbed-jit-load: loads one tiny BPF socket filter ("return 0") with the
 * JIT and drops it, so that the record test bed sees the kernel write a JIT
 * image into its BPF program pack (and wipe it again when the program is
 * freed). Static, for the busybox initramfs; plain bpf(2), no libbpf. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct bpf_insn program[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	static char log[4096];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)program;
	attr.insn_cnt = sizeof(program) / sizeof(program[0]);
	attr.license = (unsigned long)"GPL";
	attr.log_buf = (unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		perror("testbed-jit-load: BPF_PROG_LOAD");
		fputs(log, stderr);
		return 1;
	}
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (unsigned int)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (unsigned long)&info;
	if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) == 0)
		printf("testbed-jit-load: program %u, jited %u bytes\n", info.id, info.jited_prog_len);
	close((int)fd);
	return 0;
}
