#!/usr/bin/python3
"""A tiny CRI v1 client over a unix socket, for the benchmarks (Debian's python3-grpcio and
python3-protobuf; message classes generated at run time by `protoc --python_out` from the
project's cri/proto/api.proto; the RPCs are called by method path, so no gRPC plugin is needed).

    cri_client.py --socket PATH version
    cri_client.py --socket PATH pull IMAGE [--username U --password P] [--timeout S]
    cri_client.py --socket PATH image-status IMAGE
    cri_client.py --socket PATH wait [--timeout S]      # until Version answers

`pull` prints {"image_ref": ..., "seconds": <wall time of the PullImage call>} as JSON.
"""

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO = os.path.join(REPO, "cri", "proto", "api.proto")


def load_pb2():
    """Generates api_pb2.py into a temporary directory and imports it."""
    tmp = tempfile.mkdtemp(prefix="cri-pb2-")
    try:
        subprocess.run(["protoc", "-I", os.path.dirname(PROTO), "--python_out", tmp, PROTO], check=True)
        sys.path.insert(0, tmp)
        sys.dont_write_bytecode = True
        mod = importlib.import_module("api_pb2")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return mod


class Cri:
    def __init__(self, socket_path):
        import grpc
        self.grpc = grpc
        self.pb = load_pb2()
        self.channel = grpc.insecure_channel("unix://" + os.path.abspath(socket_path),
                                             options=[("grpc.max_receive_message_length", 16 << 20)])

    def call(self, service, method, request, response_cls, timeout):
        fn = self.channel.unary_unary(f"/runtime.v1.{service}/{method}",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=response_cls.FromString)
        return fn(request, timeout=timeout)

    def version(self, timeout=5):
        return self.call("RuntimeService", "Version", self.pb.VersionRequest(version="v1"),
                         self.pb.VersionResponse, timeout)

    def pull(self, image, username=None, password=None, timeout=600):
        req = self.pb.PullImageRequest(image=self.pb.ImageSpec(image=image))
        if username:
            req.auth.username = username
            req.auth.password = password or ""
        return self.call("ImageService", "PullImage", req, self.pb.PullImageResponse, timeout)

    def image_status(self, image, timeout=10):
        req = self.pb.ImageStatusRequest(image=self.pb.ImageSpec(image=image), verbose=False)
        return self.call("ImageService", "ImageStatus", req, self.pb.ImageStatusResponse, timeout)

    def wait(self, timeout=30):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                return self.version(timeout=2)
            except self.grpc.RpcError as e:
                last = e
                time.sleep(0.1)
        raise TimeoutError(f"CRI socket did not answer Version within {timeout} s: {last}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    w = sub.add_parser("wait")
    w.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("pull")
    p.add_argument("image")
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--timeout", type=float, default=600)
    s = sub.add_parser("image-status")
    s.add_argument("image")
    a = ap.parse_args()
    c = Cri(a.socket)
    try:
        if a.cmd == "version":
            v = c.version()
            print(json.dumps({"runtime_name": v.runtime_name, "runtime_version": v.runtime_version,
                              "runtime_api_version": v.runtime_api_version}))
        elif a.cmd == "wait":
            c.wait(a.timeout)
        elif a.cmd == "pull":
            t0 = time.monotonic()
            r = c.pull(a.image, a.username, a.password, a.timeout)
            dt = time.monotonic() - t0
            print(json.dumps({"image_ref": r.image_ref, "seconds": round(dt, 4)}))
        elif a.cmd == "image-status":
            r = c.image_status(a.image)
            img = r.image
            print(json.dumps({"present": bool(img.id), "id": img.id, "size": img.size,
                              "repo_tags": list(img.repo_tags), "repo_digests": list(img.repo_digests)}))
    except c.grpc.RpcError as e:
        print(f"cri_client: {a.cmd}: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(2)
    except TimeoutError as e:
        print(f"cri_client: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
