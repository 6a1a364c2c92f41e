#!/bin/sh
# Installs the binhost agents on a Gentoo machine, or into DESTDIR for packaging.
#
#   sh deploy/stage.sh                    # once, in a built checkout: makes build/lib/{host,target,cli}
#   sh deploy/install.sh [OPTIONS] [host] [target] [cli]
#
# Components default to every one staged. What goes where:
#   /usr/lib/binhost-agents/<component>/     the staged tree (dist/ and its node_modules/)
#   /usr/bin/binhost-host, binhost-target, binhostctl          wrappers running it with node
#   /usr/lib/systemd/system/binhost-*.service                  when systemd is in use
#   /etc/init.d/binhost-*, /etc/conf.d/binhost-*               when OpenRC is in use
#   /etc/binhost/{host,target,admin}.toml.example              commented templates (an existing
#                                                              *.toml is never touched)
#   /etc/binhost 0755, /etc/binhost/pki 0700, /var/lib/binhost 0711, /var/lib/binhost-target 0750,
#   /var/log/binhost 0750 and /etc/logrotate.d/binhost (OpenRC logs), all owned by root
#   bash and zsh completion for binhostctl, README in /usr/share/doc/binhost-agents
#
# Options:
#   --destdir DIR       install under DIR (packaging); also read from $DESTDIR
#   --dry-run           print what would be done, change nothing
#   --init KIND         auto (default: what this machine runs; both with a DESTDIR), systemd,
#                       openrc, both or none; the first line printed names the choice and why
#                       (systemd found, OpenRC found, or neither: no service files)
#   --lib DIR           the staged trees (default: build/lib next to this script's directory)
#   --node PATH         the node binary the wrappers run (default: /usr/bin/node)
#   --systemd-unitdir DIR  (default: /usr/lib/systemd/system)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
deploy="$top/deploy"
DESTDIR=${DESTDIR:-}
dry_run=0
init=auto
lib="$top/build/lib"
node=/usr/bin/node
unitdir=/usr/lib/systemd/system
libdir=/usr/lib/binhost-agents
components=

die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; DESTDIR=$2; shift ;;
	--dry-run) dry_run=1 ;;
	--init) [ $# -ge 2 ] || die "--init needs a value"; init=$2; shift ;;
	--lib) [ $# -ge 2 ] || die "--lib needs a directory"; lib=$2; shift ;;
	--node) [ $# -ge 2 ] || die "--node needs a path"; node=$2; shift ;;
	--systemd-unitdir) [ $# -ge 2 ] || die "--systemd-unitdir needs a directory"; unitdir=$2; shift ;;
	host | target | cli) components="$components $1" ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
	shift
done

# why: the reason for the choice of $init, printed with it (in --dry-run too).
case $init in
auto)
	if [ -n "$DESTDIR" ]; then
		init=both
		why="a DESTDIR: systemd units and OpenRC scripts both; --init picks one"
	else
		# systemd's own test for "booted with systemd" (sd_booted).
		sd=0; rc=0
		[ -d /run/systemd/system ] && sd=1
		[ -x /sbin/openrc-run ] && rc=1
		case $sd$rc in
		11) init=both; why="systemd found (/run/systemd/system) and OpenRC found (/sbin/openrc-run)" ;;
		10) init=systemd; why="systemd found (/run/systemd/system)" ;;
		01) init=openrc; why="OpenRC found (/sbin/openrc-run)" ;;
		*) init=none; why="neither systemd nor OpenRC found: no service files; --init systemd, openrc or both installs them" ;;
		esac
	fi
	;;
none) why="--init none: no service files" ;;
systemd | openrc | both) why="--init $init" ;;
*) die "--init: expected auto, systemd, openrc, both or none, got \"$init\"" ;;
esac

if [ -z "$components" ]; then
	for c in host target cli; do
		[ -f "$lib/$c/dist/main.js" ] && components="$components $c"
	done
	[ -n "$components" ] || die "nothing staged in $lib: run 'sh deploy/stage.sh' in a built checkout first"
fi
for c in $components; do
	[ -f "$lib/$c/dist/main.js" ] || die "$lib/$c/dist/main.js is missing: run 'sh deploy/stage.sh' first"
done

printf 'init system: %s (%s)\n' "$init" "$why"

# Every change goes through run: printed with --dry-run, done otherwise.
run() {
	if [ "$dry_run" = 1 ]; then
		printf '%s\n' "$*"
	else
		"$@"
	fi
}

# Ownership needs root; a packager running as a user fixes it in the package (fowners).
own() {
	if [ "$(id -u)" = 0 ]; then run chown "$@"; fi
}

