"""The test images the harness pushes. `build(out_dir)` writes one OCI image layout holding all
of them plus build.json describing each (digests, media types, expected unpacked trees).

Everything is deterministic: the same inputs give the same digests on every machine with the
same Debian packages (zlib, zstd, busybox-static).
"""

import hashlib
import json
import os
import platform
import random
import subprocess

from ocibuild import (D, F, L, H, W, O, Layer, Image, Index, Layout, apply_layers, canonical_json,
                      sha256_digest, CREATED, DOCKER_LAYER_GZIP, OCI_CONFIG)

# Bump when any image definition changes: cached builds with another version are rebuilt.
RECIPE_VERSION = 3

BUSYBOX = "/bin/busybox"
TEST_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def host_arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
            "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)


def _prng_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def _text(seed, n):
    """Compressible, deterministic text of n bytes."""
    words = ["zone", "layer", "blob", "digest", "manifest", "registry", "overlay", "whiteout",
             "opaque", "hardlink", "symlink", "erofs", "kernel", "xen", "pod", "image"]
    r = random.Random(seed)
    out = []
    size = 0
    while size < n:
        w = r.choice(words) + (" " if r.random() < 0.9 else "\n")
        out.append(w)
        size += len(w)
    return "".join(out).encode()[:n]


# ---- (a) multilayer --------------------------------------------------------------------------

LONG_NAME = "opt/" + "a-rather-long-directory-name/" * 4 + "and-a-long-file-name-beyond-100-bytes.txt"


def multilayer():
    l1 = Layer([
        D("bin"),
        F("bin/tool", "#!/bin/sh\necho tool\n", mode=0o4755, uid=1000, gid=1000),
        F("bin/setgid-tool", "#!/bin/sh\necho setgid\n", mode=0o2755, uid=0, gid=1000),
        D("data"),
        F("data/keep.txt", "version 1\n"),
        F("data/remove-me.txt", "removed by a whiteout in layer 2\n"),
        D("etc"),
        F("etc/hostname", "multilayer\n"),
        L("etc/hostname-link", "/etc/hostname"),
        D("etc/config"),
        F("etc/config/a.conf", "a=1\n"),
        F("etc/config/b.conf", "b=1\n"),
        D("gone-dir"),
        F("gone-dir/top.txt", "removed with its directory in layer 3\n"),
        D("gone-dir/sub"),
        F("gone-dir/sub/deep.txt", "also removed in layer 3\n"),
        D("home"),
        D("home/user", mode=0o750, uid=1000, gid=1000),
        F("home/user/.profile", "export PS1='$ '\n", mode=0o600, uid=1000, gid=1000),
        D("replaced"),
        F("replaced/by-dir", "a file in layer 1; a directory from layer 2 on\n"),
        D("swap"),
        D("swap/was-dir"),
        F("swap/was-dir/child.txt", "gone when layer 3 puts a file at swap/was-dir\n"),
        D("tmp", mode=0o1777),
        D("usr"),
        D("usr/bin"),
        L("usr/bin/tool", "../../bin/tool"),
        D("usr/share"),
        D("usr/share/doc"),
        F("usr/share/doc/readme.txt", _text(1, 4000)),
        H("usr/share/doc/readme-hardlink.txt", "usr/share/doc/readme.txt"),
    ])
    l2 = Layer([
        D("data"),
        W("data/remove-me.txt"),
        F("data/added-in-layer2.txt", "owned by uid 1000\n", uid=1000, gid=1000),
        D("etc"),
        D("etc/config"),
        O("etc/config"),
        F("etc/config/c.conf", "c=2 (a.conf and b.conf are hidden by the opaque marker)\n"),
        D("replaced"),
        D("replaced/by-dir", mode=0o750),
        F("replaced/by-dir/inner.txt", "inside the directory that replaced a file\n"),
    ])
    l3 = Layer([
        W("gone-dir"),
        D("data"),
        F("data/keep.txt", "version 3\n"),
        F("data/\u00fcn\u00efc\u00f6d\u00e9.txt", "a UTF-8 file name (PAX path record)\n"),
        D("opt"),
        F("opt/random.bin", _prng_bytes(3, 200 * 1024), mode=0o600),
        H("opt/random-hardlink.bin", "opt/random.bin"),
        D("opt/a-rather-long-directory-name"),
        D("opt/a-rather-long-directory-name/a-rather-long-directory-name"),
        D("opt/a-rather-long-directory-name/a-rather-long-directory-name/a-rather-long-directory-name"),
        D("opt/a-rather-long-directory-name/a-rather-long-directory-name/a-rather-long-directory-name"
          "/a-rather-long-directory-name"),
        F(LONG_NAME, "a path longer than the 100 bytes of a ustar name field\n"),
        D("swap"),
        F("swap/was-dir", "a file where layer 1 had a directory\n"),
    ])
    l4 = Layer([])  # an empty layer, as `ENV`-only build steps used to make
    layers = [l1, l2, l3, l4]
    img = Image(layers, arch=host_arch(), config={"Env": [TEST_PATH_ENV], "Cmd": ["/bin/tool"],
                                                  "WorkingDir": "/data", "User": "1000:1000"})
    return img, {
        "expected_tree": apply_layers(layers),
        "notes": "layer 1 base; layer 2: whiteout data/remove-me.txt, opaque etc/config, file "
                 "replaced/by-dir becomes a dir; layer 3: whiteout of directory gone-dir, dir "
                 "swap/was-dir becomes a file, hard link, PAX long and UTF-8 names; layer 4 empty",
    }


