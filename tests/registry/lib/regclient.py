"""A minimal client of the registry HTTP API (distribution spec), stdlib only: enough to push
the test images and to check them. Handles the 401 challenges of basic and bearer auth; for
bearer it asks the token realm with GET and HTTP basic credentials, as docker does. Speaks
HTTPS (verified against `cafile`) to a registry created with scheme="https"."""

import base64
import http.client
import json
import os
import re
import ssl
import urllib.parse


class RegistryError(Exception):
    pass


def parse_challenge(value):
    """'Bearer realm="x",service="y",scope="z"' -> ("bearer", {"realm": "x", ...})."""
    scheme, _, rest = value.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class Registry:
    def __init__(self, host, username=None, password=None, timeout=60, scheme="http", cafile=None):
        self.host = host  # "127.0.0.1:5000"
        self.scheme = scheme
        self._tls = ssl.create_default_context(cafile=cafile) if scheme == "https" else None
        self.username = username
        self.password = password
        self.timeout = timeout
        self._auth = None  # header value that worked last
        self._tokens = {}  # scope -> "Bearer ..."

    def _basic(self):
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _raw(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        host = u.netloc or self.host
        if (u.scheme or self.scheme) == "https":
            conn = http.client.HTTPSConnection(host, timeout=self.timeout,
                                               context=self._tls or ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, timeout=self.timeout)
        path = (u.path or "/") + (("?" + u.query) if u.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def fetch_token(self, params):
        if not self.username:
            raise RegistryError("registry wants a bearer token and no credentials were given")
        scope = params.get("scope", "")
        if scope in self._tokens:
            return self._tokens[scope]
        q = {"service": params.get("service", "")}
        if scope:
            q["scope"] = scope
        url = params["realm"] + "?" + urllib.parse.urlencode(q)
        resp, data = self._raw("GET", url, headers={"Authorization": self._basic()})
        if resp.status != 200:
            raise RegistryError(f"token endpoint {url}: {resp.status} {data[:200]!r}")
        tok = json.loads(data)
        value = "Bearer " + (tok.get("token") or tok["access_token"])
        self._tokens[scope] = value
        return value

    def request(self, method, path, body=None, headers=None, ok=(200,)):
        """One API call (path starts with /v2/ or is an absolute URL), answering one challenge."""
        headers = dict(headers or {})
        for attempt in range(2):
            h = dict(headers)
            if self._auth:
                h["Authorization"] = self._auth
            if hasattr(body, "seek"):
                body.seek(0)
            url = path if path.startswith("http") else f"{self.scheme}://{self.host}{path}"
            resp, data = self._raw(method, url, body, h)
            if resp.status == 401 and attempt == 0:
                scheme, params = parse_challenge(resp.getheader("WWW-Authenticate", ""))
                if scheme == "basic":
                    if not self.username:
                        raise RegistryError(f"{method} {path}: basic auth needed, no credentials")
                    self._auth = self._basic()
                elif scheme == "bearer":
                    self._auth = self.fetch_token(params)
                else:
                    raise RegistryError(f"{method} {path}: unknown challenge {scheme!r}")
                continue
            if resp.status not in ok:
                raise RegistryError(f"{method} {path}: {resp.status} {data[:300]!r}")
            return resp, data
        raise RegistryError(f"{method} {path}: still unauthorized")

    # ---- blobs and manifests ----

    def blob_exists(self, repo, digest):
        resp, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", ok=(200, 404))
        return resp.status == 200

    def push_blob(self, repo, digest, path):
        if self.blob_exists(repo, digest):
            return False
        resp, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"", ok=(202,),
                               headers={"Content-Length": "0"})
        loc = resp.getheader("Location")
        if not loc.startswith("http"):
            loc = f"{self.scheme}://{self.host}{loc}"
        sep = "&" if "?" in loc else "?"
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            self.request("PUT", loc + sep + urllib.parse.urlencode({"digest": digest}), body=f,
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-Length": str(size)}, ok=(201,))
        return True

    def put_manifest(self, repo, ref, data, media_type):
        resp, _ = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=data, ok=(201,),
                               headers={"Content-Type": media_type, "Content-Length": str(len(data))})
        return resp.getheader("Docker-Content-Digest")

    ACCEPT = ", ".join([
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ])

    def manifest_digest(self, repo, ref):
        """Digest the registry has for repo:ref, or None."""
        resp, _ = self.request("HEAD", f"/v2/{repo}/manifests/{ref}", ok=(200, 404),
                               headers={"Accept": self.ACCEPT})
        return resp.getheader("Docker-Content-Digest") if resp.status == 200 else None

    def get_manifest(self, repo, ref):
        resp, data = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": self.ACCEPT})
        return resp.getheader("Content-Type"), data
