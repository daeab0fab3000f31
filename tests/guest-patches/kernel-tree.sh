# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#
# Shared by check-series.sh and boot-kernel.sh (sourced, not run): fetches
# Debian's linux-source-6.12 at a pinned version, keeps one pristine tree per
# version in a cache, and makes a fresh patched tree from the series, whole
# or one patch at a time.
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

# The patches of the series, in order.
series_patches() {
	cat "$SERIES_DIR/series"
}

# Every file a patch of the series touches (changes, adds or removes).
series_files() {
	for p in $(series_patches); do
		sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$SERIES_DIR/$p"
	done | sort -u
}

# fresh_tree DIR: a pristine tree in DIR/linux-source-6.12, hard links to
# the cached pristine files; git apply replaces the files it changes instead
# of writing through the links. Sets TREE and APPLIED=0.
fresh_tree() {
	TREE=$1/linux-source-6.12
	APPLIED=0
	rm -rf "$1"
	mkdir -p "$1"
	cp -al "$PRISTINE" "$TREE"
	# The build directories outlive the tree, and make only rebuilds what
	# is older than its inputs: a pristine file has the tarball's old time,
	# so an object built from a patched version in an earlier run would
	# look up to date. Give every file this series (or one that ran here
	# before) touches a new inode and the current time.
	series_files >> "$CACHE/series-files"
	sort -u -o "$CACHE/series-files" "$CACHE/series-files"
	while read -r f; do
		[ -f "$TREE/$f" ] || continue
		cp "$TREE/$f" "$TREE/$f.vg-fresh"
		mv "$TREE/$f.vg-fresh" "$TREE/$f"
	done < "$CACHE/series-files"
}

# apply_patch PATCH: applies the next patch to $TREE with no fuzz and no
# whitespace errors, on top of the previous ones.
apply_patch() {
	[ -f "$SERIES_DIR/$1" ] || die "$1 is listed in series but missing"
	(cd "$TREE" && git apply --check --whitespace=error-all "$SERIES_DIR/$1") ||
		die "$1 does not apply cleanly on top of the previous patches"
	(cd "$TREE" && git apply --whitespace=error-all "$SERIES_DIR/$1")
	APPLIED=$((APPLIED + 1))
}

# apply_series DIR: a fresh tree in DIR with the whole series applied.
apply_series() {
	fresh_tree "$1"
	for p in $(series_patches); do
		apply_patch "$p"
	done
	note "all $APPLIED patches apply cleanly"
}
