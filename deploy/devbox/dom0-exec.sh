#!/bin/sh
# Command server of the devbox dom0, run by socat for each connection to the exec port
# (reachable only through QEMU's forward on the host's 127.0.0.1). Used by `scripts/devbox exec`.
#
# Protocol, one command per connection:
#   client -> "<nonce> <base64 of a shell command>\n", then the command's stdin until EOF
#   server -> the command's stdout and stderr (merged), then "\n<nonce>:<exit status>\n"
# The nonce, chosen by the client, lets it tell the trailer from the command's own output.
IFS=' ' read -r nonce cmd64 || exit 1
cmd=$(printf '%s' "$cmd64" | base64 -d) || { printf '\n%s:%s\n' "$nonce" 255; exit 1; }
cd /root 2>/dev/null || cd /
sh -c "$cmd" 2>&1
rc=$?
printf '\n%s:%s\n' "$nonce" "$rc"
