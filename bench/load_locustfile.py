"""Locust users for bench/load_bench.py: students uploading, labeling and analysing.

Reads RIIM_LOAD_TOKENS (a JSON file: {"project": slug, "classes": [...], "tokens": [...]}) and writes
the ids of the uploads answered 201 to RIIM_LOAD_UPLOADS when the run stops, and the queue's freshness
to RIIM_LOAD_FRESHNESS: how many queue answers were checked, and for each photo a classmate had already
labeled (one label per photo: it has its labels) yet still came before a photo nobody labeled, how many
seconds after that label it was seen. Photos whose labels disagree are left out: the queue asks for them
again on purpose.
"""
import io
import itertools
import json
import os
import random
import threading
import time

from locust import HttpUser, between, events, task
from PIL import Image

SEED = json.loads(open(os.environ["RIIM_LOAD_TOKENS"]).read())
_tokens = itertools.cycle(SEED["tokens"])
_lock = threading.Lock()
UPLOADED: list[int] = []
LABELED: dict[int, tuple[float, str]] = {}  # image id -> (when its first label was answered 201, by whom)
ANSWERS: dict[int, set] = {}  # image id -> the classes given to it
FRESHNESS = {"answers_checked": 0, "stale_seconds": []}


def photo() -> bytes:
    """A small photo of its own bytes (never a duplicate): a random-noise 96 x 96 JPEG."""
    pixels = bytes(random.getrandbits(8) for _ in range(96 * 96 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (96, 96), pixels).save(out, format="JPEG", quality=85)
    return out.getvalue()


class Student(HttpUser):
    wait_time = between(1, 3)  # a student looks at the answer before the next action

    def on_start(self):
        with _lock:
            token = next(_tokens)
        self.client.headers["Authorization"] = f"Token {token}"
        self.token = token
        self.mine: list[int] = []

    @task(3)
    def upload(self):
        response = self.client.post(
            "/api/v1/images/", data={"project": SEED["project"]}, files={"file": ("foto.jpg", photo(), "image/jpeg")},
            name="POST /api/v1/images/",
        )
        if response.status_code == 201:
            image_id = response.json()["id"]
            self.mine.append(image_id)
            with _lock:
                UPLOADED.append(image_id)

    @task(3)
    def label(self):
        queue = self.client.get(
            f"/api/v1/projects/{SEED['project']}/labeling-queue/?limit=1", name="GET /api/v1/projects/<slug>/labeling-queue/"
        )
        if queue.status_code != 200:
            return
        items = queue.json()["results"]
        if not items:
            return
        image_id = items[0]["image"]
        answer = random.choice(SEED["classes"])
        with _lock:
            ANSWERS.setdefault(image_id, set()).add(answer)  # before the request: its effect may come first
        labeled = self.client.post(
            f"/api/v1/images/{image_id}/labels/", json={"label": answer}, name="POST /api/v1/images/<id>/labels/",
        )
        if labeled.status_code == 201:
            with _lock:
                LABELED.setdefault(image_id, (time.monotonic(), self.token))

    @task(1)
    def check_freshness(self):
        """Look at the next five photos: one a classmate labeled must not come before one nobody labeled."""
        asked = time.monotonic()
        queue = self.client.get(
            f"/api/v1/projects/{SEED['project']}/labeling-queue/?limit=5", name="GET /api/v1/projects/<slug>/labeling-queue/"
        )
        if queue.status_code != 200:
            return
        ids = [item["image"] for item in queue.json()["results"]]
        with _lock:
            FRESHNESS["answers_checked"] += 1
            unlabeled = [k for k, i in enumerate(ids) if i not in LABELED]
            for k, image_id in enumerate(ids):
                labeled_at, by = LABELED.get(image_id, (None, None))
                agreed = len(ANSWERS.get(image_id, ())) == 1
                if (labeled_at is not None and by != self.token and labeled_at < asked and agreed and unlabeled
                        and k < unlabeled[-1]):
                    FRESHNESS["stale_seconds"].append(round(asked - labeled_at, 3))

    @task(2)
    def analyse(self):
        if not self.mine:
            return
        self.client.get(f"/api/v1/images/{random.choice(self.mine)}/analysis/", name="GET /api/v1/images/<id>/analysis/")


@events.test_stop.add_listener
def _write_uploads(**_kwargs):
    with open(os.environ["RIIM_LOAD_UPLOADS"], "w") as out:
        json.dump(sorted(set(UPLOADED)), out)
    if os.environ.get("RIIM_LOAD_FRESHNESS"):
        with open(os.environ["RIIM_LOAD_FRESHNESS"], "w") as out:
            json.dump(FRESHNESS, out)
