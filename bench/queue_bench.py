"""Labeling-queue benchmark: this commit's queue against an earlier commit's, side by side in one process.

    .venv/bin/python bench/queue_bench.py [--photos 2000 10000] [--rounds 40] [--baseline a2d34ac] [--dim 256]

For each project size: a fresh project in a fresh PostgreSQL database (dropped at the end), photos with
synthetic embeddings (``--dim`` values, two classes) under the project's backbone fingerprint, half the
training photos labeled by a class of 30. Each round, one student labels a photo and another asks for
the next one (limit 1, as the labeling page does). Reported per implementation: the request's p50 and
p95, the quick-classifier fits (in this process for the baseline; the rankings built by the quick
worker for this commit) and the embedding rows this process read during the rounds, and the Python
memory this process kept over a second pass (tracemalloc). Each runs with its commit's cache: the
baseline had no CACHES (Django's per-process memory cache), this commit's is Redis (``--redis``, a
database of its own, flushed before and after), and its rankings are built by a real `quick` Celery
worker started here, whose CPU competes with the requests as it would on one machine. Nothing here
is a test: the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _setup_django(args, db_name):
    os.environ["DJANGO_SETTINGS_MODULE"] = "riim_site.settings.local"
    os.environ["DATABASE_URL"] = f"{args.pg}/{db_name}"
    os.environ["CELERY_BROKER_URL"] = f"{args.redis}/{args.redis_db}"
    os.environ["RIIM_WEIGHTS_DIR"] = str(args.weights_dir)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _baseline_queue(commit: str):
    """Return the baseline commit's apps/labeling/queue.py as a module."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:apps/labeling/queue.py"], check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("baseline_queue")
    module.__file__ = f"{commit}:apps/labeling/queue.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own file at a known commit
    return module


def _project(n_photos: int, dim: int, students: int, seed: int = 0):
    """Create a project of ``n_photos`` embedded photos, half the training ones labeled; return it and its people."""
    import numpy as np
    from django.contrib.auth import get_user_model

    from apps.embeddings.models import ImageEmbedding
    from apps.embeddings.selectors import project_embeddings
    from apps.labeling.models import Label
    from apps.projects.models import Membership, Project
    from apps.uploads.models import Image
    from ml.embeddings import to_bytes

    User = get_user_model()
    rng = np.random.default_rng(seed)
    teacher = User.objects.create_user(f"profe{n_photos}", password="bench-pass-123")
    project = Project.objects.create(owner=teacher, name=f"Cola {n_photos}", slug=f"cola-{n_photos}",
                                     classes=["gato", "perro"])
    if hasattr(project, "backbone"):  # the network whose weights the bench points at
        project.backbone = "mobilenet"
        project.save()
    people = []
    for i in range(students):
        student = User.objects.create_user(f"alumno{n_photos}-{i}", password="bench-pass-123")
        Membership.objects.create(project=project, user=student, role="student")
        people.append(student)
    truth = rng.integers(0, 2, n_photos)
    images = Image.objects.bulk_create([
        Image(project=project, uploader=teacher, original_name=f"{i}.jpg", file=f"bench/{i}.jpg",
              thumbnail=f"bench/{i}.jpg", sha256=f"{n_photos:08x}{i:056x}", width=96, height=96, format="JPEG",
              split="test" if i % 5 == 0 else "train")
        for i in range(n_photos)
    ], batch_size=2000)
    fingerprint = project_embeddings(project, fill=False).fingerprint
    centres = rng.normal(0, 1, (2, dim))
    rows = []
    for image, cls in zip(images, truth, strict=True):
        vector = centres[cls] + rng.normal(0, 1.5, dim)
        rows.append(ImageEmbedding(image=image, fingerprint=fingerprint, vector=to_bytes(vector), mirror=to_bytes(vector)))
    ImageEmbedding.objects.bulk_create(rows, batch_size=2000)
    labeled = [(image, cls) for k, (image, cls) in enumerate(zip(images, truth, strict=True))
               if image.split == "train" and k % 2 == 0]
    Label.objects.bulk_create([Label(image=image, author=people[k % students], label=project.classes[cls], source="student")
                               for k, (image, cls) in enumerate(labeled)], batch_size=2000)
    for cls, name in enumerate(project.classes):
        Image.objects.filter(pk__in=[image.pk for image, c in labeled if c == cls]).update(label=name, label_source="student")
    return project, people


class _Counters:
    """Fits of the quick classifier and embedding rows read, counted in this process."""

    def __init__(self):
        import ml.quick
        from apps.embeddings import selectors

        self.fits = 0
        self.rows = 0
        original_fit = ml.quick.fit_quick_head
        original_embeddings = selectors.project_embeddings

        def classifier(*a, **k):
            self.fits += 1
            return original_fit(*a, **k)

        def embeddings(*a, **k):
            result = original_embeddings(*a, **k)
            self.rows += len(result.image_ids)
            return result

        ml.quick.fit_quick_head = classifier
        selectors.project_embeddings = embeddings

    def reset(self):
        self.fits = self.rows = 0