dir() { # MODE PATH
	run mkdir -p "$DESTDIR$2"
	run chmod "$1" "$DESTDIR$2"
	own root:root "$DESTDIR$2"
}

file() { # MODE SRC DEST
	run mkdir -p "$(dirname "$DESTDIR$3")"
	run cp "$2" "$DESTDIR$3"
	run chmod "$1" "$DESTDIR$3"
	own root:root "$DESTDIR$3"
}

# Writes stdin to DEST with MODE (or prints what it would write).
write() { # MODE DEST
	if [ "$dry_run" = 1 ]; then
		printf 'write %s (mode %s)\n' "$DESTDIR$2" "$1"
		cat >/dev/null
		return
	fi
	mkdir -p "$(dirname "$DESTDIR$2")"
	cat >"$DESTDIR$2.tmp.$$"
	chmod "$1" "$DESTDIR$2.tmp.$$"
	mv -f "$DESTDIR$2.tmp.$$" "$DESTDIR$2"
	own root:root "$DESTDIR$2"
}

# Copies a staged tree next to the old one, then swaps: a failed copy leaves the old one whole.
tree() { # COMPONENT
	to="$DESTDIR$libdir/$1"
	run mkdir -p "$DESTDIR$libdir"
	run rm -rf "$to.new"
	run cp -pPR "$lib/$1" "$to.new"
	if [ "$(id -u)" = 0 ]; then run chown -R -h root:root "$to.new"; fi
	run rm -rf "$to"
	run mv "$to.new" "$to"
}

wrapper() { # NAME COMPONENT
	write 0755 "/usr/bin/$1" <<WRAPPER
#!/bin/sh
# $1: installed by binhost-agents' deploy/install.sh
exec $node $libdir/$2/dist/main.js "\$@"
WRAPPER
}

service() { # NAME (binhost-host or binhost-target)
	case $init in systemd | both) file 0644 "$deploy/systemd/$1.service" "$unitdir/$1.service" ;; esac
	case $init in openrc | both)
		file 0755 "$deploy/openrc/init.d/$1" "/etc/init.d/$1"
		# conf.d holds the admin's settings: never overwritten.
		if [ -e "$DESTDIR/etc/conf.d/$1" ]; then
			printf 'keeping %s\n' "$DESTDIR/etc/conf.d/$1"
		else
			file 0644 "$deploy/openrc/conf.d/$1" "/etc/conf.d/$1"
		fi
		;;
	esac
}

dir 0755 /etc/binhost
dir 0700 /etc/binhost/pki
case $init in openrc | both)
	dir 0750 /var/log/binhost
	file 0644 "$deploy/logrotate/binhost" /etc/logrotate.d/binhost
	;;
esac
for c in $components; do
	tree "$c"
	case $c in
	host)
		wrapper binhost-host host
		service binhost-host
		file 0644 "$deploy/config/host.toml.example" /etc/binhost/host.toml.example
		dir 0711 /var/lib/binhost
		;;
	target)
		wrapper binhost-target target
		service binhost-target
		file 0644 "$deploy/config/target.toml.example" /etc/binhost/target.toml.example
		dir 0750 /var/lib/binhost-target
		;;
	cli)
		wrapper binhostctl cli
		file 0644 "$deploy/config/admin.toml.example" /etc/binhost/admin.toml.example
		# Generated from the CLI's own command table, by the staged CLI itself.
		if [ "$dry_run" = 1 ]; then
			printf 'write %s\n' "$DESTDIR/usr/share/bash-completion/completions/binhostctl" "$DESTDIR/usr/share/zsh/site-functions/_binhostctl"
		else
			command -v node >/dev/null 2>&1 || die "node is needed to generate the shell completion"
			node "$lib/cli/dist/main.js" completion bash | write 0644 /usr/share/bash-completion/completions/binhostctl
			node "$lib/cli/dist/main.js" completion zsh | write 0644 /usr/share/zsh/site-functions/_binhostctl
		fi
		;;
	esac
done
if [ -f "$top/README.md" ]; then file 0644 "$top/README.md" /usr/share/doc/binhost-agents/README.md; fi

[ "$dry_run" = 1 ] && exit 0
cat <<EOF

Installed:${components} (init: $init) into ${DESTDIR:-/}.
Next: copy /etc/binhost/<agent>.toml.example to <agent>.toml, fill in the certificate paths
(binhostctl pki init / pki issue ...) and check it with  binhost-<agent> --check-config.
Then:  systemctl enable --now binhost-<agent>   or   rc-update add binhost-<agent> default && rc-service binhost-<agent> start
EOF
