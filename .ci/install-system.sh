#!/usr/bin/env bash
# Installs the system packages Kansoku needs on a fresh Debian 12, as root. Idempotent: when everything
# is already there it installs nothing and does not touch apt at all.
#
#   nats-server              the NATS server with JetStream (the local stack starts it)
#   prometheus-alertmanager  Alertmanager, for the alerting tests
#   openjdk-17-jre-headless  runs the Kafka broker (Kafka 4.x needs Java 17+)
#   maven                    fetches the Kafka broker's jars from Maven Central (once; cached in .cache/kafka)
#   softflowd                real NetFlow v5/v9/IPFIX exporter for the flows collector's tests (reads a pcap)
#   pmacct                   pmacctd nfprobe/sfprobe (IPFIX, sFlow exporters from a pcap) for the same tests
#   tshark                   decodes exporters' packets as an oracle in the flows and DNS tests
#   chromium                 headless browser for the gateway overview page's Playwright test
#   unbound, dnsperf, bind9  real resolvers with dnstap / query logs, and their load tool, for the DNS tests
#   gobgpd, bgpdump          a real BGP speaker with BMP for the station's test; bgpdump as the MRT oracle
#   chromium                 headless browser for the gateway overview page's test (playwright-core drives it)
#
# Node, pnpm and the npm dependencies (chDB included) are not system packages and are not handled here.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-system.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()

# A Debian package counts as present when dpkg says it is installed.
need_package() {
  local package=$1
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
}

# Java 17 or newer on PATH (or JAVA_HOME) will do, wherever it came from.
java_major() {
  local java=java
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then java=$JAVA_HOME/bin/java; fi
  command -v "$java" >/dev/null 2>&1 || return 1
  "$java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n 1 |
    awk '{ print ($1 == 1 ? $2 : $1) }'
}

need_package nats-server
need_package prometheus-alertmanager
need_package softflowd
need_package pmacct
need_package tshark
need_package chromium
# DNS end-to-end tests: a real resolver with dnstap (Debian's unbound is built --enable-dnstap) and its load tool.
need_package unbound
need_package dnsperf
# DNS query-log fixtures are recorded from BIND's querylog (and dig drives both resolvers in those tests).
need_package bind9
need_package bind9-dnsutils
# BGP: a real BGP speaker with BMP (gobgpd, gobgp) for the station's end-to-end test; bgpdump for the MRT benchmark.
need_package gobgpd
need_package bgpdump

major=$(java_major || true)
if [[ -z $major || $major -lt 17 ]]; then
  missing+=(openjdk-17-jre-headless)
fi
if ! command -v mvn >/dev/null 2>&1; then
  missing+=(maven)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-system.sh: all system packages present (Java ${major}, Maven and every package listed above)"
  exit 0
fi

echo "install-system.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep packaged daemons from starting at install time (Debian's policy-rc.d convention, exit 101 = "not now"):
# without systemd, their init scripts would otherwise start them on the default ports — Alertmanager on 9093,
# the Kafka controller's port, and a nats-server without JetStream on 4222.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=true
fi
trap '[[ $created_policy == true ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian starts packaged daemons on install; the project starts its own (on its own ports and data dirs),
# so stop and disable the system units where systemd runs, leaving the default ports free.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  for unit in nats-server prometheus-alertmanager softflowd pmacctd nfacctd sfacctd uacctd unbound named bind9 gobgpd; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

major=$(java_major || true)
if [[ -z $major || $major -lt 17 ]]; then
  echo "install-system.sh: Java 17+ still not found after installing openjdk-17-jre-headless" >&2
  exit 1
fi
for program in mvn prometheus-alertmanager softflowd pmacctd tshark; do
  command -v "$program" >/dev/null 2>&1 || { echo "install-system.sh: $program still missing" >&2; exit 1; }
done
[[ -x /usr/sbin/nats-server ]] || command -v nats-server >/dev/null 2>&1 || {
  echo "install-system.sh: nats-server still missing" >&2
  exit 1
}
echo "install-system.sh: done (Java ${major})"
