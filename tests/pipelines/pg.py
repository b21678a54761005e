"""A throwaway PostgreSQL cluster on loopback for tests (initdb + pg_ctl in a temporary folder)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Server:
    host: str
    port: int
    user: str
    db: str
    password: str
    folder: Path

    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.db,
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
        }


def find_bin(name: str) -> str | None:
    """A PostgreSQL server binary: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


def start() -> tuple[Server | None, str]:
    """Start a server; returns (server, "") or (None, why it could not be started)."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "PostgreSQL server binaries (initdb, pg_ctl) not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run the server as"
    folder = Path(tempfile.mkdtemp(prefix="trialpipe-pg-", dir="/tmp"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        for p in (folder, sock):
            os.chown(p, server_user.pw_uid, server_user.pw_gid)
    password = "trialpipe-test"
    pwfile = folder / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        os.chown(pwfile, server_user.pw_uid, server_user.pw_gid)
    user = "trialpipe"
    port = _free_port()
    steps = [
        [initdb, "-D", str(data), "-U", user, "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8"],
        [
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {sock} -c fsync=off -c full_page_writes=off",
            "-w",
            "-t",
            "60",
            "start",
        ],
    ]
    for cmd in steps:
        proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = folder / "server.log"
            tail = log.read_text()[-500:] if log.exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            return None, f"{Path(cmd[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-500:]} {tail}"
    return Server("127.0.0.1", port, user, "postgres", password, folder), ""


def stop(server: Server) -> None:
    pg_ctl = find_bin("pg_ctl")
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(server.folder / "data"), "-m", "immediate", "-w", "stop"]),
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(server.folder, ignore_errors=True)
