#!/bin/sh
# /init (PID 1) of the devbox dom0: brings up the Xen toolstack, the network, zoned, and the
# TCP forwards the host connects to. Progress goes to the console as lines
#   DEVBOX: <step> ...        (xen-up, net-up, zoned-up, ready)
#   DEVBOX: FAILED <reason>
# which scripts/devbox watches for. zoned's output is written to /var/log/zoned.log and copied
# to the console with the prefix "zoned| ".
#
# Kernel command line knobs (set by scripts/devbox; no commas allowed there):
#   devbox.loglevel=LEVEL   zoned log_level (default info)
#   devbox.cri_port=PORT    TCP port forwarded to zoned's socket (default 10010)
#   devbox.exec_port=PORT   TCP port of the command server for `devbox exec` (default 10011)
#   devbox.zoned_wait=SECS  how long zoned may take to create its socket (default 120)

export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

uptime_s() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "DEVBOX: $* (dom0 uptime $(uptime_s)s)"; }

# After a failure or once everything is up: keep a shell on the console for `devbox console`.
# PID 1 never exits (that would panic the kernel); the shell reaps orphans as it runs commands.
console_shell() {
  ( while :; do setsid cttyhack /bin/sh -l; sleep 1; done ) &
}
fail() {
  echo "DEVBOX: FAILED $*"
  console_shell
  while :; do sleep 5; done
}

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# The hotplug scripts' locking.sh needs /dev/stdin and friends.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /run/lock /run/xen /run/xenstored /run/devbox /var/log/xen/console /var/lib/xen
hostname devbox-dom0
echo 'export PS1="dom0:\w# "' >/etc/profile
mark dom0-init

LOGLEVEL=info CRI_PORT=10010 EXEC_PORT=10011 ZONED_WAIT=120
# shellcheck disable=SC2013  # (words are wanted)
for w in $(cat /proc/cmdline); do
  case $w in
    devbox.loglevel=*) LOGLEVEL=${w#*=} ;;
    devbox.cri_port=*) CRI_PORT=${w#*=} ;;
    devbox.exec_port=*) EXEC_PORT=${w#*=} ;;
    devbox.zoned_wait=*) ZONED_WAIT=${w#*=} ;;
  esac
done

syslogd -O /var/log/messages   # the hotplug scripts log through logger

# ---- kernel modules (list and order computed at image build time)
KMOD=/lib/modules/$(uname -r)
[ -f "$KMOD/modules.load" ] || fail "no modules for kernel $(uname -r) in the image"
while read -r m; do
  insmod "$KMOD/$m" || echo "devbox: insmod $m failed"
done <"$KMOD/modules.load"
mark modules-loaded

# ---- Xen toolstack: xenfs, xenstored, dom0's xenstore entries, guest consoles
[ -e /proc/xen ] || fail "not running under Xen (no /proc/xen)"
mount -t xenfs xenfs /proc/xen || fail "cannot mount xenfs"
xenstored --pid-file /run/xen/xenstored.pid || fail "xenstored did not start"
i=0
until xenstore-read /local >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "xenstored does not answer"
  sleep 0.1
done
xen-init-dom0 || fail "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
  fail "xenconsoled did not start"
if ! xl info >/run/devbox/xl-info 2>&1; then
  cat /run/devbox/xl-info
  fail "xl info failed"
fi
mark "xen-up $(awk -F' *: *' '/^(xen_version|nr_cpus|free_memory)/ { printf "%s=%s ", $1, $2 }' /run/devbox/xl-info)"

# ---- network: QEMU user networking, static (slirp's defaults)
ip link set lo up
NIC=
for n in /sys/class/net/*; do
  n=${n##*/}
  case $n in lo | xenbr* | vif* | tap* | br* | veth*) continue ;; esac
  NIC=$n; break
done
[ -n "$NIC" ] || fail "no network interface (e1000 driver not loaded?)"
# shellcheck disable=SC2015  # (any failing step fails)
ip addr add 10.0.2.15/24 dev "$NIC" && ip link set "$NIC" up && ip route add default via 10.0.2.2 ||
  fail "cannot configure $NIC"
# Command server for `devbox exec`: one connection runs one command (see exec-handler).
# Started before zoned so a failed zoned can still be inspected.
# range=10.0.2.2/32: only QEMU's forwards from the host (never guests) may connect.
socat -t 86400 TCP-LISTEN:"$EXEC_PORT",bind=10.0.2.15,range=10.0.2.2/32,fork,reuseaddr \
  EXEC:/usr/lib/devbox/exec-handler &
mark "net-up $NIC 10.0.2.15"

# ---- zoned
mkdir -p /etc/zoned /run/zoned /var/lib/zoned/data
if [ ! -f /etc/zoned/config.toml ]; then   # an image overlay may provide its own
  cat >/etc/zoned/config.toml <<EOF
socket_path = "/run/zoned/zoned.sock"
state_dir = "/var/lib/zoned"
data_dir = "/var/lib/zoned/data"
log_level = "$LOGLEVEL"
EOF
fi
SOCK=$(sed -n 's/^socket_path *= *"\(.*\)".*/\1/p' /etc/zoned/config.toml)
SOCK=${SOCK:-/run/zoned/zoned.sock}
rm -f /run/devbox/zoned.rc
# zoned's stdout+stderr: to /var/log/zoned.log and, prefixed, to the console.
# Its PID goes to /run/devbox/zoned.pid, its exit status to /run/devbox/zoned.rc.
(
  zoned --config /etc/zoned/config.toml </dev/null 2>&1 &
  echo $! >/run/devbox/zoned.pid
  wait $!
  echo $? >/run/devbox/zoned.rc
) | tee -a /var/log/zoned.log | awk '{ print "zoned| " $0; fflush() }' &   # (not sed: it lags a line)

zoned_rc() { cat /run/devbox/zoned.rc 2>/dev/null; }
i=0
until [ -S "$SOCK" ]; do
  if [ -f /run/devbox/zoned.rc ]; then
    sleep 0.5   # let the last log lines through
    fail "zoned exited: status $(zoned_rc) before creating $SOCK (see zoned| lines above)"
  fi
  i=$((i + 1)); [ $i -gt $((ZONED_WAIT * 5)) ] && fail "zoned did not create $SOCK within ${ZONED_WAIT}s"
  sleep 0.2
done
mark "zoned-up pid $(cat /run/devbox/zoned.pid) socket $SOCK"

# ---- the CRI forward: host socket -> host TCP -> QEMU hostfwd -> this listener -> zoned's socket
socat TCP-LISTEN:"$CRI_PORT",bind=10.0.2.15,range=10.0.2.2/32,fork,reuseaddr UNIX-CONNECT:"$SOCK" &
i=0
until netstat -ltn 2>/dev/null | grep -q ":$CRI_PORT "; do
  i=$((i + 1)); [ $i -gt 50 ] && fail "the CRI forward (socat on port $CRI_PORT) did not start"
  sleep 0.1
done
mark ready

console_shell
# Watch zoned: report its exit once (it is not restarted).
reported=
while :; do
  if [ -z "$reported" ] && [ -f /run/devbox/zoned.rc ]; then
    sleep 0.5
    echo "DEVBOX: zoned-exited status $(zoned_rc)"
    reported=1
  fi
  sleep 2
done