# ---- (b) multiarch ---------------------------------------------------------------------------

def _arch_image(arch, variant=None):
    tag = arch + (("/" + variant) if variant else "")
    l = Layer([D("etc"), F("etc/arch", tag + "\n"), F("hello.txt", f"hello from {tag}\n")])
    return Image([l], arch=arch, variant=variant, config={"Env": [TEST_PATH_ENV], "Cmd": ["/hello"]})


def multiarch():
    amd = _arch_image("amd64")
    arm = _arch_image("arm64", "v8")
    # An attestation manifest as BuildKit attaches them: unknown/unknown platform, an in-toto layer.
    statement = canonical_json({"_type": "https://in-toto.io/Statement/v0.1",
                                "predicateType": "https://spdx.dev/Document",
                                "subject": [{"name": "multiarch", "digest": {"sha256": amd.digest[7:]}}],
                                "predicate": {"spdxVersion": "SPDX-2.3", "name": "zoned-test"}})
    att_layer = type("Blob", (), {})()
    att_layer.blob = statement
    att_layer.digest = sha256_digest(statement)
    att_layer.size = len(statement)
    att_layer.media_type = "application/vnd.in-toto+json"
    att_layer.diff_id = att_layer.digest
    att_layer.descriptor = lambda: {"mediaType": att_layer.media_type, "digest": att_layer.digest,
                                    "size": att_layer.size,
                                    "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
    att = Image([att_layer], arch="unknown", os_="unknown", config={})
    att_desc = att.descriptor(platform=True)
    att_desc["annotations"] = {"vnd.docker.reference.digest": amd.digest,
                               "vnd.docker.reference.type": "attestation-manifest"}
    idx = Index([(amd, amd.descriptor()), (arm, arm.descriptor()), (att, att_desc)])
    return idx, {}


# ---- (c) zstd --------------------------------------------------------------------------------

def zstd_image():
    l1 = Layer([D("etc"), F("etc/zstd-marker", "layer 1, zstd\n"),
                D("usr"), D("usr/share"), F("usr/share/words.txt", _text(10, 64 * 1024))],
               compression="zstd")
    l2 = Layer([D("etc"), F("etc/gzip-marker", "layer 2, gzip\n"), W("usr/share/words.txt"),
                F("usr/share/other.txt", _text(11, 16 * 1024))], compression="gzip")
    l3 = Layer([D("etc"), F("etc/zstd-marker", "layer 3, zstd, replaces layer 1's\n"),
                D("bin"), F("bin/data.bin", _prng_bytes(12, 32 * 1024), mode=0o755)],
               compression="zstd", level=19)
    layers = [l1, l2, l3]
    img = Image(layers, arch=host_arch(), config={"Env": [TEST_PATH_ENV], "Cmd": ["/bin/data.bin"]})
    return img, {"expected_tree": apply_layers(layers),
                 "notes": "layers 1 and 3 zstd (tar+zstd), layer 2 gzip"}


# ---- (d) docker schema 2 ---------------------------------------------------------------------

def docker_schema2():
    l1 = Layer([D("etc"), F("etc/os-release", "NAME=docker-schema2-test\n"),
                D("app"), F("app/run.sh", "#!/bin/sh\necho docker\n", mode=0o755)],
               media_type=DOCKER_LAYER_GZIP)
    l2 = Layer([D("app"), F("app/config.json", '{"docker": true}\n'), W("etc/os-release")],
               media_type=DOCKER_LAYER_GZIP)
    layers = [l1, l2]
    img = Image(layers, arch=host_arch(), docker=True,
                config={"Env": [TEST_PATH_ENV], "Entrypoint": ["/app/run.sh"], "Cmd": ["--x"]})
    return img, {"expected_tree": apply_layers(layers)}


# ---- (e) corrupt -----------------------------------------------------------------------------

def corrupt():
    l1 = Layer([D("etc"), F("etc/corrupt-image", "the good layer of the corrupt image\n")])
    # Unique content, so the tampered blob is shared with no other image.
    l2 = Layer([D("data"), F("data/payload.bin", _prng_bytes(0xC0FFEE, 256 * 1024))])
    layers = [l1, l2]
    img = Image(layers, arch=host_arch(), config={"Env": [TEST_PATH_ENV]})
    return img, {"corrupted_layer": l2.digest, "tamper_offset": l2.size // 2,
                 "tamper_bytes": "CORRUPTED-BY-HARNESS".encode().hex(),
                 "notes": "the second layer's blob is overwritten in the registry's storage (same "
                          "length): it is served under its digest with other content"}


# ---- (f) busybox -----------------------------------------------------------------------------

def busybox():
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    applets = subprocess.run([BUSYBOX, "--list-full"], stdout=subprocess.PIPE, check=True,
                             text=True).stdout.split()
    dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin"}
    links = []
    for a in sorted(set(applets)):
        a = a.strip("/")
        if a == "bin/busybox":
            continue
        d = a.rpartition("/")[0]
        while d:
            dirs.add(d)
            d = d.rpartition("/")[0]
        links.append(L(a, "/bin/busybox"))
    entries = [D(d) for d in sorted(dirs)]
    entries.append(F("bin/busybox", bb, mode=0o755))
    entries += links
    entries += [
        D("dev"), D("proc", mode=0o555), D("sys", mode=0o555), D("tmp", mode=0o1777),
        D("root", mode=0o700), D("var"), D("var/tmp", mode=0o1777), D("home"),
        D("etc"),
        F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
        F("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        F("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
    ]
    layer = Layer(entries)
    img = Image([layer], arch=host_arch(), config={"Env": [TEST_PATH_ENV], "Cmd": ["sh"]},
                history=[{"created": CREATED, "created_by": "Debian busybox-static " + _busybox_version()}])
    tree = apply_layers([layer])
    return img, {"busybox_sha256": hashlib.sha256(bb).hexdigest(), "applets": len(links),
                 "expected_tree": tree}


def _busybox_version():
    out = subprocess.run([BUSYBOX], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    first = out.splitlines()[0] if out else ""
    return first.split(" (")[0].replace("BusyBox ", "") or "unknown"


# ---- (g) big ---------------------------------------------------------------------------------

def big(layers=5, layer_bytes=20 * 1024 * 1024):
    out = []
    files = 0
    for i in range(layers):
        r = random.Random(1000 + i)
        entries = [D(f"big{i}")]
        remaining = layer_bytes
        # one 8 MiB file, eight of 1 MiB, the rest in 16 KiB files; 1 in 8 small files is text
        sizes = [8 << 20] + [1 << 20] * 8
        remaining -= sum(sizes)
        sizes += [16 << 10] * (remaining // (16 << 10))
        for j, sz in enumerate(sizes):
            d = f"big{i}/d{j % 16:02d}"
            if j < 16:
                entries.append(D(d))
            data = _text(r.random(), sz) if (j >= 9 and j % 8 == 0) else r.randbytes(sz)
            entries.append(F(f"{d}/f{j:04d}", data))
            files += 1
        out.append(Layer(entries, level=1))
    img = Image(out, arch=host_arch(), config={"Env": [TEST_PATH_ENV]})
    return img, {"files": files, "uncompressed_bytes": layers * layer_bytes}


# ---- all -------------------------------------------------------------------------------------

# name -> (builder, repository, tags, registries it is pushed to)
IMAGES = {
    "multilayer": (multilayer, "test/multilayer", ["v1"], "all"),
    "multiarch": (multiarch, "test/multiarch", ["v1"], "all"),
    "zstd": (zstd_image, "test/zstd", ["v1"], "all"),
    "docker-schema2": (docker_schema2, "test/docker-schema2", ["v1"], "all"),
    "corrupt": (corrupt, "test/corrupt", ["v1"], "all"),
    "busybox": (busybox, "busybox", ["1.36", "latest"], "all"),
    "big": (big, "test/big", ["v1"], "anon"),
}


def fingerprint():
    with open(BUSYBOX, "rb") as f:
        bb = hashlib.sha256(f.read()).hexdigest()
    zv = subprocess.run(["zstd", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    import zlib
    return {"recipe": RECIPE_VERSION, "busybox": bb, "zstd": zv, "zlib": zlib.ZLIB_RUNTIME_VERSION,
            "arch": host_arch()}


def _record(obj):
    """Push plan and description of an Image or Index."""
    if isinstance(obj, Index):
        children = []
        for child, desc in obj.children:
            c = child.info()
            c["descriptor"] = desc
            c["blobs"] = [d for d, _ in child.blobs()]
            children.append(c)
        return {"kind": "index", "manifest_digest": obj.digest, "media_type": obj.media_type,
                "manifest_size": len(obj.manifest), "manifests": children}
    r = obj.info()
    r["kind"] = "image"
    r["blobs"] = [d for d, _ in obj.blobs()]
    return r


def build(out_dir, names=None, log=print):
    """Builds the named images (default: all) into out_dir: an OCI layout in out_dir/oci and
    out_dir/build.json describing each. Images already built with the same fingerprint are kept."""
    names = list(IMAGES) if names is None else names
    meta_path = os.path.join(out_dir, "build.json")
    fp = fingerprint()
    meta = None
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("fingerprint") != fp:
            meta = None
    layout = Layout(os.path.join(out_dir, "oci"))
    if meta is None:
        meta = {"fingerprint": fp, "layout": layout.root, "images": {}, "refs": []}
    missing = [n for n in names if n not in meta["images"]]
    if not missing:
        return meta
    layout.refs = meta["refs"]
    for name in missing:
        builder, repo, tags, where = IMAGES[name]
        log(f"building image {name}")
        obj, extra = builder()
        if isinstance(obj, Index):
            layout.add_index(obj)
        else:
            layout.add_image(obj)
        for t in tags:
            layout.tag(f"{repo}:{t}", obj)
        rec = _record(obj)
        rec.update({"repository": repo, "tags": tags, "registries": where})
        rec.update(extra)
        meta["images"][name] = rec
        del obj
    layout.finish()
    meta["refs"] = layout.refs
    meta["images"] = {n: meta["images"][n] for n in IMAGES if n in meta["images"]}
    tmp = meta_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    os.rename(tmp, meta_path)
    return meta
