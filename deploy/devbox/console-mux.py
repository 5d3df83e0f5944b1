#!/usr/bin/env python3
"""Console multiplexer for the devbox QEMU serial port (host side).

usage: console-mux.py SERIAL_SOCK CONSOLE_SOCK LOGFILE

Listens on SERIAL_SOCK, which QEMU connects to (-chardev socket,path=SERIAL_SOCK), so no console
output is lost however early it comes. Everything QEMU writes goes
  - to LOGFILE, each line prefixed with the host time and the seconds since the mux started,
  - raw to every client connected to CONSOLE_SOCK (`scripts/devbox console`).
What clients type goes to QEMU (the Xen serial console; dom0 gets the input by default).
Exits when QEMU closes the serial connection, or after 60 s if QEMU never connects.
"""
import os
import selectors
import socket
import sys
import time


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(8)
    s.setblocking(False)
    return s


class TimestampedLog:
    """Writes console bytes to a file, prefixing each line with host timestamps."""

    def __init__(self, path):
        self.f = open(path, "ab", buffering=0)
        self.t0 = time.monotonic()
        self.at_line_start = True

    def prefix(self):
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + ".%03d" % int((now % 1) * 1000)
        return ("[%s +%7.2f] " % (stamp, time.monotonic() - self.t0)).encode()

    def write(self, data):
        data = data.replace(b"\r", b"")
        out = []
        for piece in data.splitlines(keepends=True):
            if self.at_line_start:
                out.append(self.prefix())
            out.append(piece)
            self.at_line_start = piece.endswith(b"\n")
        self.f.write(b"".join(out))

    def note(self, text):
        if not self.at_line_start:
            self.f.write(b"\n")
            self.at_line_start = True
        self.write(("[devbox] %s\n" % text).encode())


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    serial_path, console_path, log_path = sys.argv[1:]
    log = TimestampedLog(log_path)
    sel = selectors.DefaultSelector()
    serial_srv = listen(serial_path)
    console_srv = listen(console_path)
    sel.register(serial_srv, selectors.EVENT_READ, "serial-listen")
    sel.register(console_srv, selectors.EVENT_READ, "console-listen")
    qemu = None
    clients = set()
    deadline = time.monotonic() + 60
    log.note("console mux started, waiting for QEMU")

    def drop(client):
        sel.unregister(client)
        clients.discard(client)
        client.close()

    while True:
        if qemu is None and time.monotonic() > deadline:
            log.note("QEMU never connected to the serial socket")
            break
        for key, _ in sel.select(timeout=1.0):
            what, sock = key.data, key.fileobj
            if what == "serial-listen":
                conn, _ = sock.accept()
                if qemu is not None:  # only one QEMU
                    conn.close()
                    continue
                qemu = conn
                sel.register(qemu, selectors.EVENT_READ, "qemu")
            elif what == "console-listen":
                conn, _ = sock.accept()
                conn.settimeout(2.0)  # a client that stops reading is dropped, QEMU never waits
                clients.add(conn)
                sel.register(conn, selectors.EVENT_READ, "client")
            elif what == "qemu":
                try:
                    data = qemu.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    log.note("QEMU closed the serial port")
                    return
                log.write(data)
                for c in list(clients):
                    try:
                        c.sendall(data)
                    except OSError:
                        drop(c)
            elif what == "client":
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    drop(sock)
                elif qemu is not None:
                    qemu.sendall(data)


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in sys.argv[1:3]:
            try:
                os.unlink(p)
            except OSError:
                pass
