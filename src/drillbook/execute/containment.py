"""Containment by the operating system: what holds a runbook command even when the policy misreads it.

Every command runs

* as the unprivileged user ``drillbook-step`` (created when missing), with no supplementary groups and
  ``no_new_privs`` (no sudo, no set-uid escalation);
* behind an egress firewall (an nftables table owned by this process, matching the step user's uid) that lets
  it reach loopback only, plus the few addresses the sandbox itself needs (an existing cluster's API server);
* in its own PID namespace, whose init dies with the runner (parent-death signal), so the kernel kills every
  process the command left behind, even ones that ``setsid``-ed away, when the step ends or the run is killed;
* in its own mount namespace, where every world-writable dir (``/tmp``, ``/var/tmp``, ``/dev/shm``,
  ``/run/lock``) is a fresh tmpfs and the step's work dir is bind-mounted at :data:`STEP_ROOT`: nothing it
  writes outside that dir survives it, and it writes nothing else on the host (every other dir is root's).

Where the OS cannot do this (not root, no ``nft``/``unshare``/``setpriv``), :func:`check` says why and refuses
to run unguarded commands unless ``DRILLBOOK_UNCONTAINED=1`` opts in.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import pwd
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drillbook.errors import UsageError
from drillbook.processes import pid_alive

STEP_USER = "drillbook-step"
OPT_IN = "DRILLBOOK_UNCONTAINED"
"""``1``: run runbook commands uncontained where the OS cannot contain them (as the current user, unfiltered)."""
TABLE_PREFIX = "drillbook_steps_"
"""nftables tables are named ``drillbook_steps_<pid>``: the pid of the run that installed it."""
STEP_ROOT = "/tmp/drillbook-step"
"""Where a contained command sees its work dir (bind-mounted inside its own mount namespace)."""
_PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")

# Runs as root, as init of the command's PID namespace: private tmpfs dirs, the work dir at STEP_ROOT (bound from
# the cwd, which still reaches it after /tmp is covered), then the
# command as the step user. It does not exec the command: init must stay root, so that its parent-death
# signal (cleared by any uid change) still kills the namespace when the runner dies.
_INIT = """set -e
cd "$1"
for d in {tmp}; do if [ -d "$d" ]; then mount -t tmpfs -o mode=1777,size=64m drillbook-tmp "$d"; fi; done
mkdir -m 0755 {root}
mount --no-canonicalize --bind . {root}
cd {root}/cwd
set +e
setpriv --reuid={uid} --regid={gid} --clear-groups --no-new-privs --pdeathsig=KILL -- bash -c "$2"
status=$?
exit $status
"""


@dataclass
class Containment:
    """How runbook commands are held: by the OS (``contained``), or not, and why not."""

    uid: int | None = None
    gid: int | None = None
    table: str = ""
    reason: str = ""
    """Why the OS does not contain commands here ("" when it does)."""
    allowed: set[tuple[str, int]] = field(default_factory=set)

    @property
    def contained(self) -> bool:
        """The OS holds every command (user, firewall, namespaces)."""
        return not self.reason

    def argv(self, command: str, workdir: Path) -> list[str]:
        """The argv that runs ``command`` contained, with ``workdir`` (holding ``cwd/``) seen at :data:`STEP_ROOT`."""
        if not self.contained:
            return ["bash", "-c", command]
        init = _INIT.format(tmp=" ".join(_PRIVATE_TMP), root=STEP_ROOT, uid=self.uid, gid=self.gid)
        return [
            "unshare", "--pid", "--mount", "--fork", "--mount-proc", "--kill-child=SIGKILL", "--",
            "bash", "-c", init, "drillbook-step-init", str(workdir), command,
        ]  # fmt: skip

    def own(self, path: Path) -> None:
        """Hand a directory (or file) of the work dir to the step user."""
        if self.contained and self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def allow(self, host: str, port: int) -> None:
        """Let commands also reach ``host:port`` (an address the sandbox needs, e.g. a real API server)."""
        if not self.contained or (host, port) in self.allowed:
            return
        family = "ip6" if ipaddress.ip_address(host).version == 6 else "ip"
        _nft(
            "insert", "rule", "inet", self.table, "output", "meta", "skuid", str(self.uid),
            family, "daddr", host, "tcp", "dport", str(port), "accept",
        )  # fmt: skip
        self.allowed.add((host, port))

    def release(self) -> None:
        """Remove this run's firewall (the run is over)."""
        if self.table:
            with contextlib.suppress(OSError, subprocess.CalledProcessError):
                _nft("delete", "table", "inet", self.table)
            self.table = ""


