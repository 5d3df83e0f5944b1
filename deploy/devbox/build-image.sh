#!/usr/bin/env bash
# Builds the devbox boot image: the Xen hypervisor, the dom0 kernel and the dom0 initramfs.
#
# Called by scripts/devbox (which sets the environment below); it can also be run by hand.
# Everything comes from Debian packages (downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x`, never installed on the host) plus binaries and libraries of the host, which is
# Debian 12 like dom0. The package cache and the helpers that fill it are shared with the zone
# assets builder (zone-runtime/assets/lib.sh): the kernel package is downloaded once for both.
#
# The initramfs is two cpio archives concatenated (the kernel unpacks them one after the other):
#   system layer  Xen tools and libraries, dom0 kernel modules, busybox, bash/flock/stat/ip
#                 (hotplug scripts), socat. Changes only when the packages or the host tools change.
#   app layer     zoned with its shared libraries, the zone assets (DEVBOX_ZONE_ASSETS: guest
#                 kernel + initramfs, which change with the agent), DEVBOX_EXTRA_BINS,
#                 DEVBOX_OVERLAY, and the dom0 init scripts. Rebuilt when any of those changes.
# Each layer is cached under a key made of the hashes of all its inputs, so a second build
# with nothing changed does no work.
#
# Environment:
#   DEVBOX_CACHE          cache directory (packages, unpacked trees, layers)   [required]
#   DEVBOX_IMAGE          output directory: xen, vmlinux (dom0 kernel), vmlinuz, dom0.cpio,
#                         image.env                                             [required]
#   ZONED_BIN             the daemon binary to install as /usr/bin/zoned        [required]
#   DEVBOX_KVER           kernel ABI (e.g. 6.1.0-56-amd64); default: what linux-image-amd64 points to
#   DEVBOX_ZONE_ASSETS    a directory made by zone-runtime/assets/build-zone-assets: its vmlinux
#                         and initramfs.cpio go to /usr/share/zoned/ in dom0 (none if unset)
#   DEVBOX_EXTRA_BINS     space-separated host executables copied (with their libraries) to the
#                         same path in dom0
#   DEVBOX_OVERLAY        a directory copied over the dom0 root as-is (last, so it wins)
#   DEVBOX_EXTRA_MODULES  space-separated extra dom0 kernel modules (loaded at boot)
#   DEVBOX_COMPRESS       none|gzip: compression of the layers (default none: faster boot under
#                         emulation, the kernel copies instead of inflating)
#   DEVBOX_STRIP          1 (default): strip debug info from zoned and extra binaries in dom0
#   DEVBOX_REFRESH        1: resolve and download the packages again even if cached
#   DEVBOX_CNI            1 (default): ship the CNI plugins (bridge, host-local, loopback, portmap),
#                         tc, nsenter and iptables into dom0 and write /etc/cni/net.d/10-zoned.conflist
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=$HERE/../../zone-runtime/assets/lib.sh
# shellcheck disable=SC2034  # (used by lib.sh)
LOG_PREFIX=devbox
# shellcheck source-path=SCRIPTDIR source=../../zone-runtime/assets/lib.sh
source "$LIB"
: "${DEVBOX_CACHE:?}" "${DEVBOX_IMAGE:?}" "${ZONED_BIN:?}"
CACHE=$DEVBOX_CACHE
IMG=$DEVBOX_IMAGE
COMPRESS=${DEVBOX_COMPRESS:-none}
STRIP=${DEVBOX_STRIP:-1}
REFRESH=${DEVBOX_REFRESH:-}
mkdir -p "$IMG"
# Several devbox dirs (and zone asset builds) may share one cache: one build at a time.
lock_cache "$CACHE"

