#!/usr/bin/env bash
# make deb: the Debian package, built with Debian's own tools
# (dpkg-buildpackage, debhelper's dh with its cmake build system, from
# debian/) in a copy of the source tree under OUT_DIR, so that nothing is
# written beside or inside the checkout; then lintian, which must report no
# error and no warning. Prints the package's path last.
#   packaging/deb.sh OUT_DIR
#   DEB_JOBS: parallel build jobs (default 2)
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
jobs=${DEB_JOBS:-2}
cd "$source_dir"

say() { echo "deb: $*"; }

# One version: debian/changelog's is CMakeLists.txt's project VERSION.
version=$(dpkg-parsechangelog -S Version)
cmake_version=$(sed -n 's/^project(netd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "$version" != "$cmake_version" ]; then
    say "debian/changelog says $version, CMakeLists.txt's project() $cmake_version: make them agree" >&2
    exit 1
fi

# The files git knows of, tracked or new but not ignored (so no build tree);
# without git (an unpacked tarball), everything but the build trees.
source_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done
    else
        find . -path ./.git -prune -o -path './build*' -prune -o -path ./var -prune -o -type f -printf '%P\0'
    fi
}
tree=$out/netd-$version
rm -rf "$tree"
mkdir -p "$tree"
source_files | tar --null -T - -cf - | tar -C "$tree" -xf -

arch=$(dpkg --print-architecture)
deb=$out/netd_${version}_$arch.deb
rm -f "$out"/netd_"$version"_* "$out"/netd-dbgsym_"$version"_*
log=$out/build.log
say "building netd $version with dpkg-buildpackage (parallel=$jobs; log: $log)"
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=$jobs${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
    dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
    tail -40 "$log" >&2
    say "dpkg-buildpackage failed (the whole log: $log)" >&2
    exit 1
fi
rm -rf "$tree"

say "lintian $deb"
lintian --fail-on error,warning --info --show-overrides "$deb"
say "lintian: no errors, no warnings"
echo "$deb"
