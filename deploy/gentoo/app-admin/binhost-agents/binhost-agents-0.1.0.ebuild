# Copyright 2026 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit bash-completion-r1 systemd

DESCRIPTION="Build Gentoo binary packages for other machines and install them automatically"
HOMEPAGE="https://github.com/binhost-agents/binhost-agents"
# The release tarball from deploy/release.sh: the built programs with their production
# node_modules already inside (build/lib), so nothing is fetched from npm during the build.
SRC_URI="https://github.com/binhost-agents/binhost-agents/releases/download/v${PV}/${P}.tar.gz"

# The project's own license (placeholder until the repository has a LICENSE file), then the
# bundled node_modules: @grpc/grpc-js, @bufbuild/protobuf (Apache-2.0), smol-toml, protobufjs
# (BSD), node-tar and its helpers (BlueOak-1.0.0), pino and most others (MIT), ISC, tslib (0BSD).
LICENSE="MIT Apache-2.0 BSD BlueOak-1.0.0 ISC 0BSD"
SLOT="0"
KEYWORDS="~amd64"
# Prebuilt JavaScript only: nothing to strip, nothing to test without the workspace.
RESTRICT="strip test"

# node runs the agents; binhostctl writes its shell completion at build time.
BDEPEND=">=net-libs/nodejs-20.19"
# gnupg: the host signs binary packages and Portage on the target verifies them;
# zstd: gpkg binary packages; Portage >= 3.0.78 verifies signed gpkgs by default;
# bubblewrap: the host runs every build in a sandbox (util-linux's unshare mounts its overlays).
RDEPEND="
	>=net-libs/nodejs-20.19
	app-crypt/gnupg
	app-arch/zstd
	>=sys-apps/portage-3.0.78
	sys-apps/bubblewrap
	sys-apps/util-linux
"

src_compile() {
	local cli="${S}/build/lib/cli/dist/main.js"
	node "${cli}" completion bash > binhostctl.bash || die "bash completion"
	node "${cli}" completion zsh > _binhostctl || die "zsh completion"
}

src_install() {
	# The programs: each a self-contained tree (dist/ and node_modules/, relative symlinks kept).
	insinto /usr/lib/${PN}
	doins -r build/lib/host build/lib/target build/lib/cli

	local pair
	for pair in host:binhost-host target:binhost-target cli:binhostctl; do
		newbin - "${pair#*:}" <<-EOF
			#!/bin/sh
			exec /usr/bin/node /usr/lib/${PN}/${pair%%:*}/dist/main.js "\$@"
		EOF
	done

	systemd_dounit deploy/systemd/binhost-host.service deploy/systemd/binhost-target.service
	local agent
	for agent in binhost-host binhost-target; do
		newinitd deploy/openrc/init.d/${agent} ${agent}
		newconfd deploy/openrc/conf.d/${agent} ${agent}
	done

	# Commented templates; the admin copies one to host.toml, target.toml or admin.toml.
	insinto /etc/binhost
	doins deploy/config/host.toml.example deploy/config/target.toml.example deploy/config/admin.toml.example
	keepdir /etc/binhost/pki
	fperms 0700 /etc/binhost/pki

	keepdir /var/lib/binhost /var/lib/binhost-target /var/log/binhost
	fperms 0711 /var/lib/binhost
	fperms 0750 /var/lib/binhost-target /var/log/binhost
	# OpenRC's log files (systemd keeps the logs in the journal).
	insinto /etc/logrotate.d
	newins deploy/logrotate/binhost binhost

	newbashcomp binhostctl.bash binhostctl
	insinto /usr/share/zsh/site-functions
	doins _binhostctl

	dodoc README.md
}

pkg_postinst() {
	if [[ -z ${REPLACING_VERSIONS} ]]; then
		elog "Create a CA and certificates (on the machine that keeps the CA):"
		elog "  binhostctl pki init"
		elog "  binhostctl pki issue host NAME --san NAME.example.org"
		elog "  binhostctl pki issue target NAME"
		elog "  binhostctl pki issue admin NAME    (for binhostctl itself)"
		elog "Copy /etc/binhost/host.toml.example (on the host) or target.toml.example (on a"
		elog "target) to host.toml / target.toml, fill in the certificate paths, check it with"
		elog "  binhost-host --check-config   or   binhost-target --check-config"
		elog "and start the agent:"
		elog "  systemctl enable --now binhost-host   or   rc-update add binhost-host default"
		elog "For binhostctl, copy /etc/binhost/admin.toml.example to admin.toml and name the"
		elog "admin certificate and the host's address in it."
	fi
}
