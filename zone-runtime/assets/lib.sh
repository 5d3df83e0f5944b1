# shellcheck shell=bash
# Shell functions shared by the builders of boot images made from Debian packages:
#   zone-runtime/assets/build-zone-assets  (a zone's guest kernel + initramfs)
#   deploy/devbox/build-image.sh           (the devbox: Xen + dom0 kernel + dom0 initramfs)
#
# Source it from a bash script that runs with `set -euo pipefail` and sets LOG_PREFIX first.
# Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into a cache
# directory; nothing is installed on the host. Callers serialise access to a cache with
# `lock_cache` (several devbox dirs and build trees may share one).

log() { echo "${LOG_PREFIX:-build}: $*" >&2; }
die() { echo "${LOG_PREFIX:-build}: error: $*" >&2; exit 1; }

# lock_cache DIR : one builder at a time per cache (fd 8, held until the script exits)
lock_cache() {
  mkdir -p "$1"
  exec 8>"$1/.lock"
  flock 8
}

# hash_files FILE... : one short hash over the names and contents of the files
hash_files() {
  local f
  for f in "$@"; do
    printf '%s\n' "$f"
    if [[ -f $f ]]; then sha256sum <"$f"; else echo missing; fi
  done | sha256sum | cut -c1-16
}

# is_elf FILE : true if FILE starts with the ELF magic
is_elf() { [[ $(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]]; }

# mkcpio DIR OUT [none|gzip] : newc archive of DIR, files owned by root, stable order
mkcpio() {
  local dir=$1 out=$2 compress=${3:-none}
  (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out.tmp"
  case $compress in
    none) mv "$out.tmp" "$out" ;;
    gzip) gzip -1 -n -c "$out.tmp" >"$out"; rm -f "$out.tmp" ;;
    *) rm -f "$out.tmp"; die "unknown compression '$compress' (none or gzip)" ;;
  esac
}

# new_root DIR : an empty merged-/usr root (like Debian 12): /bin, /sbin, /lib, /lib64 are links
# into /usr.
new_root() {
  local r=$1
  rm -rf "$r"
  mkdir -p "$r"/usr/{bin,sbin,lib,lib64} "$r"/{etc,proc,sys,dev,run,tmp,root,var}
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  chmod 1777 "$r/tmp"
}

# host_libs ELF... : the shared libraries ldd resolves on the host for the ELFs (sorted, unique)
host_libs() {
  local f
  for f in "$@"; do ldd "$f" 2>/dev/null || true; done | grep -o '/[^ ]*\.so[^ ]*' | LC_ALL=C sort -u
}

