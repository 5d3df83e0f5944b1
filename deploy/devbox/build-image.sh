#!/usr/bin/env bash
# Builds the devbox boot image: the Xen hypervisor, the dom0 kernel and the dom0 initramfs.
#
# Called by scripts/devbox (which sets the environment below); it can also be run by hand.
# Everything comes from Debian packages (downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x`, never installed on the host) plus binaries and libraries of the host, which is
# Debian 12 like dom0.
#
# The initramfs is two cpio archives concatenated (the kernel unpacks them one after the other):
#   system layer  Xen tools and libraries, kernel modules, busybox, bash/flock/stat/ip (hotplug
#                 scripts), socat, the guest kernel (uncompressed vmlinux) and guest modules.
#                 Changes only when the packages or the host tools change.
#   app layer     zoned with its shared libraries, DEVBOX_EXTRA_BINS, DEVBOX_OVERLAY, and the
#                 dom0 init scripts. Rebuilt when any of those changes.
# Each layer is cached under a key made of the hashes of all its inputs, so a second build
# with nothing changed does no work.
#
# Environment:
#   DEVBOX_CACHE          cache directory (packages, unpacked trees, layers)   [required]
#   DEVBOX_IMAGE          output directory: xen, vmlinux (dom0 kernel), vmlinuz, dom0.cpio,
#                         image.env                                             [required]
#   ZONED_BIN             the daemon binary to install as /usr/bin/zoned        [required]
#   DEVBOX_KVER           kernel ABI (e.g. 6.1.0-56-amd64); default: what linux-image-amd64 points to
#   DEVBOX_EXTRA_BINS     space-separated host executables copied (with their libraries) to the
#                         same path in dom0
#   DEVBOX_OVERLAY        a directory copied over the dom0 root as-is (last, so it wins)
#   DEVBOX_EXTRA_MODULES  space-separated extra dom0 kernel modules (loaded at boot)
#   DEVBOX_COMPRESS       none|gzip: compression of the layers (default none: faster boot under
#                         emulation, the kernel copies instead of inflating)
#   DEVBOX_STRIP          1 (default): strip debug info from zoned and extra binaries in dom0
#   DEVBOX_REFRESH        1: resolve and download the packages again even if cached
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${DEVBOX_CACHE:?}" "${DEVBOX_IMAGE:?}" "${ZONED_BIN:?}"
CACHE=$DEVBOX_CACHE
IMG=$DEVBOX_IMAGE
COMPRESS=${DEVBOX_COMPRESS:-none}
STRIP=${DEVBOX_STRIP:-1}
mkdir -p "$CACHE" "$IMG"
# Several devbox dirs may share one cache: one build at a time.
exec 8>"$CACHE/.lock"
flock 8

log() { echo "devbox: $*" >&2; }
die() { echo "devbox: error: $*" >&2; exit 1; }

# Xen and the kernel come from these Debian packages (the kernel package is added below).
XEN_PACKAGES=(
  xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
  libxenmisc4.17 libxenstore4 libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
  libxentoollog1 libxendevicemodel1 libxenhypfs1 libxentoolcore1 libyajl2
)
# dom0 kernel modules, loaded at boot in dependency order (dependencies are added automatically).
DOM0_MODULES=(
  xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-blkback xen-netback  # Xen backends
  bridge loop e1000                                # guest networking, loop disks, the emulated NIC
  veth tun sch_ingress cls_u32 act_mirred          # pod networking (veth + tc redirect)
  crc32c_generic overlay erofs squashfs            # image filesystems (crc32c before erofs)
)
# Modules for guests (zones), shipped in dom0 at /usr/share/zoned/guest-modules/ for later use.
GUEST_MODULES=(xen-blkfront xen-netfront crc32c_generic erofs squashfs overlay loop veth)
# Host tools copied into dom0 with their libraries. bash, flock and stat are needed by the Xen
# hotplug scripts (busybox's stat breaks locking.sh); ip by vif-bridge; socat for the forwards.
HOST_TOOLS=(/usr/bin/bash /usr/bin/ip /usr/bin/flock /usr/bin/stat /usr/bin/socat)
# Copied too if the host has them (scripts/setup installs them): tools zoned is likely to run in
# dom0 -- util-linux losetup (busybox's lacks options), mkfs.erofs, crun (for zone images), and
# the basic CNI plugins.
OPTIONAL_HOST_TOOLS=(/usr/sbin/losetup /usr/bin/mkfs.erofs /usr/bin/crun
                     /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback)
