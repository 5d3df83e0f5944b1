#!/usr/bin/python3
"""The measurements of bench/pods, run from the host against the devbox (see bench/pods).

Zones are driven through the CRI socket (cri_client.Cri); commands that must run next to them
(the streaming client, nc, the baselines) run in dom0 through `scripts/devbox exec`.

    pods_measure.py --socket S --devbox scripts/devbox --stream-client PATH [--runs N] [--mib N]
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from cri_client import Cri  # noqa: E402

IMAGE = "registry.k8s.io/busybox:1.36"


class Bench:
    def __init__(self, a):
        self.a = a
        self.cri = Cri(a.socket)
        self.pb = self.cri.pb
        self.pods = []

    # --- dom0
    def dom0(self, command, check=True, timeout=600):
        r = subprocess.run([self.a.devbox, "exec", "--", "sh", "-c", command], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"dom0: {command!r} exited {r.returncode}: {r.stdout[-800:]} {r.stderr[-800:]}")
        return r.stdout

    # --- CRI
    def rt(self, method, request, response, timeout=300):
        return self.cri.call("RuntimeService", method, request, getattr(self.pb, response), timeout)

    def run_pod(self, name):
        cfg = self.pb.PodSandboxConfig()
        cfg.metadata.name = name
        cfg.metadata.namespace = "bench"
        cfg.metadata.uid = "uid-" + name
        cfg.hostname = name
        cfg.log_directory = "/var/log/pods/bench_" + name
        self.dom0("mkdir -p " + cfg.log_directory)
        r = self.rt("RunPodSandbox", self.pb.RunPodSandboxRequest(config=cfg), "RunPodSandboxResponse", 600)
        st = self.rt("PodSandboxStatus", self.pb.PodSandboxStatusRequest(pod_sandbox_id=r.pod_sandbox_id),
                     "PodSandboxStatusResponse", 30)
        self.pods.append(r.pod_sandbox_id)
        return r.pod_sandbox_id, cfg, st.status.network.ip

    def container(self, pod, cfg, name, command):
        c = self.pb.ContainerConfig()
        c.metadata.name = name
        c.image.image = self.image
        c.command.extend(command)
        c.log_path = name + ".log"
        r = self.rt("CreateContainer", self.pb.CreateContainerRequest(pod_sandbox_id=pod, config=c, sandbox_config=cfg),
                    "CreateContainerResponse", 300)
        self.rt("StartContainer", self.pb.StartContainerRequest(container_id=r.container_id),
                "StartContainerResponse", 120)
        return r.container_id

    def exec_sync(self, ctr, cmd, timeout=300):
        r = self.rt("ExecSync", self.pb.ExecSyncRequest(container_id=ctr, cmd=cmd, timeout=timeout),
                    "ExecSyncResponse", timeout + 30)
        return r.exit_code, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def cleanup(self):
        for pod in self.pods:
            try:
                self.rt("StopPodSandbox", self.pb.StopPodSandboxRequest(pod_sandbox_id=pod), "StopPodSandboxResponse", 120)
                self.rt("RemovePodSandbox", self.pb.RemovePodSandboxRequest(pod_sandbox_id=pod),
                        "RemovePodSandboxResponse", 120)
            except Exception as e:  # a failed cleanup must not hide the figures
                print(f"cleanup of pod {pod[:12]}: {e}", file=sys.stderr)

    # --- measurements
    def run(self):
        a = self.a
        try:
            self.image = self.cri.pull(IMAGE).image_ref
        except self.cri.grpc.RpcError:
            # a re-run against a kept devbox whose registry is gone: the image pulled before will do
            self.image = self.cri.image_status(IMAGE).image.id
            if not self.image:
                raise
        nbytes = a.mib << 20
        blocks = a.mib * 16  # dd blocks of 64 KiB
        server, server_cfg, server_ip = self.run_pod("bench-server")
        client, client_cfg, client_ip = self.run_pod("bench-client")
        print(f"pods: bench-server {server_ip}, bench-client {client_ip}")
        # The server pod serves an N MiB file over HTTP on port 5001 (busybox httpd; busybox nc
        # closes on its own stdin's end, so it cannot receive a stream): pod to pod on the pod
        # IP, and port-forward, which the agent dials at the pod's 127.0.0.1.
        self.container(server, server_cfg, "http", ["sh", "-c", f"mkdir -p /www && dd if=/dev/zero of=/www/big "
                       f"bs=65536 count={blocks} 2>/dev/null && httpd -f -p 5001 -h /www"])
        shell = self.container(client, client_cfg, "shell", ["sleep", "3600"])
        time.sleep(2)

        # exec round trip: ExecSync of `true` from the host (CRI), and the streaming path as kubelet
        # proxies it (Exec URL, then the SPDY client in dom0; its start-up measured alone too)
        sync = []
        for _ in range(a.runs):
            t0 = time.monotonic()
            code, _, _ = self.exec_sync(shell, ["true"], 60)
            sync.append(time.monotonic() - t0)
            assert code == 0
        stream, startup = [], []
        for _ in range(a.runs):
            url = self.rt("Exec", self.pb.ExecRequest(container_id=shell, cmd=["true"], stdout=True, stderr=True),
                          "ExecResponse", 30).url
            out = self.dom0(f"t0=$EPOCHREALTIME; {a.stream_client} exec '{url}' >/dev/null; rc=$?; "
                            f"t1=$EPOCHREALTIME; {a.stream_client} --help >/dev/null 2>&1; t2=$EPOCHREALTIME; "
                            "echo $rc $t0 $t1 $t2")
            rc, t0, t1, t2 = out.split()
            assert rc == "0", out
            stream.append(float(t1) - float(t0))
            startup.append(float(t2) - float(t1))
        # baseline: crun exec into a container crun runs in dom0 (no VM), same image root
        crun = self.crun_exec_baseline()
        med = statistics.median
        print(f"exec round trip (true): ExecSync {med(sync):.3f} s, streaming (SPDY client in dom0) "
              f"{med(stream):.3f} s (client start-up alone {med(startup):.3f} s); "
              f"crun exec in dom0 {med(crun):.3f} s; ratio ExecSync/crun {med(sync) / med(crun):.1f} (median of {a.runs})")

        # port-forward: N MiB from a server on the pod's 127.0.0.1 through the streaming server
        pf_url = self.rt("PortForward", self.pb.PortForwardRequest(pod_sandbox_id=server, port=[5001]),
                         "PortForwardResponse", 30).url
        out = self.dom0(
            f"{a.stream_client} port-forward '{pf_url}' 18080:5001 >/tmp/pf.log 2>&1 & pf=$!; sleep 2; "
            "t0=$EPOCHREALTIME; n=$(wget -q -O - http://127.0.0.1:18080/big | wc -c); t1=$EPOCHREALTIME; kill $pf; "
            "echo $n $t0 $t1")
        n, t0, t1 = out.split()
        pf_s = float(t1) - float(t0)
        # baseline: the same transfer over dom0's loopback, no zone
        out = self.dom0(f"mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big bs=65536 count={blocks} 2>/dev/null; "
                        "httpd -f -p 127.0.0.1:19090 -h /tmp/www & h=$!; sleep 1; t0=$EPOCHREALTIME; "
                        "n=$(wget -q -O - http://127.0.0.1:19090/big | wc -c); t1=$EPOCHREALTIME; kill $h; echo $n $t0 $t1")
        bn, b0, b1 = out.split()
        lo_s = float(b1) - float(b0)
        if int(n) != nbytes or int(bn) != nbytes:
            raise RuntimeError(f"port-forward moved {n} bytes, loopback {bn}, expected {nbytes}")
        print(f"port-forward: {a.mib} MiB in {pf_s:.2f} s = {a.mib / pf_s:.1f} MiB/s; dom0 loopback TCP "
              f"{a.mib / lo_s:.1f} MiB/s (ratio {pf_s / lo_s:.1f})")

        # pod to pod: TCP throughput and ping RTT from the client pod to the server pod
        tput = []
        for _ in range(a.runs):
            code, out, err = self.exec_sync(
                shell, ["sh", "-c", f"time -p sh -c 'wget -q -O - http://{server_ip}:5001/big | wc -c'"])
            tput.append(parse_transfer(out, err, nbytes))
        code, out, _ = self.exec_sync(shell, ["ping", "-c", str(max(a.runs, 5)), "-i", "0.5", server_ip])
        rtt = parse_rtt(out)
        base_tput, base_rtt = self.netns_baseline(blocks, nbytes)
        print(f"pod to pod TCP: {a.mib / med(tput):.1f} MiB/s (median of {a.runs}); ping RTT avg {rtt:.3f} ms")
        print(f"two netns on the same CNI bridge in dom0 (what runc pods get): {a.mib / med(base_tput):.1f} MiB/s; "
              f"ping RTT avg {base_rtt:.3f} ms")
        # tput and base_tput are seconds per transfer: the zone's throughput as a fraction of the netns one
        print(f"ratios zone/netns: throughput {med(base_tput) / med(tput):.2f}x (below 1: zones slower), "
              f"RTT {rtt / base_rtt:.1f}x (above 1: zones slower)")

    def crun_exec_baseline(self):
        out = self.dom0(r"""
