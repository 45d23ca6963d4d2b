"""Load and soak benchmark: simulated students against gunicorn + real Celery workers + PostgreSQL + Redis.

    .venv/bin/python bench/load_bench.py [--users 30] [--minutes 5] [--model-dir DIR] [--out bench/results/load_bench.md]
    .venv/bin/python bench/load_bench.py --minutes 30      # soak: the same load for 30 minutes
    .venv/bin/python bench/load_bench.py --minutes 3 --tracemalloc  # where the web workers' memory grows

Loopback only. Everything is private to the run: a fresh PostgreSQL database (dropped at the end)
on the machine's server, a Redis database number of its own (--redis-db, flushed before and after),
a temporary media folder. The site runs as in production (gunicorn gthread, DEBUG off) with the
`default` worker that makes thumbnails and embeddings, and the `quick` worker that ranks the labeling
queue in the background. With pretrained weights (--weights-dir, the shared MobileNet 0.25 file by
default) photos are embedded and the queue ranks them with the quick classifier, as in a lesson.
Students (bench/load_locustfile.py, locust) upload photos (analysed in the request by the published
model), label from the labeling queue and reopen their photos' analyses.

Reported: requests, errors, p50/p95 per endpoint; nothing lost (uploads answered 201 = image rows =
original files on disk = analyses = thumbnails made by the worker); the queue's freshness (a photo a
classmate labeled seen ahead of one nobody labeled, and how long after the label); resident memory of
each process (web and workers, with their children) after warm-up, at the end and its growth; the
machine's load before and after.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
WARMUP_SECONDS = 30  # memory baseline after imports, model loading and connection pools settle
DRAIN_TIMEOUT = 300  # seconds for the worker to finish the queued thumbnails after the load stops

SEED = """
import json, os
from pathlib import Path
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from apps.accounts import roles
from apps.projects.models import Membership, Project
from apps.training.services import model_version_publish
from ml.card import read_card
User = get_user_model()
model_dir = Path(os.environ["RIIM_LOAD_MODEL_DIR"]); users = int(os.environ["RIIM_LOAD_USERS"])
classes = read_card(model_dir)["classes"]
teacher = User.objects.create_user("profe", password="bench-pass-123")
roles.role_assign(teacher, roles.TEACHER)
project = Project.objects.create(owner=teacher, name="Carga", slug="carga", classes=list(classes))
if os.environ.get("RIIM_LOAD_BACKBONE") and hasattr(project, "backbone"):
    project.backbone = os.environ["RIIM_LOAD_BACKBONE"]
    project.save()
Membership.objects.create(project=project, user=teacher, role="teacher")
tokens = []
for i in range(users):
    student = User.objects.create_user(f"alumno{i}", password="bench-pass-123")
    roles.role_assign(student, roles.STUDENT)
    Membership.objects.create(project=project, user=student, role="student")
    tokens.append(Token.objects.create(user=student).key)
