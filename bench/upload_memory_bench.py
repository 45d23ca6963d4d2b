"""Peak memory a web process spends on hostile uploads.

    .venv/bin/python bench/upload_memory_bench.py [--out bench/results/upload_memory_bench.md] [--repo .]

For each scenario a fresh gunicorn (one gthread worker with four threads, the way a small school
server runs it) serves a throwaway database and media folder. The worker's peak resident memory
(``VmHWM``) is reset just before the scenario's requests (``/proc/<pid>/clear_refs``) and read
after them; the figure is that peak minus the resident memory before the requests.

Scenarios:
- accepted: a 6300 x 6300 all-white JPEG (39.7 Mpx, about 600 KB: under the 40 Mpx limit), stored;
- refused (pixels): a 7000 x 7000 all-white JPEG (49 Mpx), over the pixel limit;
- refused (body): a 50 MB body, over the 10 MB upload limit;
- 4 parallel: four different 6300 x 6300 white JPEGs sent at once.

``--repo`` runs the same measurement against another checkout (for example the code before a
change) with this script's own copy. The Markdown table goes to ``--out``, the raw figures to stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from PIL import Image

SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from apps.accounts import roles
from apps.projects.models import Membership, Project
User = get_user_model()
teacher = User.objects.create_user("bench", password="bench-pass-123")
roles.role_assign(teacher, roles.TEACHER)
project = Project.objects.create(owner=teacher, name="Bench", slug="bench", classes=["gato", "perro"])
Membership.objects.create(project=project, user=teacher, role="teacher")
print(Token.objects.create(user=teacher).key)
"""


def white_jpeg(side: int, mark: int = 0) -> bytes:
    """An all-white JPEG; ``mark`` moves one grey pixel block so each file has its own bytes (no duplicates)."""
    picture = Image.new("RGB", (side, side), "white")
    if mark:
        picture.paste((128, 128, 128), (8 * mark, 0, 8 * mark + 8, 8))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=75)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Server:
    """A gunicorn serving the checkout at ``repo`` on a throwaway database and media folder."""

    def __init__(self, repo: Path, scratch: Path):
        self.repo, self.port = repo, free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "riim_site.settings.local",
            "DEBUG": "0",
            "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
            "MEDIA_ROOT": str(scratch / "media"),
            "RIIM_VAR_DIR": str(scratch / "var"),
            "CELERY_BROKER_URL": "memory://",  # the web process only publishes; no worker runs here
        }
        python = str(Path(sys.executable))
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=repo, env=self.env, check=True)
        shell = subprocess.run(
            [python, "manage.py", "shell", "-c", SETUP], cwd=repo, env=self.env, check=True, capture_output=True, text=True
        )
        self.token = shell.stdout.strip().splitlines()[-1]
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "riim_site.wsgi", "-b", f"127.0.0.1:{self.port}",
             "-w", "1", "-k", "gthread", "--threads", "4", "--timeout", "120"],
            cwd=repo, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/api/v1/projects/", headers=self.headers, timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.2)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        self.worker = int(children[0])

    @property
    def headers(self):
        return {"Authorization": f"Token {self.token}"}

    def upload(self, name: str, raw: bytes) -> int:
        response = requests.post(
            self.url + "/api/v1/images/", headers=self.headers, data={"project": "bench"}, files={"file": (name, raw)}, timeout=300
        )
        return response.status_code

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def measure(server: Server, uploads: list[tuple[str, bytes]]) -> dict:
    """Send the uploads at once (one thread each); return the worker's peak memory rise and the statuses."""
    server.upload("warm.jpg", white_jpeg(64))  # imports, connections and allocator pools settle first
    Path(f"/proc/{server.worker}/clear_refs").write_text("5")  # peak RSS := current RSS
    before = proc_kb(server.worker, "VmRSS")
    statuses = [0] * len(uploads)

    def send(i):
        statuses[i] = server.upload(*uploads[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(uploads))]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    peak = proc_kb(server.worker, "VmHWM")
    return {"rise_mb": round((peak - before) / 1024, 1), "rss_before_mb": round(before / 1024, 1), "statuses": statuses, "seconds": round(seconds, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    hostile = white_jpeg(6300)
    scenarios = {
        "accepted: 6300x6300 white JPEG": [("white.jpg", hostile)],
        "refused: 7000x7000 white JPEG (49 Mpx)": [("huge.jpg", white_jpeg(7000))],
        "refused: 50 MB body": [("big.jpg", b"\xff\xd8" + os.urandom(50 * 1024 * 1024))],
        "4 parallel 6300x6300 white JPEGs": [(f"white{i}.jpg", white_jpeg(6300, mark=i + 1)) for i in range(4)],
    }
    results = {}
    for name, uploads in scenarios.items():
        with tempfile.TemporaryDirectory(prefix="riim-upload-bench-") as scratch:
            server = Server(args.repo.resolve(), Path(scratch))
            try:
                results[name] = measure(server, uploads)
            finally:
                server.stop()
        print(name, results[name], file=sys.stderr)
    report = {
        "repo": str(args.repo.resolve()),
        "commit": subprocess.run(["git", "-C", str(args.repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "hostile_jpeg_kb": round(len(hostile) / 1024),
        "python": platform.python_version(),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    if args.out:
        lines = [
            "# Upload memory benchmark",
            "",
            f"`bench/upload_memory_bench.py` on commit `{report['commit']}`: one gunicorn gthread worker (4 threads); "
            f"peak resident memory rise of the worker during the requests. The hostile JPEG is {report['hostile_jpeg_kb']} KB.",
            "",
            "| scenario | peak rise (MB) | statuses | seconds |",
            "| --- | ---: | --- | ---: |",
        ]
        lines += [f"| {name} | {r['rise_mb']} | {', '.join(map(str, r['statuses']))} | {r['seconds']} |" for name, r in results.items()]
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