set -e
root=$(ls -S /var/lib/zoned/data/roots/*.erofs | head -1)
b=/tmp/crun-exec-bench
mkdir -p $b/lower $b/upper $b/work $b/bundle/rootfs
mount -o loop,ro -t erofs "$root" $b/lower
mount -t overlay overlay -o lowerdir=$b/lower,upperdir=$b/upper,workdir=$b/work $b/bundle/rootfs
cd $b/bundle && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sleep", "600"/' config.json
crun run -d --no-pivot benchexec </dev/null >/dev/null 2>&1
for i in $(seq %d); do t0=$EPOCHREALTIME; crun exec benchexec true; t1=$EPOCHREALTIME; echo "T $t0 $t1"; done
crun kill benchexec KILL; sleep 1; crun delete -f benchexec >/dev/null 2>&1
cd /; umount $b/bundle/rootfs $b/lower
""" % self.a.runs)
        return [float(b) - float(a) for _, a, b in (l.split() for l in out.splitlines() if l.startswith("T "))]

    def netns_baseline(self, blocks, nbytes):
        """Two network namespaces given addresses by the same CNI network (bridge + host-local of
        the devbox's conflist), as containerd does for runc pods; the same transfer and ping."""
        conflist = json.loads(self.dom0("cat $(ls /etc/cni/net.d/*.conflist | head -1)"))
        net = dict(conflist["plugins"][0], name=conflist["name"], cniVersion=conflist["cniVersion"])
        runs, pings = self.a.runs, max(self.a.runs, 5)
        cni = "CNI_NETNS=/run/netns/$n CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni CNI_CONTAINERID=$n /usr/lib/cni/bridge"
        out = self.dom0(f"""
set -e
net='{json.dumps(net)}'
for n in bencha benchb; do ip netns add $n; echo "$net" | CNI_COMMAND=ADD {cni} > /tmp/$n.json; done
ipa=$(sed -n 's/.*"address": *"\\([0-9.]*\\)\\/.*/\\1/p' /tmp/bencha.json | head -1)
mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big bs=65536 count={blocks} 2>/dev/null
ip netns exec bencha httpd -f -p 5001 -h /tmp/www & h=$!; sleep 1
for i in $(seq {runs}); do
  ip netns exec benchb sh -c "time -p sh -c 'wget -q -O - http://$ipa:5001/big | wc -c'" 2>&1
done
ip netns exec benchb ping -c {pings} -i 0.5 $ipa
kill $h
for n in bencha benchb; do echo "$net" | CNI_COMMAND=DEL {cni} >/dev/null || true; ip netns del $n; done
""")
        times = [float(x) for x in re.findall(r"^real\s+([0-9.]+)", out, re.M)]
        counts = [int(x) for x in re.findall(r"^\s*(\d+)\s*$", out, re.M)]
        if len(times) != runs or any(c != nbytes for c in counts[:runs]):
            raise RuntimeError(f"netns baseline: unexpected output: {out[-1500:]}")
        return times, parse_rtt(out)


def parse_transfer(out, err, nbytes):
    got = int(out.strip().splitlines()[-1])
    if got != nbytes:
        raise RuntimeError(f"pod to pod: {got} bytes, expected {nbytes}")
    m = re.search(r"^real\s+([0-9.]+)", err, re.M)
    if not m:
        raise RuntimeError(f"pod to pod: no time in {err!r}")
    return float(m.group(1))


def parse_rtt(out):
    m = re.search(r"min/avg/max[^=]*= *([0-9.]+)/([0-9.]+)/", out)
    if not m:
        raise RuntimeError(f"ping: no round-trip summary in {out[-600:]!r}")
    return float(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--devbox", required=True)
    ap.add_argument("--stream-client", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=32)
    b = Bench(ap.parse_args())
    try:
        b.run()
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
