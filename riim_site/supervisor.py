"""Run the processes of a Procfile and restart any that dies: `python -m riim_site.supervisor Procfile`.

`make run` uses this instead of honcho, which stops everything when one process exits: here a
worker, beat or web process that crashes (or is killed) comes back on its own. Every child runs
in its own process group, so its own children (a prefork pool) stop with it. A child that exits is
logged with its exit code or signal and started again after a delay that doubles with each quick
failure (base, 2×base, ... up to max) and resets once it stayed up `stable` seconds. Ctrl-C or
SIGTERM stops every child: SIGTERM to the child itself first (a Celery worker then stops its own
pool: a warm shutdown), SIGKILL to its whole process group after a grace period.
Each output line is prefixed with the time and the process's name, as honcho did.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def procfile_read(path: str | Path) -> dict[str, str]:
    """Return the Procfile's processes, name -> command, in file order."""
    commands = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise ValueError(f"not a Procfile line: {line!r}")
        commands[name.strip()] = command.strip()
    return commands


def restart_delay(failures: int, *, base: float, maximum: float) -> float:
    """Return the wait before the next start of a process that failed `failures` times in a row."""
    return min(base * 2 ** max(failures - 1, 0), maximum)


def exit_description(returncode: int) -> str:
    """Say how a process ended: 'exit code 1' or 'signal SIGKILL'."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """One Procfile process and its restart bookkeeping."""

    name: str
    command: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0  # exits in a row that came before it was stable
    restart_at: float | None = None
    readers: list = field(default_factory=list)


class Supervisor:
    """Start the children, restart those that die, stop them all on request."""

    def __init__(self, commands: dict[str, str], *, base: float = 1.0, maximum: float = 60.0, stable: float = 60.0,
                 grace: float = 20.0, out=None):
        self.children = [Child(name, command) for name, command in commands.items()]
        self.base, self.maximum, self.stable, self.grace = base, maximum, stable, grace
        self.out = out or sys.stdout
        self.width = max((len(name) for name in commands), default=0)
        self.stopping = threading.Event()
        self._write_lock = threading.Lock()

    def log(self, name: str, text: str) -> None:
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name.ljust(self.width)} | {text}\n")
            self.out.flush()

    def _pipe(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.log(child.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    def spawn(self, child: Child) -> None:
        # exec: the shell becomes the command, so its exit code or signal is the command's own.
        child.process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {child.command}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        child.started_at, child.restart_at = time.monotonic(), None
        reader = threading.Thread(target=self._pipe, args=(child, child.process.stdout), daemon=True)
        reader.start()
        child.readers = [reader]
        self.log("supervisor", f"started {child.name} (pid {child.process.pid}): {child.command}")

    def poll(self) -> None:
        """Notice children that exited and start again those whose delay has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and (code := child.process.poll()) is not None:
                for reader in child.readers:
                    reader.join(timeout=1)  # its last lines come before the news of its death
                uptime = now - child.started_at
                child.failures = 1 if uptime >= self.stable else child.failures + 1
                delay = restart_delay(child.failures, base=self.base, maximum=self.maximum)
                self.log("supervisor", f"{child.name} (pid {child.process.pid}) died with {exit_description(code)} "
                                       f"after {uptime:.1f} s; restarting in {delay:.1f} s")
                child.process, child.restart_at = None, now + delay
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                self.spawn(child)

    def run(self) -> int:
        """Supervise until SIGINT or SIGTERM; return 0 after stopping every child."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stopping.set())
        for child in self.children:
            self.spawn(child)
        while not self.stopping.wait(0.2):
            self.poll()
        self.stop()
        return 0

    def stop(self) -> None:
        """SIGTERM every child, then SIGKILL the process groups of those left after the grace period."""
        running = [child for child in self.children if child.process is not None and child.process.poll() is None]
        for child in running:
            self.log("supervisor", f"stopping {child.name} (pid {child.process.pid})")
            # Only the child: a signal to its pool processes too would kill the tasks they run.
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
        deadline = time.monotonic() + self.grace
        for child in running:
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.log("supervisor", f"{child.name} did not stop within {self.grace:.0f} s: SIGKILL")
            # Whatever it left behind (or all of it, when it did not stop) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("procfile", nargs="?", default="Procfile")
    parser.add_argument("--base-delay", type=float, default=1.0, help="seconds before the first restart")
    parser.add_argument("--max-delay", type=float, default=60.0, help="longest wait between restarts")
    parser.add_argument("--stable", type=float, default=60.0, help="uptime after which failures are forgotten")
    parser.add_argument("--grace", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL at stop")
    args = parser.parse_args(argv)
    supervisor = Supervisor(procfile_read(args.procfile), base=args.base_delay, maximum=args.max_delay,
                            stable=args.stable, grace=args.grace)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
