"""`make run`'s supervisor restarts a Procfile process that dies, and stops them all on SIGTERM."""

import os
import signal
import subprocess
import sys

import pytest

from riim_site.supervisor import exit_description, procfile_read, restart_delay
from tests.platform.worker import REPO_ROOT, wait_for

CHILD = "{python} -c 'import os, sys, time; open(sys.argv[1], \"a\").write(f\"{{os.getpid()}}\\n\"); time.sleep(300)' {pids}"


def _pids(path):
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_process_killed_by_a_signal_is_restarted_and_the_others_keep_running(tmp_path):
    """SIGKILL one child: the log names it and the signal, it starts again, its sibling is untouched."""
    procfile = tmp_path / "Procfile"
    victim, sibling = tmp_path / "victim.pids", tmp_path / "sibling.pids"
    procfile.write_text(
        f"victim: {CHILD.format(python=sys.executable, pids=victim)}\n"
        f"sibling: {CHILD.format(python=sys.executable, pids=sibling)}\n"
    )
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "riim_site/supervisor.py", str(procfile), "--base-delay", "0.2", "--grace", "5"],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        first = wait_for(lambda: _pids(victim), timeout=20, message="the victim to start")[0]
        sibling_pid = wait_for(lambda: _pids(sibling), timeout=20, message="the sibling to start")[0]
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: _pids(victim)[1:], timeout=20, message="the victim's restart")[0]
        assert second != first and _alive(second)
        assert _pids(sibling) == [sibling_pid] and _alive(sibling_pid)
        assert f"victim (pid {first}) died with signal SIGKILL" in log.read_text()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
        assert not _alive(second) and not _alive(sibling_pid)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def test_restart_delay_doubles_up_to_the_maximum():
    """1, 2, 4... times the base delay after failures in a row, never more than the maximum."""
    assert [restart_delay(n, base=1.0, maximum=10.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_exit_description_names_signal_or_code():
    """A negative return code is a signal by name; others are exit codes."""
    assert exit_description(-signal.SIGKILL) == "signal SIGKILL"
    assert exit_description(3) == "exit code 3"


def test_procfile_read_keeps_order_and_refuses_bad_lines(tmp_path):
    """Names map to commands in file order; comments are skipped; a line without a colon is an error."""
    (tmp_path / "Procfile").write_text("# comment\nweb: python manage.py runserver\nbeat: celery -A x beat\n")
    assert list(procfile_read(tmp_path / "Procfile").items()) == [
        ("web", "python manage.py runserver"),
        ("beat", "celery -A x beat"),
    ]
    (tmp_path / "Procfile").write_text("web python\n")
    with pytest.raises(ValueError):
        procfile_read(tmp_path / "Procfile")
