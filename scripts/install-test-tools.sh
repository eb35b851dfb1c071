#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real programs, when missing, and says so.
# Needs root or sudo for apt-get; without either it names what is missing and fails.
set -euo pipefail

# command -> Debian package
declare -A tools=(
  [sox]=sox
  [soxi]=sox
  [espeak-ng]=espeak-ng
  [openssl]=openssl
  [curl]=curl
  [mbsync]=isync
  [python3]=python3
  [chromium]=chromium
  [swaks]="swaks libnet-ssleay-perl" # swaks -tls needs Net::SSLeay, only a Recommends
  [baresip]=baresip-core
  [sipp]=sip-tester # SIPp's Debian package name
  [kamailio]=kamailio # a record-routing proxy standing in for a PBX
  [/usr/sbin/sshd]=openssh-server # an SFTP server for scheduled backups, run as a non-daemon
  [podman]=podman # builds the container image (test/docker/)
  [debootstrap]=debootstrap # makes the image's Debian base without a registry
  [/usr/lib/postgresql/15/bin/initdb]=postgresql # the PostgreSQL store's test clusters
  [promtool]=prometheus # checks /metrics' text format
  [rsyslogd]="rsyslog rsyslog-gnutls" # a syslog collector over TCP and TLS
  [/usr/lib/dovecot/imap]=dovecot-imapd # a real IMAP server whose e-mail the phone reads
  [ip]=iproute2 # network namespaces and veth pairs: the partition test's two hosts
  [patch]=patch # rebuilds smtp-server's DATA reader before our patch, the oracle of its tests
)
# library file -> Debian package: libraries the server loads, which no command names
declare -A libraries=(
  # serve preloads it when installed (bin/server-flags.js); test/cli/cli-serve.test.ts checks it
  ["/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"]=libjemalloc2
)

missing=()
for cmd in "${!tools[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${tools[$cmd]}")
done
for file in "${!libraries[@]}"; do
  [ -e "$file" ] || missing+=("${libraries[$file]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "Installing Debian packages the tests need: $packages"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "Cannot install $packages: run as root or install them (apt-get install $packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
echo "Installed: $packages"
