#!/usr/bin/env bash
# packaging.deb: builds the Debian package with packaging/build-deb.sh, runs
# lintian on it (any E: fails), unpacks it with dpkg -x into a scratch root and
# checks the layout, the maintainer scripts, that the packaged config and plan
# are accepted, and that the packaged binaries run. Exit 77 (skipped) when
# the tools are missing (scripts/install-deps.sh installs them).
set -euo pipefail
: "${SRCDIR:?}"
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" > /dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. build (compiles the project once; two jobs unless DEB_BUILD_OPTIONS says)
start=$SECONDS
opts=${DEB_BUILD_OPTIONS:-}
[[ $opts == *parallel=* ]] || opts="$opts parallel=2"
DEB_BUILD_OPTIONS=$opts bash "$SRCDIR/packaging/build-deb.sh" "$work/out" > "$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	fail "packaging/build-deb.sh failed"
}
version=$(sed -n '1s/^payoutd (\([^)]*\)).*/\1/p' "$SRCDIR/packaging/debian/changelog")
deb=$(echo "$work/out/payoutd_${version}_"*.deb)
changes=$(echo "$work/out/payoutd_${version}_"*.changes)
[[ -f $deb && -f $changes ]] || { ls -l "$work/out" >&2; fail "no payoutd_${version}_*.deb and .changes"; }
echo "built ${deb##*/} in $((SECONDS - start)) s"

# 2. lintian: errors fail, warnings are shown
lintian "$changes" > "$work/lintian.txt" 2>&1 || true
grep -v '^running with root privileges' "$work/lintian.txt" || true
grep -q '^E: ' "$work/lintian.txt" && fail "lintian reports errors"
echo "lintian: $(grep -c '^E: ' "$work/lintian.txt") errors, $(grep -c '^W: ' "$work/lintian.txt") warnings"

# 3. the files
root=$work/root
dpkg -x "$deb" "$root"
dpkg-deb -e "$deb" "$work/control"
expect=(
	usr/bin/payoutd usr/bin/payoutctl
	lib/systemd/system/payoutd.service lib/systemd/system/payoutd-close.service
	lib/systemd/system/payoutd-close.timer
	usr/lib/sysusers.d/payoutd.conf usr/lib/tmpfiles.d/payoutd.conf
	etc/payoutd/payoutd.yaml etc/payoutd/plan.yaml
	usr/share/doc/payoutd/README.md usr/share/doc/payoutd/copyright
	usr/share/doc/payoutd/README.Debian usr/share/doc/payoutd/examples/example-unilevel.yaml
)
shopt -s nullglob
for page in "$SRCDIR"/packaging/man/*.[58]; do
	name=${page##*/}
	expect+=("usr/share/man/man${name##*.}/$name.gz")
done
for f in "${expect[@]}"; do
	[[ -f $root/$f ]] || fail "the package has no /$f"
done
[[ -x $root/usr/bin/payoutd && -x $root/usr/bin/payoutctl ]] || fail "binaries not executable"
# the shipped units are the ones tests/e2e/systemd.sh verifies
for u in payoutd.service payoutd-close.service payoutd-close.timer; do
	cmp -s "$root/lib/systemd/system/$u" "$SRCDIR/packaging/systemd/$u" || fail "$u differs from packaging/systemd/$u"
done
cmp -s "$root/etc/payoutd/plan.yaml" "$SRCDIR/rules/plans/example-unilevel.yaml" || fail "/etc/payoutd/plan.yaml is not the example plan"
grep -qx /etc/payoutd/payoutd.yaml "$work/control/conffiles" || fail "payoutd.yaml is not a conffile"
grep -qx /etc/payoutd/plan.yaml "$work/control/conffiles" || fail "plan.yaml is not a conffile"
grep -q 'systemd-sysusers .*payoutd.conf' "$work/control/postinst" || fail "postinst does not create the users"
grep -q 'systemd-tmpfiles .*--create payoutd.conf' "$work/control/postinst" || fail "postinst does not create the folders"
grep -q "deb-systemd-helper enable 'payoutd.service'" "$work/control/postinst" || fail "postinst does not enable payoutd.service"
grep -q "deb-systemd-helper enable 'payoutd-close.timer'" "$work/control/postinst" || fail "postinst does not enable payoutd-close.timer"
grep -q 'deb-systemd-invoke start' "$work/control/postinst" && fail "postinst starts a unit on installation"
echo "files: ${#expect[@]} expected files present, units as in packaging/systemd, conffiles and maintainer scripts ok"

# 4. the binaries run (they link system libraries only) and the packaged
# config and plan are accepted, with /var/lib/payoutd moved into the scratch root
"$root/usr/bin/payoutd" --version | grep -qx "payoutd ${version%-*}" || fail "payoutd --version"
"$root/usr/bin/payoutctl" --version | grep -qx "payoutctl ${version%-*}" || fail "payoutctl --version"
sed -e "s#/var/lib/payoutd#$root/var/lib/payoutd#g" -e "s#/etc/payoutd#$root/etc/payoutd#g" \
	"$root/etc/payoutd/payoutd.yaml" > "$work/payoutd.yaml"
grep -q "$root/var/lib/payoutd/inbox" "$work/payoutd.yaml" || fail "payoutd.yaml has no /var/lib/payoutd/inbox"
"$root/usr/bin/payoutctl" -c "$work/payoutd.yaml" rules check > "$work/check.out" 2>&1 || {
	cat "$work/check.out" >&2
	fail "payoutctl rules check rejects the packaged config or plan"
}
mkdir -p "$root/var/lib/payoutd/inbox"
cp "$SRCDIR/demo/files/distributors-2026-11.csv" "$SRCDIR/demo/files/sales-2026-11.csv" "$root/var/lib/payoutd/inbox/"
"$root/usr/bin/payoutd" -c "$work/payoutd.yaml" --once 2> "$work/once.err" || {
	cat "$work/once.err" >&2
	fail "payoutd --once with the packaged config"
}
[[ -s $root/var/lib/payoutd/ledger.db && -s $root/var/lib/payoutd/audit.log ]] || fail "no ledger or audit log in /var/lib/payoutd"
ls "$root/var/lib/payoutd/archive/"*/sales-2026-11.csv > /dev/null || fail "sales file not archived"
echo "binaries: --version ok; packaged config and plan accepted, demo files booked"
echo "packaging.deb passed in $((SECONDS - start)) s"