for t in "${OPTIONAL_HOST_TOOLS[@]}"; do [[ -x $t ]] && HOST_TOOLS+=("$t"); done

# hash_files FILE... : one short hash over the names and contents of the files
hash_files() {
  local f
  for f in "$@"; do
    printf '%s\n' "$f"
    if [[ -f $f ]]; then sha256sum <"$f"; else echo missing; fi
  done | sha256sum | cut -c1-16
}

# mkcpio DIR OUT : newc archive of DIR, files owned by root, stable order
mkcpio() {
  local dir=$1 out=$2
  (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
  if [[ $COMPRESS == gzip ]]; then gzip -1 -c "$out.tmp" >"$out"; rm -f "$out.tmp"; else mv "$out.tmp" "$out"; fi
}

# A merged-/usr root (like Debian 12): /bin, /sbin, /lib, /lib64 are links into /usr.
new_root() {
  local r=$1
  rm -rf "$r"
  mkdir -p "$r"/usr/{bin,sbin,lib,lib64} "$r"/{etc,proc,sys,dev,run,tmp,root,var}
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  chmod 1777 "$r/tmp"
}

# copy_libs ROOT [BASE_ROOT] ELF... : copy the shared libraries the ELFs need (per ldd, resolved
# against ROOT and BASE_ROOT first) from the host into ROOT, unless ROOT or BASE_ROOT has them.
copy_libs() {
  local root=$1 base=$2; shift 2
  local lp="$root/usr/lib/x86_64-linux-gnu"
  [[ -n $base ]] && lp="$lp:$base/usr/lib/x86_64-linux-gnu"
  local elf line lib missing=()
  for elf in "$@"; do
    # skip links (their targets are in the list), scripts and static binaries
    [[ -L $elf ]] && continue
    [[ $(head -c 4 "$elf" | od -An -c | tr -d ' ') == 177ELF ]] || continue
    while read -r line; do   # (read strips the leading tab)
      case $line in
        *"=> not found"*) missing+=("$(basename "$elf"): ${line%% *}"); continue ;;
        *"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
        /*) lib=${line%% (*} ;;
        *) continue ;;
      esac
      lib=${lib//[[:space:]]/}
      case $lib in "$root"/* ) continue ;; esac
      [[ -n $base && $lib == "$base"/* ]] && continue
      # the same path (after /usr merge) already in the root or the base layer?
      local rel=${lib#/}; rel=${rel#usr/}
      [[ -e $root/usr/$rel ]] && continue
      [[ -n $base && -e $base/usr/$rel ]] && continue
      mkdir -p "$(dirname "$root/usr/$rel")"
      cp -L "$lib" "$root/usr/$rel"
    done < <(LD_LIBRARY_PATH=$lp ldd "$elf" 2>/dev/null || true)
  done
  ((${#missing[@]} == 0)) || die "unresolved shared libraries: ${missing[*]}"
}

# ---------------------------------------------------------------- packages
KVER=${DEVBOX_KVER:-}
PKGDIR=$CACHE/packages
if [[ -z $KVER ]]; then
  # Reuse the kernel of the cached package set unless asked to refresh.
  if [[ -z ${DEVBOX_REFRESH:-} && -f $PKGDIR/kver ]]; then
    KVER=$(cat "$PKGDIR/kver")
  else
    KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
           awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}')
    [[ -n $KVER ]] || die "cannot resolve the kernel version from linux-image-amd64 (run apt-get update)"
  fi
fi
PACKAGES=("${XEN_PACKAGES[@]}" "linux-image-$KVER")
pkg_key=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-16)
if [[ -n ${DEVBOX_REFRESH:-} || ! -f $PKGDIR/.done || $(cat "$PKGDIR/.done") != "$pkg_key" ]]; then
  log "downloading ${#PACKAGES[@]} Debian packages (Xen 4.17, linux-image-$KVER)"
  rm -rf "$PKGDIR.new"; mkdir -p "$PKGDIR.new/debs"
  # -o APT::Sandbox::User=root: the download dir is root's, do not drop to _apt
  (cd "$PKGDIR.new/debs" && apt-get download -q -o APT::Sandbox::User=root "${PACKAGES[@]}" >/dev/null) ||
    die "apt-get download failed (is 'apt-get update' needed?)"
  log "unpacking packages"
  mkdir -p "$PKGDIR.new/root"
  for d in "$PKGDIR.new"/debs/*.deb; do dpkg-deb -x "$d" "$PKGDIR.new/root"; done
  ls "$PKGDIR.new/debs" >"$PKGDIR.new/packages.txt"   # what was used (name_version_arch.deb)
  rm -rf "$PKGDIR.new/debs"
  echo "$KVER" >"$PKGDIR.new/kver"
  echo "$pkg_key" >"$PKGDIR.new/.done"
  rm -rf "$PKGDIR"; mv "$PKGDIR.new" "$PKGDIR"
fi
PKG=$PKGDIR/root
MODDIR=$PKG/lib/modules/$KVER
[[ -d $MODDIR/kernel ]] || die "kernel modules for $KVER missing in $PKG (try DEVBOX_REFRESH=1)"

# ---------------------------------------------------------------- hypervisor + kernels
# xen: gunzipped multiboot ELF, loadable by qemu -kernel. vmlinux: the uncompressed guest kernel
# (the xz payload of vmlinuz) -- saves seconds per guest under emulation.
kern_key=$(hash_files "$PKG/boot/xen-4.17-amd64.gz" "$PKG/boot/vmlinuz-$KVER")
if [[ ! -f $CACHE/kernels/.done || $(cat "$CACHE/kernels/.done") != "$kern_key" ]]; then
  log "extracting xen and vmlinux"
  rm -rf "$CACHE/kernels"; mkdir -p "$CACHE/kernels"
  gunzip -c "$PKG/boot/xen-4.17-amd64.gz" >"$CACHE/kernels/xen"
  cp "$PKG/boot/vmlinuz-$KVER" "$CACHE/kernels/vmlinuz"
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$CACHE/kernels/vmlinuz" | head -1 | cut -d: -f1)
  [[ -n $off ]] || die "no xz payload in vmlinuz-$KVER"
  # (xz stops after the first stream; tail may then die of SIGPIPE, which is fine)
  { tail -c +$((off + 1)) "$CACHE/kernels/vmlinuz" || true; } | xz -dc --single-stream >"$CACHE/kernels/vmlinux"
  [[ $(head -c 4 "$CACHE/kernels/vmlinux" | od -An -c | tr -d ' ') == 177ELF ]] || die "extracted vmlinux is not an ELF file"
  echo "$kern_key" >"$CACHE/kernels/.done"
fi

# ---------------------------------------------------------------- kernel modules
# Module dependencies come from the `depends=` field of each module's .modinfo section
# (so no kmod/depmod is needed on the host; the package ships no modules.dep).
declare -A MOD_PATH=()   # normalized name -> path relative to $MODDIR
while IFS= read -r p; do
  n=${p##*/}; n=${n%.ko}; MOD_PATH[${n//-/_}]=${p#"$MODDIR"/}
done < <(find "$MODDIR/kernel" -name '*.ko')
declare -A MOD_SEEN=()
MOD_ORDER=()
# resolve_module NAME : append NAME's dependencies, then NAME, to MOD_ORDER (built-ins skipped)
resolve_module() {
  local n=${1//-/_} dep
  [[ -n ${MOD_SEEN[$n]:-} ]] && return 0
  MOD_SEEN[$n]=1
  if [[ -z ${MOD_PATH[$n]:-} ]]; then
    grep -q "/${n}.ko\$\|/${n//_/-}.ko\$" "$MODDIR/modules.builtin" && return 0
    die "kernel module $1 not found for $KVER"
  fi
  for dep in $(tr '\0' '\n' <"$MODDIR/${MOD_PATH[$n]}" | sed -n 's/^depends=//p' | tr ',' ' '); do
    resolve_module "$dep"
  done
  MOD_ORDER+=("${MOD_PATH[$n]}")
}
# install_modules DESTDIR NAME... : copy the modules and their dependencies, write modules.dep
# (busybox modprobe format; dependencies listed so that the last one loads first) and
# modules.load (all of them, in load order).
install_modules() {
  local dest=$1; shift
  MOD_SEEN=(); MOD_ORDER=()
  local m
  for m in "$@"; do resolve_module "$m"; done
  mkdir -p "$dest"
  cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$dest/" 2>/dev/null || true
  : >"$dest/modules.dep"
  for m in "${MOD_ORDER[@]}"; do
    mkdir -p "$dest/$(dirname "$m")"
    cp "$MODDIR/$m" "$dest/$m"
    # transitive dependencies, in reverse load order
    MOD_SEEN=(); local saved=("${MOD_ORDER[@]}"); MOD_ORDER=()
    local n=${m##*/}; n=${n%.ko}; resolve_module "$n"
    local deps=("${MOD_ORDER[@]:0:${#MOD_ORDER[@]}-1}") rev=() i
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do rev+=("${deps[i]}"); done
    echo "$m: ${rev[*]}" >>"$dest/modules.dep"
    MOD_ORDER=("${saved[@]}")
  done
  printf '%s\n' "${MOD_ORDER[@]}" >"$dest/modules.load"
}

# ---------------------------------------------------------------- system layer
# Its key covers every input: packages, host tools and the libraries ldd resolves for them,
# the module lists and this script.
read -r -a EXTRA_MODULES <<<"${DEVBOX_EXTRA_MODULES:-}"
host_files=("${HOST_TOOLS[@]}" /usr/bin/busybox)
while IFS= read -r l; do host_files+=("$l"); done < <(
  for t in "${HOST_TOOLS[@]}"; do ldd "$t" 2>/dev/null; done | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
sys_key=$(
  {
    echo "$pkg_key $kern_key $COMPRESS ${DOM0_MODULES[*]} ${EXTRA_MODULES[*]} ${GUEST_MODULES[*]}"
    hash_files "${BASH_SOURCE[0]}" "${host_files[@]}"
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
  for t in "${HOST_TOOLS[@]}"; do rm -f "$R$t"; mkdir -p "$(dirname "$R$t")"; cp -L "$t" "$R$t"; done
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
  # guest payload for zoned: uncompressed kernel + a few modules
  mkdir -p "$R/usr/share/zoned"
  cp "$CACHE/kernels/vmlinux" "$R/usr/share/zoned/vmlinux"
  echo "$KVER" >"$R/usr/share/zoned/vmlinux.version"
  install_modules "$R/usr/share/zoned/guest-modules/$KVER" "${GUEST_MODULES[@]}"
  # minimal /etc
  echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
  echo 'root:x:0:' >"$R/etc/group"
  printf '127.0.0.1 localhost\n10.0.2.15 devbox-dom0\n' >"$R/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$R/etc/nsswitch.conf"
  echo 'nameserver 10.0.2.3' >"$R/etc/resolv.conf"
  mkcpio "$R" "$SYS"
  echo "$sys_key" >"$R/.key"   # written after the archive: not part of dom0
fi

# ---------------------------------------------------------------- app layer
[[ -x $ZONED_BIN ]] || die "zoned binary not found or not executable: $ZONED_BIN"
read -r -a EXTRA_BINS <<<"${DEVBOX_EXTRA_BINS:-}"
for b in "${EXTRA_BINS[@]}"; do [[ $b == /* && -x $b ]] || die "DEVBOX_EXTRA_BINS: not an absolute path to an executable: $b"; done
OVERLAY=${DEVBOX_OVERLAY:-}
[[ -z $OVERLAY || -d $OVERLAY ]] || die "DEVBOX_OVERLAY is not a directory: $OVERLAY"
app_inputs=("$ZONED_BIN" "${EXTRA_BINS[@]}" "$HERE/dom0-init.sh" "$HERE/dom0-exec.sh")
# libraries resolved on the host are inputs too
while IFS= read -r l; do app_inputs+=("$l"); done < <(
  for b in "$ZONED_BIN" "${EXTRA_BINS[@]}"; do ldd "$b" 2>/dev/null; done | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
[[ -n $OVERLAY ]] && while IFS= read -r l; do app_inputs+=("$l"); done < <(find "$OVERLAY" -type f | LC_ALL=C sort)
app_key=$(
  {
    echo "$sys_key $STRIP ${EXTRA_BINS[*]} $OVERLAY"
    hash_files "${BASH_SOURCE[0]}" "${app_inputs[@]}"
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
  install -m 755 "$HERE/dom0-exec.sh" "$R/usr/lib/devbox/exec-handler"
  [[ -n $OVERLAY ]] && cp -a "$OVERLAY/." "$R/"
  # the same path must not be a link in one layer and a directory in the other
  for d in bin sbin lib lib64; do [[ -L $R/$d ]] || die "DEVBOX_OVERLAY must not replace /$d (merged /usr)"; done
  mkcpio "$R" "$APP.part"
  mv "$APP.part" "$APP"
  rm -rf "$R"
fi

# ---------------------------------------------------------------- outputs
# Copy only what changed: the image dir is what QEMU reads.
install_if_changed() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
install_if_changed "$CACHE/kernels/xen" "$IMG/xen"
install_if_changed "$CACHE/kernels/vmlinuz" "$IMG/vmlinuz"   # for the KVM probe
# dom0 boots the uncompressed kernel: Xen inflating vmlinuz costs ~5 s under emulation
install_if_changed "$CACHE/kernels/vmlinux" "$IMG/vmlinux"
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
EOF
