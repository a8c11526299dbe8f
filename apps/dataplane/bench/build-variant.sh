#!/usr/bin/env bash
# A second build of the data plane for one bench run (BENCH_VARIANTS in proxy.bench.ts): the data plane and the
# packages it loads at runtime, taken from a git ref with optional patches applied, built into DIR. Its node_modules
# links to this checkout's third-party packages and to the variant's own @gatehouse packages, so DIR's dist/main.js
# runs the variant's engine, not this checkout's.
#
#   bench/build-variant.sh DIR REF [PATCH...]      e.g. bench/build-variant.sh /tmp/v-before main
#                                                       bench/build-variant.sh /tmp/v-nrt HEAD bench/variants/no-rule-timing.patch
# A patch that no longer applies fails the script (a stale variant must not be measured as if it were one).
set -euo pipefail
dir=$1 ref=$2
shift 2
root=$(git rev-parse --show-toplevel)
patches=()
for patch in "$@"; do patches+=("$(realpath "$patch")"); done
rm -rf "$dir"
mkdir -p "$dir/node_modules/@gatehouse"
git -C "$root" archive "$ref" apps/dataplane packages/contracts packages/runtime packages/traffic-policy \
  $(git -C "$root" ls-tree --name-only "$ref" | grep '^tsconfig') | tar -x -C "$dir"
for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
  [ "$(basename "$entry")" = "@gatehouse" ] || ln -s "$entry" "$dir/node_modules/$(basename "$entry")"
done
for package in contracts runtime traffic-policy; do
  ln -s "../../packages/$package" "$dir/node_modules/@gatehouse/$package"
  # Nested dependencies (a version other than the root's) stay as they are in this checkout.
  [ -d "$root/packages/$package/node_modules" ] && ln -s "$root/packages/$package/node_modules" "$dir/packages/$package/node_modules"
done
ln -s "../../apps/dataplane" "$dir/node_modules/@gatehouse/dataplane"
[ -d "$root/apps/dataplane/node_modules" ] && ln -s "$root/apps/dataplane/node_modules" "$dir/apps/dataplane/node_modules"
for patch in "${patches[@]}"; do patch -p1 -d "$dir" --forward --batch < "$patch"; done
for workspace in packages/contracts packages/runtime packages/traffic-policy apps/dataplane; do
  (cd "$dir/$workspace" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json)
done
echo "variant built: $dir/apps/dataplane/dist/main.js ($ref${*:+ + $*})"
