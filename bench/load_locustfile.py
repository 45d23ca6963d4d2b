"""Locust users for bench/load_bench.py: students uploading, labeling and analysing.

Reads RIIM_LOAD_TOKENS (a JSON file: {"project": slug, "classes": [...], "tokens": [...]}) and writes
the ids of the uploads answered 201 to RIIM_LOAD_UPLOADS when the run stops.
"""
import io
import itertools
import json
import os
import random
import threading

from locust import HttpUser, between, events, task
from PIL import Image

SEED = json.loads(open(os.environ["RIIM_LOAD_TOKENS"]).read())
_tokens = itertools.cycle(SEED["tokens"])
_lock = threading.Lock()
UPLOADED: list[int] = []


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
        self.client.post(
            f"/api/v1/images/{image_id}/labels/", json={"label": random.choice(SEED["classes"])},
            name="POST /api/v1/images/<id>/labels/",
        )

    @task(2)
    def analyse(self):
        if not self.mine:
            return
        self.client.get(f"/api/v1/images/{random.choice(self.mine)}/analysis/", name="GET /api/v1/images/<id>/analysis/")


@events.test_stop.add_listener
def _write_uploads(**_kwargs):
    with open(os.environ["RIIM_LOAD_UPLOADS"], "w") as out:
        json.dump(sorted(set(UPLOADED)), out)
