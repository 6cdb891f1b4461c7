"""The ``redis-cli`` wrapper ``kubectl exec`` gets in a Redis pod: loopback there means the pod's own address.

Run as a file (``python -I -S loopback_client.py REAL POD_IP ARGS…``) from the wrapper script in the pod's exec
``PATH``, so it imports nothing from drillbook. redis-cli has no environment variable for its host (unlike libpq's
``PGHOST``), and on the embedded platform the pod's server binds the pod's loopback address (``127.10.x.y``), not
``127.0.0.1``: without a host flag, or with a loopback one, the pod's address is given instead.
"""

from __future__ import annotations

import os
import sys

#: Host names that mean "this pod" inside it.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

#: redis-cli options that take a value (so the scan does not mistake the value for the command).
_VALUE_OPTIONS = frozenset([
    "-h", "-p", "-s", "-a", "-u", "-r", "-i", "-n", "-d", "-D", "-X", "--user", "--pass", "--sni", "--cacert",
    "--cacertdir", "--cert", "--key", "--tls-ciphers", "--tls-ciphersuites", "--rdb", "--functions-rdb",
    "--pipe-timeout", "--memkeys-samples", "--pattern", "--quoted-pattern", "--count", "--intrinsic-latency",
    "--eval", "--lru-test", "--show-pushes"
])  # fmt: skip


def _local_uri(uri: str, pod_ip: str) -> str:
    """``redis://[user@]localhost[:port]/…`` with the pod's address for a loopback host."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    auth, at, hostpart = rest.rpartition("@")
    for host in sorted(LOOPBACK_HOSTS, key=len, reverse=True):
        if hostpart == host or hostpart.startswith((f"{host}:", f"{host}/")):
            return f"{scheme}://{auth}{at}{pod_ip}{hostpart[len(host) :]}"
    return uri


def redis_cli_argv(args: list[str], pod_ip: str) -> list[str]:
    """redis-cli's arguments with the pod's address where the pod's loopback was meant.

    Only the options before the first command word are read, as redis-cli does: ``-h`` with a loopback host is
    replaced, a ``-u`` URI with one is rewritten, a ``-s`` socket is left alone, and without any of them ``-h
    POD_IP`` is added first.
    """
    out = list(args)
    i, target_given = 0, False
    while i < len(out) and out[i].startswith("-"):
        option = out[i]
        if option in ("-h", "-u", "-s"):
            target_given = True
            if i + 1 < len(out) and option == "-h" and out[i + 1] in LOOPBACK_HOSTS:
                out[i + 1] = pod_ip
            elif i + 1 < len(out) and option == "-u":
                out[i + 1] = _local_uri(out[i + 1], pod_ip)
        i += 2 if option in _VALUE_OPTIONS else 1
    return out if target_given else ["-h", pod_ip, *out]


def main(argv: list[str]) -> int:
    """``loopback_client.py REAL_REDIS_CLI POD_IP ARGS…``: become the real redis-cli with adapted arguments."""
    if len(argv) < 2:
        print("loopback_client: expected REAL_REDIS_CLI POD_IP [ARGS…]", file=sys.stderr)
        return 2
    real, pod_ip, args = argv[0], argv[1], argv[2:]
    try:
        os.execv(real, [real, *redis_cli_argv(args, pod_ip)])
    except OSError as exc:
        print(f"drillbook: could not run {real}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
