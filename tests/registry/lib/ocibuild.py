"""Deterministic construction of image layers, configs, manifests and OCI image layouts.

Stdlib only (zstd compression uses the `zstd` command). Every byte that goes into a blob is a
function of the inputs: fixed mtimes, no user/group names, gzip headers without name or time.
Besides the blobs, each image carries the filesystem a correct unpacker must produce
(`expected_tree`), computed here from the same entry lists by a straightforward applier.
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

EPOCH = 1704067200  # 2024-01-01T00:00:00Z, the mtime of every entry
CREATED = "2024-01-01T00:00:00Z"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# ---- layer entries ---------------------------------------------------------------------------
# Each entry is a dict; paths are relative to the root, without a leading "/" or "./".

def D(path, mode=0o755, uid=0, gid=0):
    return {"kind": "dir", "path": path, "mode": mode, "uid": uid, "gid": gid}


def F(path, content, mode=0o644, uid=0, gid=0):
    if isinstance(content, str):
        content = content.encode()
    return {"kind": "file", "path": path, "data": content, "mode": mode, "uid": uid, "gid": gid}


def L(path, target, uid=0, gid=0):
    """Symbolic link path -> target (target stored verbatim)."""
    return {"kind": "symlink", "path": path, "target": target, "mode": 0o777, "uid": uid, "gid": gid}


def H(path, target):
    """Hard link path -> target; target must be a regular file earlier in the same layer."""
    return {"kind": "hardlink", "path": path, "target": target}


def W(path):
    """Whiteout: removes `path` (and everything below it) of the layers underneath."""
    d, _, base = path.rpartition("/")
    return {"kind": "whiteout", "path": (d + "/" if d else "") + ".wh." + base, "removes": path}


def O(dirpath):
    """Opaque marker: hides everything the lower layers had under `dirpath`."""
    return {"kind": "opaque", "path": dirpath.rstrip("/") + "/.wh..wh..opq", "dir": dirpath.rstrip("/")}


def _tarinfo(e):
    ti = tarfile.TarInfo(e["path"])
    ti.mtime = EPOCH
    ti.uname = ti.gname = ""
    ti.uid = e.get("uid", 0)
    ti.gid = e.get("gid", 0)
    ti.mode = e.get("mode", 0o644)
    k = e["kind"]
    if k == "dir":
        ti.type = tarfile.DIRTYPE
    elif k == "file":
        ti.type = tarfile.REGTYPE
        ti.size = len(e["data"])
    elif k == "symlink":
        ti.type = tarfile.SYMTYPE
        ti.linkname = e["target"]
    elif k == "hardlink":
        ti.type = tarfile.LNKTYPE
        ti.linkname = e["target"]
        ti.mode = 0o644
    elif k in ("whiteout", "opaque"):
        ti.type = tarfile.REGTYPE
        ti.size = 0
        ti.mode = 0o644
    else:
        raise ValueError(k)
    return ti


def tar_bytes(entries) -> bytes:
    buf = io.BytesIO()
    seen = {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            ti = _tarinfo(e)
            seen[e["path"]] = ti
            if e["kind"] == "hardlink":  # same metadata as the file it names, as GNU tar writes
                t = seen[e["target"]]
                ti.mode, ti.uid, ti.gid = t.mode, t.uid, t.gid
            tf.addfile(ti, io.BytesIO(e["data"]) if e["kind"] == "file" else None)
    return buf.getvalue()


def gzip_bytes(data: bytes, level=6) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0, filename="") as gz:
        gz.write(data)
    return buf.getvalue()


def zstd_bytes(data: bytes, level=3) -> bytes:
    return subprocess.run(["zstd", "-q", "-c", f"-{level}", "--no-progress"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


class Layer:
    def __init__(self, entries, compression="gzip", media_type=None, level=None):
        self.entries = entries
        self.tar = tar_bytes(entries)
        self.diff_id = sha256_digest(self.tar)
        if compression == "gzip":
            self.blob = gzip_bytes(self.tar, level or 6)
            self.media_type = media_type or OCI_LAYER_GZIP
        elif compression == "zstd":
            self.blob = zstd_bytes(self.tar, level or 3)
            self.media_type = media_type or OCI_LAYER_ZSTD
        elif compression == "none":
            self.blob = self.tar
            self.media_type = media_type or OCI_LAYER_TAR
        else:
            raise ValueError(compression)
        self.compression = compression
        self.digest = sha256_digest(self.blob)
        self.size = len(self.blob)
        self.tar = None  # not needed any more; big images would keep it alive otherwise

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


# ---- expected filesystem ---------------------------------------------------------------------

def _remove_subtree(tree, path):
    for p in [p for p in tree if p == path or p.startswith(path + "/")]:
        del tree[p]


def apply_layers(layers):
    """The filesystem that applying `layers` in order produces, as {path: attributes}.

    Follows the OCI layer rules: whiteouts and opaque markers act on the layers underneath only;
    a non-directory replaces whatever was at its path (a directory with all its contents); a
    directory over a directory keeps the lower contents and takes the new metadata.
    """
    tree = {}
    for layer in layers:
        for e in layer.entries:
            if e["kind"] == "whiteout":
                _remove_subtree(tree, e["removes"])
            elif e["kind"] == "opaque":
                for p in [p for p in tree if p.startswith(e["dir"] + "/")]:
                    del tree[p]
        for e in layer.entries:
            k, p = e["kind"], e["path"]
            if k in ("whiteout", "opaque"):
                continue
            if k == "dir":
                old = tree.get(p)
                if old is not None and old["type"] != "dir":
                    del tree[p]
                tree[p] = {"type": "dir", "mode": e["mode"], "uid": e["uid"], "gid": e["gid"]}
                continue
            _remove_subtree(tree, p)
            if k == "file":
                tree[p] = {"type": "file", "mode": e["mode"], "uid": e["uid"], "gid": e["gid"],
                           "size": len(e["data"]), "sha256": hashlib.sha256(e["data"]).hexdigest()}
            elif k == "symlink":
                tree[p] = {"type": "symlink", "target": e["target"], "uid": e["uid"], "gid": e["gid"]}
            elif k == "hardlink":
                t = dict(tree[e["target"]])
                t["hardlink_to"] = e["target"]
                tree[p] = t
    return dict(sorted(tree.items()))


# ---- images ----------------------------------------------------------------------------------

def platform_of(arch, variant=None, os_="linux"):
    p = {"architecture": arch, "os": os_}
    if variant:
        p["variant"] = variant
    return p


class Image:
    """One single-platform image: config + manifest over a list of layers."""

    def __init__(self, layers, arch="amd64", variant=None, config=None, docker=False,
                 history=None, annotations=None, os_="linux"):
        self.layers = layers
        self.docker = docker
        cfg = {"created": CREATED, "architecture": arch}
        if variant:
            cfg["variant"] = variant
        cfg["os"] = os_
        cfg["config"] = config or {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
        cfg["rootfs"] = {"type": "layers", "diff_ids": [l.diff_id for l in layers]}
        cfg["history"] = history or [{"created": CREATED, "created_by": f"layer {i}"}
                                     for i in range(len(layers))]
        self.config = canonical_json(cfg)
        self.config_digest = sha256_digest(self.config)
        self.config_media_type = DOCKER_CONFIG if docker else OCI_CONFIG
        man = {"schemaVersion": 2,
               "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
               "config": {"mediaType": self.config_media_type, "digest": self.config_digest,
                          "size": len(self.config)},
               "layers": [l.descriptor() for l in layers]}
        if annotations:
            man["annotations"] = annotations
        self.manifest = canonical_json(man)
        self.media_type = man["mediaType"]
        self.digest = sha256_digest(self.manifest)
        self.platform = platform_of(arch, variant, os_)

    def blobs(self):
        """(digest, bytes) of every blob except the manifest."""
        yield self.config_digest, self.config
        for l in self.layers:
            yield l.digest, l.blob

    def descriptor(self, platform=True):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if platform:
            d["platform"] = self.platform
        return d

    def info(self):
        return {"manifest_digest": self.digest, "media_type": self.media_type,
                "manifest_size": len(self.manifest), "config_digest": self.config_digest,
                "config_size": len(self.config), "platform": self.platform,
                "layers": [{"digest": l.digest, "size": l.size, "media_type": l.media_type,
                            "diff_id": l.diff_id} for l in self.layers]}


class Index:
    """A multi-platform index over already built manifests (children: list of (Image, descriptor))."""

    def __init__(self, children, docker=False):
        self.children = children
        idx = {"schemaVersion": 2, "mediaType": DOCKER_LIST if docker else OCI_INDEX,
               "manifests": [d for _, d in children]}
        self.manifest = canonical_json(idx)
        self.media_type = idx["mediaType"]
        self.digest = sha256_digest(self.manifest)


# ---- OCI image layout ------------------------------------------------------------------------

class Layout:
    """Writes an OCI image layout (blobs/sha256/..., index.json, oci-layout)."""

    def __init__(self, root):
        self.root = root
        self.refs = []
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)

    def put_blob(self, digest, data):
        path = os.path.join(self.root, "blobs", "sha256", digest.split(":", 1)[1])
        if not os.path.exists(path):
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        return path

    def blob_path(self, digest):
        return os.path.join(self.root, "blobs", "sha256", digest.split(":", 1)[1])

    def add_image(self, img):
        for d, b in img.blobs():
            self.put_blob(d, b)
        self.put_blob(img.digest, img.manifest)

    def add_index(self, idx):
        for child, _ in idx.children:
            self.add_image(child)
        self.put_blob(idx.digest, idx.manifest)

    def tag(self, name, obj):
        self.refs.append({"mediaType": obj.media_type, "digest": obj.digest, "size": len(obj.manifest),
                          "annotations": {"org.opencontainers.image.ref.name": name}})

    def finish(self):
        with open(os.path.join(self.root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}))
