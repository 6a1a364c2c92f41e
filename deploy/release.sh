#!/bin/sh
# Makes the release tarball that the ebuild's SRC_URI names and that deploy/install.sh installs
# from on machines without the workspace:
#
#   OUT/binhost-agents-VERSION.tar.gz  →  binhost-agents-VERSION/{README.md, deploy/, build/lib/}
#
# build/lib holds the staged programs with their production node_modules (deploy/stage.sh), so
# neither the ebuild nor install.sh needs the network or a package manager.
#
# usage: sh deploy/release.sh [--lib STAGED] [OUT]     OUT defaults to build/; without --lib the
#        programs are staged afresh (which needs a built checkout).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
lib=
while [ $# -gt 0 ]; do
	case $1 in
	--lib) [ $# -ge 2 ] || { echo "release.sh: --lib needs a directory" >&2; exit 1; }; lib=$2; shift ;;
	*) break ;;
	esac
	shift
done
out=${1:-"$top/build"}
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$top/packages/cli/package.json" | head -n 1)
name="binhost-agents-$version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/$name/build"
if [ -n "$lib" ]; then
	cp -pPR "$lib" "$work/$name/build/lib"
else
	sh "$top/deploy/stage.sh" "$work/$name/build/lib" >/dev/null
fi
cp -pPR "$top/deploy" "$work/$name/deploy"
cp -p "$top/README.md" "$work/$name/"
mkdir -p "$out"
# Owner and group numeric 0 and sorted names: the tarball does not depend on who built it.
tar -C "$work" --owner=0 --group=0 --numeric-owner --sort=name -czf "$out/$name.tar.gz" "$name"
printf '%s\n' "$out/$name.tar.gz"
