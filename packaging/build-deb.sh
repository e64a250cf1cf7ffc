#!/usr/bin/env bash
# Builds the payoutd Debian package (binary only, unsigned) from this source
# tree: copies the tree to a temporary folder (git's tracked and untracked
# files, without ignored ones such as build folders; the whole tree minus
# build*/ and .git outside a git checkout), puts packaging/debian there as
# debian/, runs `dpkg-buildpackage -us -uc -b`, and leaves the .deb, .changes
# and .buildinfo in OUTDIR.
#
#   packaging/build-deb.sh OUTDIR
#
# Needs the Build-Depends of packaging/debian/control (scripts/install-deps.sh
# installs them). DEB_BUILD_OPTIONS is passed on, with nocheck added (the test
# suite runs separately) and parallel=$(nproc) unless it sets parallel=.
set -euo pipefail
usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
(($# == 1)) || usage
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(sed -n '1s/^payoutd (\([^)]*\)).*/\1/p' "$src/packaging/debian/changelog")
[[ -n $version ]] || { echo "$0: no version in packaging/debian/changelog" >&2; exit 1; }
upstream=${version%-*}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/payoutd-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/payoutd-$upstream
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	# tracked files deleted in the work tree are listed too: skip them
	git -C "$src" ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $src/$f || -L $src/$f ]] && printf '%s\0' "$f"; done |
		tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
	tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./debian --exclude=./demo/state \
		-cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -a "$src/packaging/debian" "$tree/debian"

opts="${DEB_BUILD_OPTIONS:-} nocheck"
[[ $opts == *parallel=* ]] || opts="$opts parallel=$(nproc)"
(cd "$tree" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b)

shopt -s nullglob
files=("$tmp"/payoutd*_"$version"_*.deb "$tmp"/payoutd*_"$version"_*.changes "$tmp"/payoutd*_"$version"_*.buildinfo)
((${#files[@]} > 0)) || { echo "$0: dpkg-buildpackage left no package" >&2; exit 1; }
cp "${files[@]}" "$out/"
for f in "${files[@]}"; do echo "$out/${f##*/}"; done
