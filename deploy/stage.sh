#!/bin/sh
# Stages the built agents as self-contained trees for deploy/install.sh:
#
#   OUT/host  OUT/target  OUT/cli     each: package.json, dist/, production node_modules/
#
# made with `pnpm deploy --prod` (the workspace's @binhost/shared is copied in, dev dependencies
# are left out). Run it in a built checkout (after `npm test` or `npx tsc -b`). It needs no
# network: pnpm takes the packages from its local store, filled by the workspace install.
#
# usage: sh deploy/stage.sh [OUT]        OUT defaults to build/lib; it is replaced.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$top/build/lib"}
PNPM_VERSION=10.34.9

die() {
	printf 'stage.sh: %s\n' "$*" >&2
	exit 1
}

for p in agent-host agent-target cli shared; do
	[ -f "$top/packages/$p/dist/index.js" ] || die "packages/$p/dist is missing: build first (npx tsc -b)"
done

# The pinned pnpm, as scripts/bootstrap.mjs uses it.
if [ "$(pnpm --version 2>/dev/null || true)" = "$PNPM_VERSION" ]; then
	set -- pnpm
else
	set -- npx -y "pnpm@$PNPM_VERSION"
fi

rm -rf "$out"
mkdir -p "$out"
for pair in host:agent-host target:agent-target cli:cli; do
	name=${pair%%:*}
	pkg=${pair#*:}
	# --legacy: pnpm 10 deploys workspace packages without inject-workspace-packages this way.
	(cd "$top" && "$@" --filter "@binhost/$pkg" deploy --prod --legacy --offline "$out/$name" >/dev/null) ||
		die "pnpm deploy of @binhost/$pkg failed"
	# Sources, build configs and compiled tests are not needed at run time.
	for d in "$out/$name" "$out/$name"/node_modules/.pnpm/@binhost+*/node_modules/@binhost/*; do
		[ -d "$d" ] || continue
		rm -rf "$d/src" "$d/tsconfig.json" "$d/vitest.config.ts" "$d"/*.tsbuildinfo
		[ -d "$d/dist" ] && find "$d/dist" -type f -name '*.test.*' -exec rm -f {} +
	done
	# TypeScript sources and declarations and source maps, ours and the dependencies': Node 20
	# runs none of them, and they are 40% of the files.
	find "$out/$name" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -exec rm -f {} +
	[ -f "$out/$name/dist/main.js" ] || die "$out/$name/dist/main.js is missing after deploy"
done
printf 'staged %s\n' "$out"/host "$out"/target "$out"/cli