model_version_publish(project=project, local_dir=model_dir, user=teacher, source="trained")
print(json.dumps({"project": project.slug, "classes": list(classes), "tokens": tokens}))
"""

COUNT = """
import json, os
from django.core.files.storage import default_storage
from apps.inference.models import Analysis
from apps.uploads.models import Image
ids = json.load(open(os.environ["RIIM_LOAD_UPLOADS"]))
images = Image.objects.filter(project__slug="carga")
print(json.dumps({
    "answered_201": len(ids),
    "rows": images.count(),
    "rows_of_201": images.filter(pk__in=ids).count(),
    "files": sum(1 for image in images if default_storage.exists(image.file.name)),
    "analysed_images": Analysis.objects.filter(image__in=images, ran_on="server").values("image").distinct().count(),
    "thumbnails": images.exclude(thumbnail="").count(),
}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return round(total / 2**20, 1)


class MemorySampler(threading.Thread):
    """Sample each named process tree's resident memory every few seconds."""

    def __init__(self, pids: dict[str, int], every: float = 5.0):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.stop = threading.Event()

    def run(self):
        start = time.monotonic()
        while not self.stop.is_set():
            self.samples.append((time.monotonic() - start, {name: tree_rss_mb(pid) for name, pid in self.pids.items()}))
            self.stop.wait(self.every)

    def summary(self) -> dict[str, dict[str, float]]:
        after = [values for t, values in self.samples if t >= WARMUP_SECONDS] or [self.samples[-1][1]]
        out = {}
        for name in self.pids:
            series = [values[name] for values in after]
            out[name] = {"after_warmup_mb": series[0], "end_mb": series[-1], "peak_mb": max(series),
                         "growth_mb": round(series[-1] - series[0], 1)}
        return out


def machine_load() -> str:
    """What else the machine was doing: load average and the busiest processes not started by this run."""
    procs = list(psutil.process_iter(["pid", "name", "cmdline"]))
    for proc in procs:
        try:
            proc.cpu_percent(None)  # the first call only starts the measurement
        except psutil.Error:
            pass
    time.sleep(2)
    usage = []
    for proc in procs:
        try:
            usage.append((proc.cpu_percent(None), " ".join((proc.info["cmdline"] or [proc.info["name"]])[:3])[:70]))
        except psutil.Error:
            pass
    names = [f"{name} ({cpu:.0f} %)" for cpu, name in sorted(usage)[-5:]]
    return f"load average {os.getloadavg()}, {psutil.cpu_count()} CPUs; busiest: " + "; ".join(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--model-dir", type=Path, default=None, help="a trained model folder (else one is trained)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server (no database number)")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--weights-dir", type=Path, default=REPO.parent / "shared" / "data" / "keras" / "models",
                        help="pretrained weights for the embeddings (none there: no embeddings, the queue falls back)")
    parser.add_argument("--backbone", default="mobilenet", help="the project's network, when projects have one")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace the web workers' allocations and report where they grew (slows them: memory only)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="riim-load-"))
    db_name = f"riim_load_{os.getpid()}"
    broker = f"{args.redis}/{args.redis_db}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "riim_site.settings.local",
        "DEBUG": "0",
        "DATABASE_URL": f"{args.pg}/{db_name}",
        "CELERY_BROKER_URL": broker,
        "MEDIA_ROOT": str(scratch / "media"),
        "RIIM_VAR_DIR": str(scratch / "var"),
        "RIIM_WEIGHTS_DIR": str(args.weights_dir),
        "PYTHONUNBUFFERED": "1",
    }
    processes: dict[str, subprocess.Popen] = {}
    started = dt.datetime.now(dt.UTC)
    load_before = machine_load()
    try:
        subprocess.run(["redis-cli", "-u", broker, "flushdb"], check=True, capture_output=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        subprocess.run([PYTHON, "manage.py", "createcachetable"], cwd=REPO, env=env, check=True)
        model_dir = args.model_dir or train_model(scratch / "model", env)
        seed = subprocess.run([PYTHON, "manage.py", "shell", "-c", SEED], cwd=REPO, check=True, capture_output=True, text=True,
                              env={**env, "RIIM_LOAD_MODEL_DIR": str(model_dir), "RIIM_LOAD_USERS": str(args.users),
                                   "RIIM_LOAD_BACKBONE": args.backbone})
        tokens_file = scratch / "tokens.json"
        tokens_file.write_text(seed.stdout.strip().splitlines()[-1])

        logs = scratch / "logs"
        logs.mkdir()
        processes["web (gunicorn)"] = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "riim_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.web_workers),
             "-k", "gthread", "--threads", "4", "--timeout", "120",
             # Longer than a student's pause (1-3 s): with gunicorn's 2 s default the server closes idle
             # connections just as the client reuses them (resets counted as errors). A reverse proxy does the same.
             "--keep-alive", "75", *(["-c", str(REPO / "bench" / "gunicorn_tracemalloc.py")] if args.tracemalloc else [])],
            cwd=REPO, env={**env, "RIIM_LOAD_TRACEMALLOC_DIR": str(scratch / "tracemalloc")}, stdout=(logs / "web.log").open("w"), stderr=subprocess.STDOUT)
        processes["default worker (celery)"] = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "riim_site", "worker", "-Q", "default,lab", "-c", "2", "-n", f"load{os.getpid()}@%h",
             "--loglevel", "WARNING"],
            cwd=REPO, env=env, stdout=(logs / "worker.log").open("w"), stderr=subprocess.STDOUT)
        processes["quick worker (celery)"] = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "riim_site", "worker", "-Q", "quick", "-c", "1", "-n", f"quick{os.getpid()}@%h",
             "--loglevel", "WARNING"],
            cwd=REPO, env=env, stdout=(logs / "quick.log").open("w"), stderr=subprocess.STDOUT)
        # Traced workers import everything under tracemalloc, several times slower than usual.
        wait_ready(f"http://127.0.0.1:{port}/accounts/login/", processes, timeout=600 if args.tracemalloc else 90)
        sampler = MemorySampler({name: p.pid for name, p in processes.items()})
        sampler.start()
        traces = scratch / "tracemalloc"
        if args.tracemalloc:
            traces.mkdir()
            threading.Timer(WARMUP_SECONDS, (traces / "baseline").touch).start()

        uploads_file = scratch / "uploads.json"
        freshness_file = scratch / "freshness.json"
        locust = subprocess.run(
            [PYTHON, "-m", "locust", "-f", str(REPO / "bench" / "load_locustfile.py"), "--headless", "--only-summary",
             "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{int(args.minutes * 60)}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(scratch / "locust"), "--stop-timeout", "30"],
            cwd=REPO, env={**env, "RIIM_LOAD_TOKENS": str(tokens_file), "RIIM_LOAD_UPLOADS": str(uploads_file),
                           "RIIM_LOAD_FRESHNESS": str(freshness_file)},
            capture_output=True, text=True)
        print(locust.stdout[-3000:], locust.stderr[-3000:], file=sys.stderr)
        counts = drain(env, uploads_file)
        sampler.stop.set()
        sampler.join()
        traced = web_growth_sites(traces, args.web_workers) if args.tracemalloc else []
        report = {
            "started": started.isoformat(timespec="seconds"),
            "users": args.users, "minutes": args.minutes,
            "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
            "python": platform.python_version(),
            "endpoints": endpoint_stats(scratch / "locust_stats.csv"),
            "failures": failure_rows(scratch / "locust_failures.csv"),
            "counts": counts,
            "freshness": freshness(freshness_file),
            "memory": sampler.summary(),
            "tracemalloc": traced,
            "machine_before": load_before,
            "machine_after": machine_load(),
        }
        print(json.dumps(report, indent=2))
        if args.out:
            args.out.write_text(markdown(report))
        lost = counts["answered_201"] - min(counts["rows_of_201"], counts["files"], counts["analysed_images"], counts["thumbnails"])
        return 1 if lost else 0
    finally:
        for proc in processes.values():
            proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", db_name], capture_output=True)
        subprocess.run(["redis-cli", "-u", broker, "flushdb"], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def web_growth_sites(folder: Path, workers: int, timeout: float = 900) -> list[dict]:
    """Ask the traced web workers for their comparison with the baseline, and read what each wrote."""
    (folder / "final").touch()
    deadline = time.monotonic() + timeout  # comparing two snapshots of a large heap takes minutes when traced
    while len(list(folder.glob("*.json"))) < workers and time.monotonic() < deadline:
        time.sleep(2)
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def train_model(out: Path, env: dict) -> Path:
    """Train the tests' tiny two-class model (about a minute on two cores)."""
    code = ("import tempfile; from pathlib import Path; import django; django.setup(); "
            "from tests.fixtures.models import train_served_model; "
            f"train_served_model(Path({str(out)!r}), Path(tempfile.mkdtemp()) / 'shapes')")
    subprocess.run([PYTHON, "-c", code], cwd=REPO, env=env, check=True, capture_output=True)
    return out


def wait_ready(url: str, processes: dict[str, subprocess.Popen], timeout: float = 90):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the web server did not answer")


def drain(env: dict, uploads_file: Path) -> dict:
    """Wait until every stored photo has its thumbnail (the worker caught up), then count."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        result = subprocess.run([PYTHON, "manage.py", "shell", "-c", COUNT], cwd=REPO, check=True, capture_output=True,
                                text=True, env={**env, "RIIM_LOAD_UPLOADS": str(uploads_file)})
        counts = json.loads(result.stdout.strip().splitlines()[-1])
        if counts["thumbnails"] >= counts["rows"] or time.monotonic() > deadline:
            return counts
        time.sleep(5)


def freshness(path: Path) -> dict:
    """Queue answers checked, and how late a photo with its labels was seen ahead of unlabeled ones."""
    data = json.loads(path.read_text()) if path.exists() else {"answers_checked": 0, "stale_seconds": []}
    late = sorted(data["stale_seconds"])
    return {"answers_checked": data["answers_checked"], "stale_sightings": len(late),
            "max_seconds_after_label": late[-1] if late else None,
            "p95_seconds_after_label": late[int(0.95 * (len(late) - 1))] if late else None}


def endpoint_stats(path: Path) -> list[dict]:
    rows = list(csv.DictReader(path.open()))
    return [{"name": row["Name"], "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
             "p50_ms": float(row["50%"] or 0), "p95_ms": float(row["95%"] or 0), "rps": round(float(row["Requests/s"]), 2)}
            for row in rows]


def failure_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [{"name": row["Name"], "error": row["Error"][:120], "occurrences": int(row["Occurrences"])} for row in csv.DictReader(path.open())]


def markdown(report: dict) -> str:
    counts = report["counts"]
    lines = [
        "# Load benchmark",
        "",
        f"`bench/load_bench.py --users {report['users']} --minutes {report['minutes']}`, started {report['started']} "
        f"on commit `{report['commit']}` (Python {report['python']}): gunicorn (gthread) + the `default` and `quick` Celery workers "
        "+ PostgreSQL (a fresh database) + Redis (a database number of its own), loopback only.",
        "",
        f"Machine before the run: {report['machine_before']}.",
        f"Machine after the run: {report['machine_after']}.",
        "",
        "| endpoint | requests | failures | p50 (ms) | p95 (ms) | req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {e['name']} | {e['requests']} | {e['failures']} | {e['p50_ms']:.0f} | {e['p95_ms']:.0f} | {e['rps']} |"
              for e in report["endpoints"]]
    lines += ["", "Failures: " + ("none" if not report["failures"] else "; ".join(
        f"{f['name']}: {f['error']} ×{f['occurrences']}" for f in report["failures"])), ""]
    lines += [
        "Nothing lost: uploads answered 201 = image rows = original files = analysed images = thumbnails made by the worker:",
        f"{counts['answered_201']} = {counts['rows_of_201']} (all rows {counts['rows']}) = {counts['files']} = "
        f"{counts['analysed_images']} = {counts['thumbnails']}.",
        "",
        "Queue freshness (one label per photo): of {answers_checked} queue answers of five photos checked, {stale_sightings} "
        "showed a photo a classmate had already labeled ahead of one nobody had labeled".format(**report["freshness"])
        + ("." if not report["freshness"]["stale_sightings"] else
           ", at most {max_seconds_after_label} s (p95 {p95_seconds_after_label} s) after that label.".format(
               **report["freshness"])),
        "",
        f"| process | RSS after {WARMUP_SECONDS} s warm-up (MB) | at the end (MB) | peak (MB) | growth (MB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {m['after_warmup_mb']} | {m['end_mb']} | {m['peak_mb']} | {m['growth_mb']} |"
              for name, m in report["memory"].items()]
    for worker in report.get("tracemalloc") or []:
        lines += ["", f"Web worker {worker['pid']} (tracemalloc): Python allocations "
                  f"{worker['traced_after_warmup_mb']} MB after warm-up, {worker['traced_at_end_mb']} MB at the end of the load "
                  f"(peak {worker['traced_peak_mb']} MB). Sites that grew most:", "",
                  "| growth (KB) | blocks | allocated at | from RIIM's code |", "| ---: | ---: | --- | --- |"]
        lines += [f"| {site['size_diff_kb']} | {site['count_diff']} | `{site['allocated_at']}` | `{site['riim_caller'] or '-'}` |"
                  for site in worker["top_growth"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
