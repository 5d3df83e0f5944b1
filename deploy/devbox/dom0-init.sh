#!/bin/bash
# /init (PID 1) of the devbox dom0: brings up the Xen toolstack, the network, zoned, and the
# TCP forwards the host connects to. Progress goes to the console as lines
#   DEVBOX: <step> ...        (xen-up, net-up, zoned-up, ready)
#   DEVBOX: FAILED <reason>
# which scripts/devbox watches for. zoned's output is written to /var/log/zoned.log and copied
# to the console with the prefix "zoned| ".
#
# Zone consoles (xenconsoled's /var/log/xen/console/guest-NAME.log) are copied to the console
# too, as "zone NAME| " lines.
#
# Kernel command line knobs (set by scripts/devbox; no commas allowed there):
#   devbox.loglevel=LEVEL     zoned log_level (default info)
#   devbox.cri_port=PORT      TCP port forwarded to zoned's socket (default 10010)
#   devbox.exec_port=PORT     TCP port of the command server for `devbox exec` (default 10011)
#   devbox.zoned_wait=SECS    how long zoned may take to answer on its socket (default 120)
#   devbox.zone_console=0|1   copy zone consoles to the console (default 1)
#
# The same script, run as /usr/lib/devbox/zoned-restart (a link to /init), restarts zoned the
# way boot started it: see restart_main below.

export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

# ---------------------------------------------------------------- zoned, at boot and on restart
# Files: /run/devbox/zoned.pid  the running zoned's PID
#        /run/devbox/zoned.rc   "PID STATUS" once that zoned has exited (and been reaped)
#        /var/log/zoned.log     its output, also copied to the console as "zoned| " lines

read_cmdline() {
  LOGLEVEL=info CRI_PORT=10010 EXEC_PORT=10011 ZONED_WAIT=120 ZONE_CONSOLE=1
  # shellcheck disable=SC2013  # (words are wanted)
  for w in $(cat /proc/cmdline); do
    case $w in
      devbox.loglevel=*) LOGLEVEL=${w#*=} ;;
      devbox.cri_port=*) CRI_PORT=${w#*=} ;;
      devbox.exec_port=*) EXEC_PORT=${w#*=} ;;
      devbox.zoned_wait=*) ZONED_WAIT=${w#*=} ;;
      devbox.zone_console=*) ZONE_CONSOLE=${w#*=} ;;
    esac
  done
}

zoned_socket() {
  local s
  s=$(sed -n 's/^socket_path *= *"\(.*\)".*/\1/p' /etc/zoned/config.toml 2>/dev/null)
  echo "${s:-/run/zoned/zoned.sock}"
}
zoned_pid() { cat /run/devbox/zoned.pid 2>/dev/null; }
# zoned_exited PID : has that zoned exited? (its status is then in zoned.rc)
zoned_exited() { [ -n "$1" ] && [ "$(cut -d' ' -f1 /run/devbox/zoned.rc 2>/dev/null)" = "$1" ]; }
zoned_status() { cut -d' ' -f2 /run/devbox/zoned.rc 2>/dev/null; }

# run_zoned : (in its own session, started by start_zoned) runs zoned in the foreground with
# the output plumbing; writes zoned.pid, then zoned.rc when it exits.
run_zoned() {
  (
    zoned --config /etc/zoned/config.toml </dev/null 2>&1 &
    pid=$!
    echo "$pid" >/run/devbox/zoned.pid
    wait "$pid"
    echo "$pid $?" >/run/devbox/zoned.rc
  ) | tee -a /var/log/zoned.log | awk '{ print "zoned| " $0; fflush() }'   # (not sed: it lags a line)
}

# start_zoned : starts zoned in the background, detached from the caller (boot, or an exec
# connection), and waits for its PID. The one way zoned is ever started.
start_zoned() {
  local i=0
  mkdir -p /etc/zoned /run/zoned /var/lib/zoned/data /run/devbox
  rm -f /run/devbox/zoned.pid
  setsid /init --run-zoned </dev/null >/dev/console 2>&1 &
  until [ -s /run/devbox/zoned.pid ]; do
    i=$((i + 1)); [ $i -gt 50 ] && { WAIT_ERR="zoned did not start (no PID after 5 s)"; return 1; }
    sleep 0.1
  done
}

# wait_zoned SECONDS : returns 0 once zoned's socket accepts a connection; 1 with the reason in
# WAIT_ERR if zoned exits first or the time runs out. (A socket file left by a killed zoned
# does not count: nobody accepts on it.)
wait_zoned() {
  local pid sock i=0
  pid=$(zoned_pid) sock=$(zoned_socket)
  while :; do
    if [ -S "$sock" ] && socat -u OPEN:/dev/null UNIX-CONNECT:"$sock" 2>/dev/null; then return 0; fi
    if zoned_exited "$pid"; then
      sleep 0.5   # let the last log lines through
      WAIT_ERR="zoned exited: status $(zoned_status) before answering on $sock (see zoned| lines)"
      return 1
    fi
    i=$((i + 1)); [ $i -gt $(($1 * 5)) ] && { WAIT_ERR="zoned did not answer on $sock within $1 s"; return 1; }
    sleep 0.2
  done
}

