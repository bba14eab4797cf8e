"""Run `autodevhub serve` (or another command) as a real child process on a loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"


def _die_with_parent() -> None:
    """Linux: SIGKILL the child when the benchmark or test that started it dies, so a crash
    never leaves a server running (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(database_url: str, slack_api_url: str, **extra: str | None) -> dict[str, str]:
    """The environment of a token-mode server on loopback (extra: more settings by name)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTODEVHUB_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "AUTODEVHUB_SLACK_API_URL": slack_api_url,
            "AUTODEVHUB_SCHEDULER": "false",
            "AUTODEVHUB_LOG_LEVEL": "WARNING",
            "AUTODEVHUB_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class ServeProcess:
    """A child process serving HTTP on 127.0.0.1:`port`; `url` once `start()` returned."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        argv: Sequence[str] | None = None,
        log_path: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.env = dict(env)
        self.env["PORT"] = str(self.port)
        self.argv = list(argv) if argv else [sys.executable, "-m", "bot", "serve"]
        self.argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, timeout: float = 30.0) -> ServeProcess:
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.wait_healthy(timeout=timeout)
        return self

    def wait_healthy(self, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not healthy within {timeout}s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-chars:]
        return "(no log)"

    def kill9(self) -> None:
        """SIGKILL, as an OOM killer or a pulled plug would: no clean-up runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()  # type: ignore[union-attr]
        self._log = None

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far, from /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kb(self, field: str) -> int:
        """A /proc/PID/status figure in kB (VmHWM: peak RSS, VmRSS: current RSS)."""
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)