# copy_libs ROOT BASE_ROOT ELF... : copy the shared libraries the ELFs need (per ldd, resolved
# against ROOT and BASE_ROOT first) from the host into ROOT, unless ROOT or BASE_ROOT has them.
# BASE_ROOT may be "" (no base layer).
copy_libs() {
  local root=$1 base=$2; shift 2
  local lp="$root/usr/lib/x86_64-linux-gnu"
  [[ -n $base ]] && lp="$lp:$base/usr/lib/x86_64-linux-gnu"
  local elf line lib rel missing=()
  for elf in "$@"; do
    # skip links (their targets are in the list), scripts and static binaries
    [[ -L $elf ]] && continue
    is_elf "$elf" || continue
    while read -r line; do   # (read strips the leading tab)
      case $line in
        *"=> not found"*) missing+=("$(basename "$elf"): ${line%% *}"); continue ;;
        *"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
        /*) lib=${line%% (*} ;;
        *) continue ;;
      esac
      lib=${lib//[[:space:]]/}
      case $lib in "$root"/*) continue ;; esac
      [[ -n $base && $lib == "$base"/* ]] && continue
      # the same path (after the /usr merge) already in the root or the base layer?
      rel=${lib#/}; rel=${rel#usr/}
      [[ -e $root/usr/$rel ]] && continue
      [[ -n $base && -e $base/usr/$rel ]] && continue
      mkdir -p "$(dirname "$root/usr/$rel")"
      cp -L "$lib" "$root/usr/$rel"
    done < <(LD_LIBRARY_PATH=$lp ldd "$elf" 2>/dev/null || true)
  done
  ((${#missing[@]} == 0)) || die "unresolved shared libraries: ${missing[*]}"
}

# check_needed ROOT ELF... : every DT_NEEDED library and the program interpreter of the ELFs
# (paths inside ROOT), and of the libraries they pull in, exist in ROOT's library
# directories. It reads the ELF headers (readelf), so the host's libraries cannot hide a gap.
check_needed() {
  local root=$1; shift
  local -a queue=("$@") missing=()
  local -A seen=()
  local elf so interp d found
  local dirs=("$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/usr/lib")
  while ((${#queue[@]})); do
    elf=${queue[0]}; queue=("${queue[@]:1}")
    [[ -n ${seen[$elf]:-} ]] && continue
    seen[$elf]=1
    is_elf "$elf" || continue
    interp=$(readelf -lW "$elf" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    if [[ -n $interp && ! -e $root$interp ]]; then missing+=("${elf#"$root"}: interpreter $interp"); fi
    while read -r so; do
      found=
      for d in "${dirs[@]}"; do
        if [[ -e $d/$so ]]; then found=$d/$so; break; fi
      done
      if [[ -z $found ]]; then missing+=("${elf#"$root"}: $so"); else queue+=("$(readlink -f "$found")"); fi
    done < <(readelf -dW "$elf" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done
  ((${#missing[@]} == 0)) || die "libraries missing in the image: ${missing[*]}"
}

# ------------------------------------------------------------------------- Debian packages

# default_kver CACHE REFRESH : the kernel ABI linux-image-amd64 depends on (e.g. 6.1.0-56-amd64).
# Remembered in CACHE/kver so that every builder sharing the cache agrees and no apt query is
# needed next time; REFRESH=1 asks apt again.
default_kver() {
  local cache=$1 refresh=${2:-} kver
  if [[ -z $refresh && -s $cache/kver ]]; then cat "$cache/kver"; return 0; fi
  kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
         awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}')
  [[ -n $kver ]] || die "cannot resolve the kernel version from linux-image-amd64 (run apt-get update, or pass the version explicitly)"
  mkdir -p "$cache"
  echo "$kver" >"$cache/kver.tmp" && mv "$cache/kver.tmp" "$cache/kver"
  echo "$kver"
}

# fetch_packages DIR REFRESH PACKAGE... : make sure DIR/root holds the packages unpacked
# (DIR/packages.txt names the .deb files used). Downloads only when the package list changed,
# the directory is incomplete, or REFRESH=1.
fetch_packages() {
  local dir=$1 refresh=$2; shift 2
  local key d
  key=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  if [[ -z $refresh && -f $dir/.done && $(cat "$dir/.done") == "$key" ]]; then return 0; fi
  log "downloading $# Debian package(s): $*"
  rm -rf "$dir.new"; mkdir -p "$dir.new/debs" "$dir.new/root"
  # -o APT::Sandbox::User=root: the download dir is root's, do not drop to _apt
  (cd "$dir.new/debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null) ||
    die "apt-get download $* failed (is 'apt-get update' needed? is a Debian mirror reachable?)"
  for d in "$dir.new"/debs/*.deb; do dpkg-deb -x "$d" "$dir.new/root"; done
  ls "$dir.new/debs" >"$dir.new/packages.txt"   # what was used (name_version_arch.deb)
  rm -rf "$dir.new/debs"
  echo "$key" >"$dir.new/.done"
  rm -rf "$dir"; mv "$dir.new" "$dir"
}

# fetch_kernel CACHE KVER REFRESH : linux-image-KVER unpacked in CACHE/linux-image-KVER/root,
# with the uncompressed kernel (the ELF inside vmlinuz's xz payload) next to it as vmlinux.
# Prints that directory.
fetch_kernel() {
  local cache=$1 kver=$2 refresh=${3:-}
  local dir=$cache/linux-image-$kver
  fetch_packages "$dir" "$refresh" "linux-image-$kver" >&2
  [[ -d $dir/root/lib/modules/$kver/kernel ]] || die "linux-image-$kver has no modules in $dir (try a refresh)"
  local key; key=$(sha256sum <"$dir/root/boot/vmlinuz-$kver" | cut -c1-16)   # (content only)
  if [[ ! -f $dir/vmlinux.key || $(cat "$dir/vmlinux.key") != "$key" ]]; then
    log "extracting vmlinux from vmlinuz-$kver"
    extract_vmlinux "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinux"
    echo "$key" >"$dir/vmlinux.key"
  fi
  echo "$dir"
}

# extract_vmlinux VMLINUZ OUT : the ELF kernel from the xz payload of a bzImage. Booting it
# saves the in-guest (or in-dom0) decompression: seconds per boot under emulation.
extract_vmlinux() {
  local in=$1 out=$2 off
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$in" | head -1 | cut -d: -f1)
  [[ -n $off ]] || die "no xz payload in $in"
  # (xz stops after the first stream; tail may then die of SIGPIPE, which is fine)
  { tail -c +$((off + 1)) "$in" || true; } | xz -dc --single-stream >"$out.tmp"
  is_elf "$out.tmp" || { rm -f "$out.tmp"; die "the kernel extracted from $in is not an ELF file"; }
  mv "$out.tmp" "$out"
}

# ------------------------------------------------------------------------- kernel modules
# Module dependencies come from the `depends=` field of each module's .modinfo section, so no
# kmod/depmod is needed on the host (the package ships no modules.dep). Soft dependencies
# (`softdep=pre: crc32c`) name aliases, not modules: callers list those modules first.

declare -A MOD_PATH=()   # normalized name -> path relative to MODDIR
declare -A MOD_SEEN=()
MOD_ORDER=()
MODDIR=

# index_modules MODDIR : remember where every module of that tree is
index_modules() {
  MODDIR=$1
  MOD_PATH=()
  local p n
  [[ -d $MODDIR/kernel ]] || die "no kernel modules in $MODDIR"
  while IFS= read -r p; do
    n=${p##*/}; n=${n%.ko}; MOD_PATH[${n//-/_}]=${p#"$MODDIR"/}
  done < <(find "$MODDIR/kernel" -name '*.ko')
}

# resolve_module NAME : append NAME's dependencies, then NAME, to MOD_ORDER (built-ins skipped)
resolve_module() {
  local n=${1//-/_} dep
  [[ -n ${MOD_SEEN[$n]:-} ]] && return 0
  MOD_SEEN[$n]=1
  if [[ -z ${MOD_PATH[$n]:-} ]]; then
    grep -q "/${n}.ko\$\|/${n//_/-}.ko\$" "$MODDIR/modules.builtin" && return 0
    die "kernel module $1 not found in $MODDIR"
  fi
  for dep in $(tr '\0' '\n' <"$MODDIR/${MOD_PATH[$n]}" | sed -n 's/^depends=//p' | tr ',' ' '); do
    resolve_module "$dep"
  done
  MOD_ORDER+=("${MOD_PATH[$n]}")
}

# install_modules DESTDIR NAME... : copy the modules (of the tree given to index_modules) and
# their dependencies to DESTDIR, and write there
#   modules.dep   busybox modprobe format (dependencies listed so that the last loads first)
#   modules.load  every module, one path relative to DESTDIR a line, in load order
#                 (dependencies first; the names given keep their order otherwise)
install_modules() {
  local dest=$1; shift
  MOD_SEEN=(); MOD_ORDER=()
  local m n i
  for m in "$@"; do resolve_module "$m"; done
  mkdir -p "$dest"
  cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$dest/" 2>/dev/null || true
  : >"$dest/modules.dep"
  local -a saved deps rev
  for m in "${MOD_ORDER[@]}"; do
    mkdir -p "$dest/$(dirname "$m")"
    cp "$MODDIR/$m" "$dest/$m"
    # transitive dependencies, in reverse load order
    saved=("${MOD_ORDER[@]}"); MOD_SEEN=(); MOD_ORDER=()
    n=${m##*/}; n=${n%.ko}; resolve_module "$n"
    deps=("${MOD_ORDER[@]:0:${#MOD_ORDER[@]}-1}") rev=()
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do rev+=("${deps[i]}"); done
    echo "$m: ${rev[*]}" >>"$dest/modules.dep"
    MOD_ORDER=("${saved[@]}")
  done
  printf '%s\n' "${MOD_ORDER[@]}" >"$dest/modules.load"
}