# restart_main [--kill] [--timeout SECS] : /usr/lib/devbox/zoned-restart. Stops zoned (SIGTERM,
# or SIGKILL with --kill) by the PID in zoned.pid, waits until it is gone (SIGTERM: up to
# --timeout seconds, default 30; then it fails and leaves zoned alone), starts it again like
# boot did and waits until its socket answers. Prints what it did; exit 0 on success.
restart_main() {
  local sig=TERM timeout=30 old t0 new
  while [ $# -gt 0 ]; do
    case $1 in
      --kill) sig=KILL; shift ;;
      --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
      *) echo "usage: zoned-restart [--kill] [--timeout SECS]" >&2; return 2 ;;
    esac
  done
  read_cmdline
  t0=$(cut -d' ' -f1 /proc/uptime)
  old=$(zoned_pid)
  if [ -n "$old" ] && ! zoned_exited "$old" && kill -0 "$old" 2>/dev/null; then
    kill -"$sig" "$old" || { echo "zoned-restart: cannot signal zoned (pid $old)" >&2; return 1; }
    local i=0
    until zoned_exited "$old"; do
      i=$((i + 1))
      if [ $i -gt $((timeout * 10)) ]; then
        echo "zoned-restart: zoned (pid $old) still running $timeout s after SIG$sig" >&2
        return 1
      fi
      sleep 0.1
    done
    echo "zoned-restart: zoned (pid $old) stopped by SIG$sig: status $(zoned_status)"
  else
    echo "zoned-restart: zoned was not running${old:+ (last pid $old)}"
  fi
  start_zoned || { echo "zoned-restart: $WAIT_ERR" >&2; return 1; }
  new=$(zoned_pid)
  if ! wait_zoned "$ZONED_WAIT"; then
    echo "DEVBOX: zoned-restart failed: $WAIT_ERR" >/dev/console
    echo "zoned-restart: $WAIT_ERR" >&2
    return 1
  fi
  echo "DEVBOX: zoned-restarted pid $new (dom0 uptime $(cut -d' ' -f1 /proc/uptime)s)" >/dev/console
  echo "zoned-restart: zoned running, pid $new, answering on $(zoned_socket) ($(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s)"
}

# follow_zone_consoles : copies every zone console xenconsoled logs to the console, as
# "zone NAME| " lines (a zone created again under the same name continues its file).
follow_zone_consoles() {
  local followed=" " f n
  while :; do
    for f in /var/log/xen/console/guest-*.log; do
      [ -f "$f" ] || continue
      case $followed in *" $f "*) continue ;; esac
      followed="$followed$f "
      n=${f##*/guest-}; n=${n%.log}
      tail -n +1 -F "$f" 2>/dev/null | awk -v p="zone $n| " '{ sub(/\r$/, ""); print p $0; fflush() }' &
    done
    sleep 1
  done
}

case $$:${0##*/}:${1:-} in
  1:*) ;;                                  # /init, PID 1: boot, below
  *:*:--run-zoned) run_zoned; exit ;;
  *:zoned-restart:*) restart_main "$@"; exit ;;
  *) echo "usage: /usr/lib/devbox/zoned-restart [--kill] [--timeout SECS]" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- boot

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

read_cmdline

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
[ "$ZONE_CONSOLE" = 1 ] && follow_zone_consoles &
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
mkdir -p /etc/zoned
if [ ! -f /etc/zoned/config.toml ]; then   # an image overlay may provide its own
  cat >/etc/zoned/config.toml <<EOF
socket_path = "/run/zoned/zoned.sock"
state_dir = "/var/lib/zoned"
data_dir = "/var/lib/zoned/data"
log_level = "$LOGLEVEL"
EOF
fi
SOCK=$(zoned_socket)
rm -f /run/devbox/zoned.rc
start_zoned || fail "$WAIT_ERR"
wait_zoned "$ZONED_WAIT" || fail "$WAIT_ERR"
mark "zoned-up pid $(zoned_pid) socket $SOCK"

# ---- the CRI forward: host socket -> host TCP -> QEMU hostfwd -> this listener -> zoned's socket
socat TCP-LISTEN:"$CRI_PORT",bind=10.0.2.15,range=10.0.2.2/32,fork,reuseaddr UNIX-CONNECT:"$SOCK" &
i=0
until netstat -ltn 2>/dev/null | grep -q ":$CRI_PORT "; do
  i=$((i + 1)); [ $i -gt 50 ] && fail "the CRI forward (socat on port $CRI_PORT) did not start"
  sleep 0.1
done
mark ready

console_shell
# Watch zoned: report each exit once (it is not restarted unless zoned-restart is run; a
# restart then reports "DEVBOX: zoned-restarted pid N").
reported=
while :; do
  if [ -f /run/devbox/zoned.rc ]; then
    rc=$(cat /run/devbox/zoned.rc 2>/dev/null)
    if [ -n "$rc" ] && [ "$rc" != "$reported" ]; then
      sleep 0.5
      echo "DEVBOX: zoned-exited status ${rc#* } pid ${rc%% *}"
      reported=$rc
    fi
  fi
  sleep 2
done
