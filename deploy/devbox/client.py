#!/usr/bin/env python3
"""Host-side helpers of scripts/devbox.

  client.py probe UNIX_SOCKET [TIMEOUT]
      Checks that a gRPC server answers behind UNIX_SOCKET: sends the HTTP/2 client preface and
      an empty SETTINGS frame and waits for any reply (a gRPC server sends its SETTINGS).
      Exit 0 if something came back, 1 otherwise (the reason on stderr).

  client.py exec PORT [-i] [--] COMMAND...
      Runs COMMAND in dom0 through the command server on 127.0.0.1:PORT (see dom0-exec.sh).
      The arguments are quoted for the shell, like `docker exec` (use `sh -c '...'` for shell
      syntax). Prints the command's output (stdout and stderr merged) and exits with its status;
      255 if dom0 did not answer. -i forwards this process's stdin to the command.
"""
import base64
import os
import re
import secrets
import shlex
import socket
import sys
import threading

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def probe(path, timeout=5.0):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(H2_PREFACE + H2_EMPTY_SETTINGS)
        data = s.recv(64)
    except OSError as e:
        print("probe: %s: %s" % (path, e), file=sys.stderr)
        return 1
    if not data:
        print("probe: %s: connection closed without a reply" % path, file=sys.stderr)
        return 1
    return 0


def run_exec(port, argv, forward_stdin):
    nonce = secrets.token_hex(8)
    command = shlex.join(argv)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        print("devbox exec: cannot connect to 127.0.0.1:%d: %s" % (port, e), file=sys.stderr)
        return 255
    s.settimeout(None)
    s.sendall(("%s %s\n" % (nonce, base64.b64encode(command.encode()).decode())).encode())

    def pump_stdin():
        try:
            while True:
                chunk = os.read(0, 65536)
                if not chunk:
                    break
                s.sendall(chunk)
        except OSError:
            pass
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    if forward_stdin:
        threading.Thread(target=pump_stdin, daemon=True).start()
    else:
        s.shutdown(socket.SHUT_WR)  # the command sees EOF on stdin

    # Stream the output, holding back enough bytes to strip the trailer "\n<nonce>:<status>\n".
    hold = len(nonce) + 16
    buf = b""
    out = sys.stdout.buffer
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
        if len(buf) > hold:
            out.write(buf[:-hold])
            out.flush()
            buf = buf[-hold:]
    m = re.search(rb"\n" + nonce.encode() + rb":(\d+)\n$", buf)
    if not m:
        out.write(buf)
        out.flush()
        print("devbox exec: dom0 closed the connection without an exit status "
              "(is the devbox up? see `scripts/devbox logs`)", file=sys.stderr)
        return 255
    out.write(buf[:m.start()])
    out.flush()
    return int(m.group(1))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "probe" and len(args) in (2, 3):
        sys.exit(probe(args[1], float(args[2]) if len(args) == 3 else 5.0))
    if args[0] == "exec" and len(args) >= 2:
        port = int(args[1])
        rest = args[2:]
        forward_stdin = False
        while rest and rest[0].startswith("-"):
            opt = rest.pop(0)
            if opt == "--":
                break
            if opt == "-i":
                forward_stdin = True
            else:
                sys.exit("devbox exec: unknown option %s" % opt)
        if not rest:
            sys.exit("usage: devbox exec [-i] -- COMMAND [ARG...]")
        sys.exit(run_exec(port, rest, forward_stdin))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
