// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * /init of the boot test's initramfs (built static by boot-kernel.sh).
 * Exercises, on a running patched kernel without a monitor, the paths a user
 * touches: the mediated sysctls must behave like stock ones, and the two
 * vmplguard tracepoints must exist with the struct vg_record fields.
 * Prints "vmplguard-boot: ..." lines that boot-kernel.sh checks, then asks
 * the kernel to reboot, which ends QEMU under -no-reboot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

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

	snprintf(path, sizeof(path), "/tracing/events/vmplguard/%s/format", event);
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
	printf("vmplguard-boot: done\n");
	fflush(stdout);

	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