# Xen comes from these Debian packages; the kernel from linux-image-$KVER (fetch_kernel).
XEN_PACKAGES=(
  xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
  libxenmisc4.17 libxenstore4 libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
  libxentoollog1 libxendevicemodel1 libxenhypfs1 libxentoolcore1 libyajl2
)
# dom0 kernel modules, loaded at boot in dependency order (dependencies are added automatically).
DOM0_MODULES=(
  crc32c_generic   # first: libcrc32c (a dependency of nf_tables, nf_conntrack and erofs) needs it at init
  xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-blkback xen-netback  # Xen backends
  bridge loop e1000                                # guest networking, loop disks, the emulated NIC
  veth tun sch_ingress cls_u32 act_mirred          # pod networking (veth + tc redirect)
  nf_tables nft_compat nft_chain_nat nf_nat xt_MASQUERADE xt_mark xt_comment xt_multiport
  xt_addrtype xt_conntrack xt_tcpudp xt_nat br_netfilter  # CNI portmap and bridge ipMasq (iptables-nft)
  overlay erofs squashfs                           # image filesystems
)
# Host tools copied into dom0 with their libraries. bash, flock and stat are needed by the Xen
# hotplug scripts (busybox's stat breaks locking.sh); ip by vif-bridge; socat for the forwards.
HOST_TOOLS=(/usr/bin/bash /usr/bin/ip /usr/bin/flock /usr/bin/stat /usr/bin/socat)
# Copied too if the host has them (scripts/setup installs them): tools zoned is likely to run in
# dom0 -- util-linux losetup (busybox's lacks options), mkfs.erofs, crun (for zone images), and
# the basic CNI plugins.
OPTIONAL_HOST_TOOLS=(/usr/sbin/losetup /usr/bin/mkfs.erofs /usr/bin/crun)
# Pod networking (DEVBOX_CNI=1, the default): the CNI plugins of the devbox's conflist, and what
# netplug and portmap run in dom0 (tc and nsenter for the vif wiring, iptables-nft for portmap).
if [[ ${DEVBOX_CNI:-1} == 1 ]]; then
  OPTIONAL_HOST_TOOLS+=(/usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/lib/cni/portmap
                        /usr/sbin/tc /usr/bin/nsenter /usr/sbin/iptables /usr/sbin/iptables-save
                        /usr/sbin/iptables-restore /usr/sbin/ip6tables)
fi
for t in "${OPTIONAL_HOST_TOOLS[@]}"; do [[ -x $t ]] && HOST_TOOLS+=("$t"); done

# ---------------------------------------------------------------- packages
KVER=${DEVBOX_KVER:-$(default_kver "$CACHE" "$REFRESH")}
fetch_packages "$CACHE/xen-packages" "$REFRESH" "${XEN_PACKAGES[@]}"
PKG=$CACHE/xen-packages/root
KDIR=$(fetch_kernel "$CACHE" "$KVER" "$REFRESH")   # shared with build-zone-assets
index_modules "$KDIR/root/lib/modules/$KVER"

# xen: the gunzipped multiboot ELF, loadable by qemu -kernel
xen_key=$(sha256sum <"$PKG/boot/xen-4.17-amd64.gz" | cut -c1-16)
if [[ ! -f $CACHE/xen-packages/xen.key || $(cat "$CACHE/xen-packages/xen.key") != "$xen_key" ]]; then
  gunzip -c "$PKG/boot/xen-4.17-amd64.gz" >"$CACHE/xen-packages/xen"
  echo "$xen_key" >"$CACHE/xen-packages/xen.key"
fi

# zone assets (optional): the guest kernel and initramfs zoned boots zones with
ZONE_ASSETS=${DEVBOX_ZONE_ASSETS:-}
if [[ -n $ZONE_ASSETS ]]; then
  for f in vmlinux initramfs.cpio; do
    [[ -f $ZONE_ASSETS/$f ]] || die "DEVBOX_ZONE_ASSETS=$ZONE_ASSETS has no $f (build it: cmake --build --preset <preset> --target zone-assets)"
  done
fi

