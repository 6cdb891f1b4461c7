"""Entrypoints of the stock images (run as a script, standard library only): ``stock_entry.py IMAGE [ARGS…]``.

Each plays what the image's own entrypoint does with its arguments, on the pod IP (``POD_IP``) and in the
container's own directory (the cwd), then replaces itself with the real program where the host has one:

* nginx: ``nginx -g 'daemon off;'`` (or no args) serves nginx's welcome page on port 80; other args run as a
  command (``docker-entrypoint.sh`` runs anything that is not nginx).
* redis: ``redis-server [options]`` (or options alone, like the image) on port 6379, bound to the pod IP, no
  persistence unless asked; other commands run as given.
* postgres: ``postgres [options]`` initialises ``$PGDATA`` once from ``POSTGRES_USER``,
  ``POSTGRES_PASSWORD``, ``POSTGRES_DB`` (``POSTGRES_HOST_AUTH_METHOD=trust`` allows no password), as the
  ``postgres`` user when run as root, then serves on the pod IP, port 5432. The default data directory and the
  socket directory are ``$TMPDIR/localkube-pg-<hash of the container directory>`` (``./pgdata`` when not root).
"""

from __future__ import annotations

import hashlib
import http.server
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. (localkube stock image: a stand-in, not nginx itself.)</p>
</body>
</html>
"""


def _pod_ip() -> str:
    return os.environ.get("POD_IP") or "127.0.0.1"


def _run_other(args: list[str]) -> int:
    """Anything that is not the image's server: exec it, as the images' entrypoint scripts do."""
    path = shutil.which(args[0])
    if path is not None:
        os.execv(path, args)  # replaces this process
    print(f"exec: {args[0]}: executable file not found in $PATH", file=sys.stderr)
    return 127


class _Welcome(http.server.BaseHTTPRequestHandler):
    server_version = "nginx"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = WELCOME.encode() if self.path in ("/", "/index.html") else b"<h1>404 Not Found</h1>\n"
        self.send_response(200 if self.path in ("/", "/index.html") else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.client_address[0]} - - [{self.log_date_time_string()}] {format % args}\n")
        sys.stdout.flush()


def nginx(args: list[str]) -> int:
    """The welcome page on ``POD_IP:80``."""
    if args and args[0] not in ("nginx", "nginx-debug"):
        return _run_other(args)
    server = http.server.ThreadingHTTPServer((_pod_ip(), 80), _Welcome)
    print(f"localkube nginx stand-in: serving the welcome page on {_pod_ip()}:80", flush=True)
    server.serve_forever()
    return 0


def redis(args: list[str]) -> int:
    """``redis-server`` bound to the pod IP (options the pod passes win; a config file is used as given)."""
    if not args or args[0].startswith("-"):
        args = ["redis-server", *args]
    if args[0] != "redis-server":
        return _run_other(args)
    extra = args[1:]
    if extra and not extra[0].startswith("-"):
        return _run_other(args)  # a config file: the pod chose everything
    defaults = {"--bind": _pod_ip(), "--port": "6379", "--protected-mode": "no", "--save": ""}
    chosen = [item for option, value in defaults.items() if option not in extra for item in (option, value)]
    return _run_other(["redis-server", *chosen, *extra])


def _as_postgres() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def scratch() -> Path:
    """The data and socket dir of the container whose directory is the cwd.

    Outside the container's directory, which may sit below directories only root can enter (pytest's 0700 ones),
    and short enough for the socket path's 107 bytes; keyed by that directory, so restarts keep the data. The
    kubelet removes it when the pod goes (``stock.scratch_dir`` names it the same way).
    """
    digest = hashlib.sha256(str(Path.cwd()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"localkube-pg-{digest}"


def postgres(args: list[str]) -> int:
    """Initialise the data directory once, then run the server on the pod IP."""
    if not args or args[0].startswith("-"):
        args = ["postgres", *args]
    if args[0] != "postgres":
        return _run_other(args)
    ids = _as_postgres()
    base = scratch()
    base.mkdir(mode=0o700, exist_ok=True)
    if ids is not None:
        os.chown(base, *ids)
    data = Path(os.environ.get("PGDATA") or (base / "data" if ids is not None else Path.cwd() / "pgdata")).resolve()
    user = os.environ.get("POSTGRES_USER") or "postgres"
    password = os.environ.get("POSTGRES_PASSWORD")
    auth = os.environ.get("POSTGRES_HOST_AUTH_METHOD") or ("scram-sha-256" if password else "")
    if not (data / "PG_VERSION").exists():
        if not password and auth != "trust":
            print(
                "Error: Database is uninitialized and superuser password is not specified.\n"
                "       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser. "
                'For example, "-e POSTGRES_PASSWORD=password" on "docker run".',
                file=sys.stderr,
            )
            return 1
        data.mkdir(parents=True, exist_ok=True)
        if ids is not None:
            os.chown(data, *ids)
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as pwfile:
            pwfile.write(password or "")
        if ids is not None:
            os.chown(pwfile.name, *ids)
        initdb = ["initdb", "-D", str(data), "-U", user, "--auth-local=trust", f"--auth-host={auth}"]
        if password:
            initdb.append(f"--pwfile={pwfile.name}")
        uid, gid = ids if ids is not None else (None, None)
        done = subprocess.run(initdb, check=False, user=uid, group=gid, cwd=base, stdout=sys.stdout, stderr=sys.stderr)
        os.unlink(pwfile.name)
        if done.returncode != 0:
            return done.returncode
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all 127.0.0.0/8 {auth}\n")
        database = os.environ.get("POSTGRES_DB") or user
        if database != "postgres":
            single = subprocess.run(
                ["postgres", "--single", "-D", str(data), "-c", "listen_addresses=", "postgres"],
                input=f'CREATE DATABASE "{database}";\n',
                text=True,
                check=False,
                user=uid,
                group=gid,
                cwd=base,
                stdout=subprocess.DEVNULL,
            )
            if single.returncode != 0:
                return single.returncode
    sockets = base / "run"
    sockets.mkdir(exist_ok=True)
    os.chdir(base)
    if ids is not None:
        os.chown(sockets, *ids)
        os.setgid(ids[1])
        os.setuid(ids[0])
    server = ["postgres", "-D", str(data), "-c", f"listen_addresses={_pod_ip()}", "-k", str(sockets), *args[1:]]
    return _run_other(server)


def main(argv: list[str]) -> int:
    """Dispatch on the image name."""
    if not argv:
        print("usage: stock_entry.py nginx|redis|postgres [ARGS...]", file=sys.stderr)
        return 2
    handlers = {"nginx": nginx, "redis": redis, "postgres": postgres}
    image, args = argv[0], argv[1:]
    if image not in handlers:
        print(f"stock_entry.py: unknown image {image!r}; expected one of {sorted(handlers)}", file=sys.stderr)
        return 2
    return handlers[image](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
