// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * /init of the boot test's initramfs (built static by boot-kernel.sh).
 * Exercises, on a running patched kernel without a monitor, the paths a user
 * touches: the mediated sysctls must behave like stock ones, and the two
 * vmplguard tracepoints must exist with the struct vg_record fields.
 * If the initramfs holds the agent (/vmplguard-agent, with /policy.vgp made
 * for this kernel), /init also starts it, reruns the vmplguard KUnit suite
 * through debugfs, whose tracepoint case feeds a fake ring through the
 * kernel's real drain and delivery code, stops the agent and prints its
 * report and records.
 * Prints "vmplguard-boot: ..." lines that boot-kernel.sh checks, then asks
 * the kernel to reboot, which ends QEMU under -no-reboot.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENT "/vmplguard-agent"
#define AGENT_READY "/agent.ready"
#define AGENT_LOG "/agent.log"
#define AGENT_RECORDS "/agent.ndjson"
#define KUNIT_RUN "/sys/kernel/debug/kunit/vmplguard/run"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Writes a sysctl string and reads it back, as an administrator would. */
static void sysctl_roundtrip(const char *name, const char *value)
{
	char path[128], back[512];
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	ret = write_file(path, value);
	if (!ret)
		ret = read_file(path, back, sizeof(back));
	printf("vmplguard-boot: sysctl %s %s (wrote '%s', read '%s', %d)\n", name,
	       !ret && !strcmp(back, value) ? "ok" : "FAILED", value,
	       ret ? "" : back, ret);
}

static void tracepoint_format(const char *event)
{
	char path[128], buf[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/tracing/events/vmplguard/vmplguard_%s/format", event);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("vmplguard-boot: tracepoint %s MISSING (%d)\n", event, errno);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	printf("vmplguard-boot: tracepoint %s %s\n", event,
	       strstr(buf, "field:u64 sequence;") && strstr(buf, "field:u16 kind;") &&
	       strstr(buf, "field:u32 policy_offset;") && strstr(buf, "field:u64 value;")
	       ? "ok" : "FIELDS-MISSING");
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Copies a file to the console, each line behind PREFIX. */
static void print_file(const char *path, const char *prefix)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("vmplguard-boot: %s MISSING (%d)\n", path, errno);
		return;
	}
	while (fgets(line, sizeof(line), f))
		printf("%s%s%s", prefix, line, strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

/*
 * Starts the agent, waits until its probes are attached, makes the kernel
 * fire its tracepoints by rerunning the KUnit suite, then stops the agent
 * with SIGTERM (it drains its ring buffer and prints its accounting).
 */
static void agent_run(void)
{
	char *const argv[] = {
		AGENT, "--policy", "/policy.vgp", "--output", "native:" AGENT_RECORDS,
		"--metrics-port", "0", "--dedup-window-ms", "0",
		"--ready-file", AGENT_READY, NULL,
	};
	int status = 0, waited, fd;
	pid_t pid;

	if (access(AGENT, X_OK)) {
		printf("vmplguard-boot: no agent in the initramfs\n");
		return;
	}
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open(AGENT_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(AGENT, argv);
		_exit(127);
	}
	/* TCG is slow: loading and attaching every probe takes seconds. */
	for (waited = 0; waited < 120000 && access(AGENT_READY, F_OK); waited += 100) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("vmplguard-boot: agent FAILED to start (status %d)\n", status);
			print_file(AGENT_LOG, "");
			return;
		}
		sleep_ms(100);
	}
	printf("vmplguard-boot: agent %s after %d ms\n",
	       access(AGENT_READY, F_OK) ? "FAILED to get ready" : "ready", waited);
	if (!access(AGENT_READY, F_OK)) {
		int ret = write_file(KUNIT_RUN, "1");

		printf("vmplguard-boot: kunit rerun %s (%d)\n", ret ? "FAILED" : "ok", ret);
		/* The agent polls its ring buffer every 100 ms. */
		sleep_ms(1500);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	print_file(AGENT_LOG, "");
	printf("vmplguard-boot: agent exit %s %d\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	print_file(AGENT_RECORDS, "vmplguard-boot: agent record ");
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, NULL);
	mount("tracefs", "/tracing", "tracefs", 0, NULL);

	printf("vmplguard-boot: init reached\n");
	sysctl_roundtrip("core_pattern", "/var/crash/core.%e.%p");
	sysctl_roundtrip("modprobe", "/usr/sbin/modprobe");
	sysctl_roundtrip("poweroff_cmd", "/usr/sbin/poweroff");
	tracepoint_format("violation");
	tracepoint_format("request");
	agent_run();
	printf("vmplguard-boot: done\n");
	fflush(stdout);

	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