_LOCK = threading.Lock()
_CURRENT: Containment | None = None
_WARNED = False


def containment(environ: Mapping[str, str] | None = None) -> Containment:
    """This process's containment, set up on first use (user, firewall); refused when impossible and not opted in."""
    global _CURRENT
    with _LOCK:
        if _CURRENT is None or (_CURRENT.contained and not _CURRENT.table):
            _CURRENT = _set_up()
            if _CURRENT.contained:
                atexit.register(_CURRENT.release)
        current = _CURRENT
    _refuse_unless_opted_in(current, os.environ if environ is None else environ)
    return current


def check(environ: Mapping[str, str] | None = None) -> Containment:
    """At the start of a run: contain, or say why not (and refuse unless opted in)."""
    global _WARNED
    current = containment(environ)
    if not current.contained and not _WARNED:
        print(f"drillbook: WARNING: runbook commands run UNCONTAINED ({OPT_IN}=1): {current.reason}", file=sys.stderr)
        _WARNED = True
    return current


def _refuse_unless_opted_in(current: Containment, environ: Mapping[str, str]) -> None:
    if not current.contained and environ.get(OPT_IN, "") != "1":
        raise UsageError(
            f"runbook commands cannot be contained on this machine: {current.reason}. drillbook refuses to run "
            f"other teams' commands unguarded; run as root with nft, unshare and setpriv installed "
            f"(scripts/install-system-packages), or set {OPT_IN}=1 to run them anyway, unguarded"
        )


def why_not_contained() -> str:
    """Why the OS cannot contain commands here, or ``""``."""
    if not sys.platform.startswith("linux"):
        return f"containment needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "not running as root: cannot switch to an unprivileged user, install a firewall or make namespaces"
    missing = [tool for tool in ("nft", "unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian packages nftables, util-linux, mount)"
    return ""


def _set_up() -> Containment:
    reason = why_not_contained()
    if reason:
        return Containment(reason=reason)
    try:
        user = _step_user()
        remove_stale_tables()
        table = f"{TABLE_PREFIX}{os.getpid()}"
        _install_table(table, user.pw_uid)
    except (OSError, subprocess.CalledProcessError, KeyError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else exc
        return Containment(reason=f"could not set up the step user or its firewall: {detail}")
    return Containment(uid=user.pw_uid, gid=user.pw_gid, table=table)


def _step_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(STEP_USER)
    except KeyError:
        pass
    done = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", STEP_USER],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 9):  # 9: created meanwhile by another run
        raise OSError(f"useradd {STEP_USER} failed: {done.stderr.strip()}")
    return pwd.getpwnam(STEP_USER)


def _install_table(table: str, uid: int) -> None:
    rules = f"""table inet {table} {{
  chain output {{
    type filter hook output priority filter; policy accept;
    meta skuid {uid} oifname "lo" accept
    meta skuid {uid} counter reject
  }}
}}
"""
    subprocess.run(["nft", "-f", "-"], input=rules, capture_output=True, text=True, check=True)


def tables() -> list[str]:
    """drillbook's step firewalls currently installed (any run's)."""
    done = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False)
    names = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith("table inet ")]
    return [n for n in names if n.startswith(TABLE_PREFIX)]


def remove_stale_tables() -> list[str]:
    """Remove the firewalls of runs that died without removing theirs; return their names."""
    if shutil.which("nft") is None or os.geteuid() != 0:
        return []
    removed: list[str] = []
    for name in tables():
        pid = name.removeprefix(TABLE_PREFIX)
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(subprocess.CalledProcessError):
                _nft("delete", "table", "inet", name)
                removed.append(name)
    return removed


def _nft(*args: str) -> None:
    subprocess.run(["nft", *args], capture_output=True, text=True, check=True)
