#!/bin/sh
# Stages the built agents as self-contained trees for deploy/install.sh:
#
#   OUT/host  OUT/target  OUT/cli     each: package.json, dist/, production node_modules/
#
# made with `pnpm deploy --prod` (the workspace's @binhost/shared is copied in, dev dependencies
# are left out). Run it in a built checkout (after `npm test` or `npx tsc -b`). The package files
# come from pnpm's store, filled by the workspace install; but the legacy deploy resolves the
# dependency ranges again, which needs the registry's metadata. A `--frozen-lockfile` install does
# not put that in pnpm's metadata cache, so on a machine with empty caches `--offline` fails
# (ERR_PNPM_NO_OFFLINE_META): `--prefer-offline` uses the cache when it has the metadata and the
# registry when it does not.
#
# pnpm's output is kept in a temp file and printed (to stderr) only when a deploy fails.
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
	pnpm_cmd=pnpm
else
	pnpm_cmd="npx -y pnpm@$PNPM_VERSION"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$out"
mkdir -p "$out"
for pair in host:agent-host target:agent-target cli:cli; do
	name=${pair%%:*}
	pkg=${pair#*:}
	# --legacy: pnpm 10 deploys workspace packages without inject-workspace-packages this way.
	# (The lockfile-based deploy would need no registry, but it writes the checkout's absolute
	# path into the staged package.json and a lockfile, which would then be installed.)
	set -- --filter "@binhost/$pkg" deploy --prod --legacy --prefer-offline "$out/$name"
	rc=0
	# $pnpm_cmd unquoted on purpose: it is one or three words, none with spaces.
	(cd "$top" && $pnpm_cmd "$@") >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$log" >&2
		die "pnpm deploy of @binhost/$pkg failed (exit $rc): $pnpm_cmd $*"
	fi
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
