# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Shared by check-series.sh and boot-kernel.sh (sourced, not run): fetches
# Debian's linux-source-6.12 at a pinned version, keeps one pristine tree per
# version in a cache, and makes a fresh patched tree from the series.
# Callers set SERIES_DIR and may set VMPLGUARD_LINUX_SOURCE_VERSION,
# VMPLGUARD_KERNEL_CACHE and VMPLGUARD_KERNEL_JOBS.

VERSION=${VMPLGUARD_LINUX_SOURCE_VERSION:-6.12.117-1~deb12u1}
CACHE=${VMPLGUARD_KERNEL_CACHE:-/var/cache/vmplguard/check-series}
JOBS=${VMPLGUARD_KERNEL_JOBS:-2}

die() { echo "$PROG: FAIL: $*" >&2; exit 1; }
note() { echo "$PROG: $*"; }
now() { date +%s; }
timings=""
timed() { # timed LABEL COMMAND...: runs it, remembers how long it took
	_label=$1; shift
	_t0=$(now)
	"$@"
	timings="$timings
  $_label: $(( $(now) - _t0 )) s"
}

# Sources, pinned: a silent switch to another build would test something else.
fetch() {
	have_src=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	have_cfg=$(dpkg-query -W -f='${Version}' linux-config-6.12 2>/dev/null || true)
	missing_tools=""
	for tool in make gcc flex bison bc perl xz git cpio pahole; do
		command -v $tool >/dev/null 2>&1 || missing_tools="$missing_tools $tool"
	done
	[ -f /usr/include/openssl/ssl.h ] || missing_tools="$missing_tools libssl-dev"
	[ -f /usr/include/libelf.h ] || missing_tools="$missing_tools libelf-dev"
	if [ "$have_src" = "$VERSION" ] && [ "$have_cfg" = "$VERSION" ] && [ -z "$missing_tools" ]; then
		note "linux-source-6.12 and linux-config-6.12 $VERSION already installed"
		return
	fi
	[ "$(id -u)" = 0 ] || die "need root to apt-get install linux-source-6.12=$VERSION linux-config-6.12=$VERSION (missing:$missing_tools)"
	if ! apt-get install -y -q "linux-source-6.12=$VERSION" "linux-config-6.12=$VERSION" \
		build-essential flex bison bc libssl-dev libelf-dev xz-utils git cpio dwarves >/dev/null; then
		die "apt cannot install linux-source-6.12=$VERSION. Debian's security archive keeps only
the last few 6.12 builds; pick one that 'apt-cache policy linux-source-6.12' lists, set
VMPLGUARD_LINUX_SOURCE_VERSION to it, and check that the series still applies."
	fi
}

# One pristine tree per version, extracted once.
extract() {
	SRC_ROOT=$CACHE/src-$VERSION
	PRISTINE=$SRC_ROOT/linux-source-6.12
	if [ -f "$SRC_ROOT/.extracted" ]; then
		note "pristine tree cached at $PRISTINE"
		return
	fi
	rm -rf "$SRC_ROOT"
	mkdir -p "$SRC_ROOT"
	tar -C "$SRC_ROOT" -xJf /usr/src/linux-source-6.12.tar.xz
	[ -f "$PRISTINE/Makefile" ] || die "/usr/src/linux-source-6.12.tar.xz has no linux-source-6.12/Makefile"
	touch "$SRC_ROOT/.extracted"
}

# apply_series DIR: a fresh patched tree in DIR/linux-source-6.12, hard links
# to the pristine files; git apply replaces the files it changes instead of
# writing through the links. Every patch must apply on top of the previous
# ones with no fuzz and no whitespace errors.
apply_series() {
	TREE=$1/linux-source-6.12
	rm -rf "$1"
	mkdir -p "$1"
	cp -al "$PRISTINE" "$TREE"
	for p in $(cat "$SERIES_DIR/series"); do
		[ -f "$SERIES_DIR/$p" ] || die "$p is listed in series but missing"
		(cd "$TREE" && git apply --check --whitespace=error-all "$SERIES_DIR/$p") ||
			die "$p does not apply cleanly on top of the previous patches"
		(cd "$TREE" && git apply --whitespace=error-all "$SERIES_DIR/$p")
	done
	note "all $(wc -l < "$SERIES_DIR/series") patches apply cleanly"
}