# ---------------------------------------------------------------- system layer
# Its key covers every input: packages, host tools and the libraries ldd resolves for them,
# the module lists and this script.
read -r -a EXTRA_MODULES <<<"${DEVBOX_EXTRA_MODULES:-}"
host_files=("${HOST_TOOLS[@]}" /usr/bin/busybox)
while IFS= read -r l; do host_files+=("$l"); done < <(
  for t in "${HOST_TOOLS[@]}"; do ldd "$t" 2>/dev/null; done | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
sys_key=$(
  {
    echo "$KVER $xen_key $COMPRESS ${DOM0_MODULES[*]} ${EXTRA_MODULES[*]}"
    cat "$CACHE/xen-packages/packages.txt" "$KDIR/packages.txt" "${BASH_SOURCE[0]}" "$LIB" | sha256sum
    hash_files "${host_files[@]}"
  } | sha256sum | cut -c1-16)
SYS=$CACHE/system-$sys_key.cpio
SYSROOT=$CACHE/system-root
if [[ ! -f $SYS || ! -f $SYSROOT/.key || $(cat "$SYSROOT/.key") != "$sys_key" ]]; then
  log "building the dom0 system layer"
  rm -f "$CACHE"/system-*.cpio
  R=$SYSROOT
  new_root "$R"
  mkdir -p "$R"/var/{lib/xen,lib/xenstored,log/xen/console,lib/zoned} "$R/etc/xen" "$R/usr/lib/xen-4.17"
  ln -s ../run "$R/var/run"; ln -s ../run/lock "$R/var/lock"
  # busybox (static) and its applets; real tools copied below replace some of the links
  [[ -x /usr/bin/busybox ]] || die "/usr/bin/busybox missing (install busybox-static)"
  ldd /usr/bin/busybox >/dev/null 2>&1 && die "/usr/bin/busybox is not static (install busybox-static)"
  cp /usr/bin/busybox "$R/usr/bin/busybox"
  for a in $(/usr/bin/busybox --list-full); do
    a=${a#usr/}; a=${a#/}
    [[ $a == bin/* || $a == sbin/* ]] || continue
    [[ -e $R/usr/$a || -L $R/usr/$a ]] || ln -s /usr/bin/busybox "$R/usr/$a"
  done
  for t in "${HOST_TOOLS[@]}"; do
    rm -f "$R$t"; mkdir -p "$(dirname "$R$t")"; cp -L "$t" "$R$t"
    # and no busybox applet of that name elsewhere on PATH (busybox's /usr/sbin/ip came before
    # iproute2's /usr/bin/ip, and lacks the options zoned uses)
    for d in bin sbin; do
      [[ $(readlink "$R/usr/$d/${t##*/}" 2>/dev/null) == /usr/bin/busybox ]] && rm -f "$R/usr/$d/${t##*/}"
    done
  done
  # /bin/sh is bash, as close to Debian's dash as we have: busybox's shell would run its own
  # applets instead of the real tools above (Debian builds it with "prefer applets"), also for
  # zoned's system()/popen() calls.
  ln -sf bash "$R/usr/bin/sh"
  # Xen: tools, libraries, hotplug scripts, config
  cp -a "$PKG/usr/lib/x86_64-linux-gnu/." "$R/usr/lib/x86_64-linux-gnu/"
  cp -a "$PKG/usr/lib/xen-4.17/bin" "$R/usr/lib/xen-4.17/"
  mkdir -p "$R/usr/lib/xen-4.17/lib"
  cp -a "$PKG/usr/lib/xen-4.17/lib/x86_64-linux-gnu" "$R/usr/lib/xen-4.17/lib/" 2>/dev/null || true
  rm -f "$R"/usr/lib/xen-4.17/bin/{pygrub,xenpvnetboot,xendomains}   # python tools, no python here
  cp -a "$PKG"/usr/bin/xenstore* "$R/usr/bin/"
  cp -a "$PKG/etc/xen/." "$R/etc/xen/"
  for t in xl xenstored xenconsoled xen-init-dom0; do ln -sf /usr/lib/xen-4.17/bin/$t "$R/usr/sbin/$t"; done
  # libgcc_s is dlopen()ed by glibc (thread cancellation) and needed by xl; ldd does not show that
  cp -L /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/usr/lib/x86_64-linux-gnu/"
  copy_libs "$R" "" "$R"/usr/bin/* "$R"/usr/sbin/* "$R"/usr/lib/xen-4.17/bin/* "$R"/usr/lib/x86_64-linux-gnu/*.so* \
    "${HOST_TOOLS[@]/#/$R}"
  # dom0 kernel modules
  install_modules "$R/usr/lib/modules/$KVER" "${DOM0_MODULES[@]}" "${EXTRA_MODULES[@]}"
  # minimal /etc
  echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
  echo 'root:x:0:' >"$R/etc/group"
  printf '127.0.0.1 localhost\n10.0.2.15 devbox-dom0\n' >"$R/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$R/etc/nsswitch.conf"
  echo 'nameserver 10.0.2.3' >"$R/etc/resolv.conf"
  mkcpio "$R" "$SYS" "$COMPRESS"
  echo "$sys_key" >"$R/.key"   # written after the archive: not part of dom0
fi

# ---------------------------------------------------------------- app layer
[[ -x $ZONED_BIN ]] || die "zoned binary not found or not executable: $ZONED_BIN"
read -r -a EXTRA_BINS <<<"${DEVBOX_EXTRA_BINS:-}"
for b in "${EXTRA_BINS[@]}"; do [[ $b == /* && -x $b ]] || die "DEVBOX_EXTRA_BINS: not an absolute path to an executable: $b"; done
OVERLAY=${DEVBOX_OVERLAY:-}
[[ -z $OVERLAY || -d $OVERLAY ]] || die "DEVBOX_OVERLAY is not a directory: $OVERLAY"
BLOCK_SCRIPT=$HERE/../../zone-runtime/xen/scripts/block-zoned
VIF_SCRIPT=$HERE/../../zone-runtime/xen/scripts/vif-zoned
app_inputs=("$ZONED_BIN" "${EXTRA_BINS[@]}" "$HERE/dom0-init.sh" "$HERE/dom0-exec.sh" "$BLOCK_SCRIPT" "$VIF_SCRIPT"
            "$HERE/build-image.sh")
[[ -n $ZONE_ASSETS ]] && app_inputs+=("$ZONE_ASSETS/vmlinux" "$ZONE_ASSETS/initramfs.cpio" "$ZONE_ASSETS/assets.env")
# libraries resolved on the host are inputs too
while IFS= read -r l; do app_inputs+=("$l"); done < <(
  for b in "$ZONED_BIN" "${EXTRA_BINS[@]}"; do ldd "$b" 2>/dev/null; done | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
[[ -n $OVERLAY ]] && while IFS= read -r l; do app_inputs+=("$l"); done < <(find "$OVERLAY" -type f | LC_ALL=C sort)
app_key=$(
  {
    echo "$sys_key $STRIP ${EXTRA_BINS[*]} $OVERLAY $ZONE_ASSETS ${DEVBOX_CNI:-1}"
    hash_files "${app_inputs[@]}"
  } | sha256sum | cut -c1-16)
APP=$CACHE/app-$app_key.cpio
if [[ ! -f $APP ]]; then
  log "building the dom0 app layer (zoned: $ZONED_BIN)"
  rm -f "$CACHE"/app-*.cpio
  R=$CACHE/app-root
  new_root "$R"
  # install_bin SRC DEST : copy an executable, without debug info if DEVBOX_STRIP=1
  install_bin() {
    mkdir -p "$(dirname "$2")"
    if [[ $STRIP == 1 ]] && strip --strip-debug -o "$2" "$1" 2>/dev/null; then chmod 755 "$2"; else cp -L "$1" "$2"; fi
  }
  install_bin "$ZONED_BIN" "$R/usr/bin/zoned"
  for b in "${EXTRA_BINS[@]}"; do
    case $b in /usr/*) d=$b ;; /bin/* | /sbin/* | /lib/* | /lib64/*) d=/usr$b ;; *) d=$b ;; esac
    install_bin "$b" "$R$d"
  done
  copy_libs "$R" "$SYSROOT" "$R/usr/bin/zoned" "${EXTRA_BINS[@]}"
  mkdir -p "$R/usr/lib/devbox"
  install -m 755 "$HERE/dom0-init.sh" "$R/init"
  # the same script restarts zoned (it looks at the name it was run as)
  ln -s /init "$R/usr/lib/devbox/zoned-restart"
  install -m 755 "$HERE/dom0-exec.sh" "$R/usr/lib/devbox/exec-handler"
  # zoned's disk hotplug script, at the path zoned looks for it by default
  install -D -m 755 "$BLOCK_SCRIPT" "$R/usr/libexec/zoned/block-zoned"
  # and its vif hotplug script (only reports the vif connected: zoned wires it into the pod netns)
  install -D -m 755 "$VIF_SCRIPT" "$R/usr/libexec/zoned/vif-zoned"
  if [[ ${DEVBOX_CNI:-1} == 1 ]]; then
    # iptables loads its matches and targets (comment, mark, multiport, MASQUERADE, DNAT, ...)
    # as plugins at run time: the CNI bridge and portmap plugins fail without them.
    xt=/usr/lib/x86_64-linux-gnu/xtables
    if [[ -d $xt ]]; then
      mkdir -p "$R$xt"
      cp -a "$xt"/. "$R$xt/"
      copy_libs "$R" "$SYSROOT" "$xt"/*.so
    fi
    # The pod network of the devbox, like containerd's default: a bridge, host-local IPAM in
    # 10.88.0.0/16, hostPort through portmap.
    mkdir -p "$R/etc/cni/net.d"
    cat >"$R/etc/cni/net.d/10-zoned.conflist" <<'CONF'
{
  "cniVersion": "1.0.0",
  "name": "zoned",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.88.0.0/16"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF
  fi
  if [[ -n $ZONE_ASSETS ]]; then   # zoned's defaults: zone_kernel, zone_initramfs
    mkdir -p "$R/usr/share/zoned"
    cp "$ZONE_ASSETS/vmlinux" "$ZONE_ASSETS/initramfs.cpio" "$R/usr/share/zoned/"
    if [[ -f $ZONE_ASSETS/assets.env ]]; then cp "$ZONE_ASSETS/assets.env" "$R/usr/share/zoned/"; fi
  fi
  [[ -n $OVERLAY ]] && cp -a "$OVERLAY/." "$R/"
  # the same path must not be a link in one layer and a directory in the other
  for d in bin sbin lib lib64; do [[ -L $R/$d ]] || die "DEVBOX_OVERLAY must not replace /$d (merged /usr)"; done
  mkcpio "$R" "$APP.part" "$COMPRESS"
  mv "$APP.part" "$APP"
  rm -rf "$R"
fi

# ---------------------------------------------------------------- outputs
# Copy only what changed: the image dir is what QEMU reads.
install_if_changed() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
install_if_changed "$CACHE/xen-packages/xen" "$IMG/xen"
install_if_changed "$KDIR/root/boot/vmlinuz-$KVER" "$IMG/vmlinuz"   # for the KVM probe
# dom0 boots the uncompressed kernel: Xen inflating vmlinuz costs ~5 s under emulation
install_if_changed "$KDIR/vmlinux" "$IMG/vmlinux"
want="$sys_key+$app_key"
if [[ ! -f $IMG/dom0.cpio || $(cat "$IMG/dom0.key" 2>/dev/null) != "$want" ]]; then
  cat "$SYS" "$APP" >"$IMG/dom0.cpio.tmp"
  mv "$IMG/dom0.cpio.tmp" "$IMG/dom0.cpio"
  echo "$want" >"$IMG/dom0.key"
fi
cat >"$IMG/image.env" <<EOF
KVER=$KVER
SYSTEM_LAYER=$sys_key
APP_LAYER=$app_key
DOM0_CPIO_BYTES=$(stat -c %s "$IMG/dom0.cpio")
ZONE_ASSETS=$ZONE_ASSETS
EOF