class _QuickWorker:
    """A real `quick` Celery worker on the bench's database and Redis; it counts the rankings it built."""

    def __init__(self, log: Path):
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "riim_site", "worker", "-Q", "quick", "-c", "1", "-n",
             f"queuebench{os.getpid()}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=REPO, env={**os.environ, "LOG_LEVEL": "INFO"}, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while " ready." not in log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the quick worker did not start:\n" + log.read_text(errors="replace"))
            time.sleep(0.5)

    def builds(self) -> int:
        return self.log.read_text(errors="replace").count("labeling_queue_refresh_task") // 2  # received + succeeded

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def _rounds(implementation, project, people, rounds: int, rng) -> list[float]:
    """Label one photo, then time another student's next-photo request; return the request times in ms."""
    from apps.labeling.models import Label
    from apps.uploads.models import Image

    times = []
    open_ids = list(project.images.filter(split="train", label="").values_list("pk", flat=True))
    for r in range(rounds):
        labeler, asker = people[r % len(people)], people[(r + 7) % len(people)]
        image_id = open_ids[rng.integers(len(open_ids))]
        Label.objects.create(image_id=image_id, author=labeler, label=project.classes[r % 2], source="student")
        Image.objects.filter(pk=image_id).update(label=project.classes[r % 2], label_source="student")
        start = time.perf_counter()
        implementation.labeling_queue_ranked(project=project, user=asker, strategy="mix", limit=1)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p(values, q):
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--memory-rounds", type=int, default=20)
    parser.add_argument("--dim", type=int, default=256, help="embedding values per photo (256: MobileNet 0.25)")
    parser.add_argument("--baseline", default="a2d34ac", help="the commit whose queue.py is compared")
    parser.add_argument("--weights-dir", type=Path, default=REPO.parent / "shared" / "data" / "keras" / "models")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()

    db_name = f"riim_queue_{os.getpid()}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
    subprocess.run(["redis-cli", "-u", f"{args.redis}/{args.redis_db}", "flushdb"], check=True, capture_output=True)
    try:
        _setup_django(args, db_name)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        report(args)
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", db_name], capture_output=True)
        subprocess.run(["redis-cli", "-u", f"{args.redis}/{args.redis_db}", "flushdb"], capture_output=True)


def report(args):
    import numpy as np
    from django.conf import settings
    from django.core.cache import cache
    from django.test.utils import override_settings

    from apps.labeling import queue as current
    from apps.labeling.embedding_store import store

    baseline = _baseline_queue(args.baseline)
    counters = _Counters()
    worker = _QuickWorker(Path(tempfile.mkdtemp(prefix="riim-queue-bench-")) / "quick.log")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"queue_bench: HEAD {head} against {args.baseline}; load average before {os.getloadavg()}, "
          f"{os.cpu_count()} CPUs; dim {args.dim}, {args.rounds} rounds (label, then another student's request)")
    print("| photos | queue | p50 (ms) | p95 (ms) | fits | embedding rows read | Python memory kept (MB) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    try:
        locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        for n in args.photos:
            project, people = _project(n, args.dim, 30)
            for name, implementation, caches in ((args.baseline, baseline, locmem), (head, current, settings.CACHES)):
                with override_settings(CACHES=caches):
                    store.clear()
                    implementation.labeling_queue_ranked(project=project, user=people[0], strategy="mix", limit=1)
                    time.sleep(settings.RIIM_QUEUE_REFRESH_SECONDS + 1)  # warm: the first ranking has landed
                    counters.reset()
                    builds = worker.builds()
                    times = _rounds(implementation, project, people, args.rounds, np.random.default_rng(1))
                    time.sleep(settings.RIIM_QUEUE_REFRESH_SECONDS + 1)  # the last refresh finishes before counting
                    fits, rows = counters.fits + (worker.builds() - builds), counters.rows
                    tracemalloc.start()
                    before = tracemalloc.take_snapshot()
                    _rounds(implementation, project, people, args.memory_rounds, np.random.default_rng(2))
                    time.sleep(settings.RIIM_QUEUE_REFRESH_SECONDS + 1)
                    after = tracemalloc.take_snapshot()
                    tracemalloc.stop()
                    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 2**20
                    top = after.compare_to(before, "lineno")[:3]
                    print(f"| {n:,} | {name} | {statistics.median(times):.0f} | {_p(times, 95):.0f} | {fits} | {rows:,} | "
                          f"{kept:.1f} |", flush=True)
                    print("    largest growth: " + "; ".join(f"{s.traceback[0].filename.split('/')[-1]}:{s.traceback[0].lineno} "
                                                            f"{s.size_diff / 2**20:+.1f} MB" for s in top), file=sys.stderr)
                    cache.clear() if caches is locmem else None
    finally:
        worker.stop()
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
