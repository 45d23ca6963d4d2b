"""Each process's copy of its projects' embedding matrices: loaded once, then only the new rows are read.

The labeling queue's background refresh and the label-quality page read a project's embeddings
again and again while a class labels. Reading every row each time costs as much as the project
is large (and 1,280 values a photo with the EfficientNet-Lite backbones); here a process keeps the
matrix and, on each read, asks the database only for the rows written since (embedding rows get
increasing ids). Memory is bounded: projects are kept least recently used first, within
``RIIM_EMBEDDINGS_MEMORY_MB`` per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from apps.common.exceptions import ApplicationError


@dataclass
class _Matrix:
    """One project's embeddings under one backbone, rows aligned with ``image_ids``."""

    fingerprint: str
    image_ids: np.ndarray  # int64
    x: np.ndarray  # (n, d) float32
    x_mirror: np.ndarray  # (n, d) float32
    last_row_id: int  # the newest ImageEmbedding id read

    @property
    def nbytes(self) -> int:
        return self.image_ids.nbytes + self.x.nbytes + self.x_mirror.nbytes


class EmbeddingStore:
    """Projects' embedding matrices by project id, least recently used evicted beyond a cap in MB."""

    def __init__(self):
        self._matrices: OrderedDict[tuple, _Matrix] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn threads share the store
        self.full_reads = 0  # how many times a whole project was read (tests and benchmarks count them)

    def clear(self) -> None:
        with self._lock:
            self._matrices.clear()

    def get(self, project) -> _Matrix | None:
        """Return the project's current embeddings (None while it has none), reading only the new rows."""
        from apps.embeddings.models import ImageEmbedding

        key = _key(project)
        with self._lock:
            held = self._matrices.get(key)
        last = (ImageEmbedding.objects.filter(image__project=project).order_by("-pk")
                .values_list("pk", flat=True).first())
        if last is None:
            self._forget(key)
            return None
        if held is not None and held.last_row_id == last:
            matrix = held
        else:  # newer rows, or the newest was deleted (a full read then, like the first)
            matrix = self._read(project, held if held is not None and held.last_row_id < last else None, last)
        if matrix is None:
            self._forget(key)
            return None
        self._keep(key, matrix)
        return matrix

    def _read(self, project, held: _Matrix | None, last: int) -> _Matrix | None:
        from apps.embeddings.models import ImageEmbedding
        from apps.embeddings.selectors import project_embeddings

        try:
            if held is not None:
                new_ids = list(ImageEmbedding.objects.filter(image__project=project, pk__gt=held.last_row_id, pk__lte=last)
                               .values_list("image_id", flat=True))
                fresh = project_embeddings(project, image_ids=new_ids, fill=False)
                if fresh.fingerprint == held.fingerprint:
                    return _merged(held, fresh, last)
            self.full_reads += 1
            fresh = project_embeddings(project, fill=False)
        except ApplicationError:  # no pretrained weights on this server
            return None
        if len(fresh.image_ids) == 0:
            return None
        return _Matrix(fresh.fingerprint, fresh.image_ids, fresh.x, fresh.x_mirror, last)

    def _keep(self, key: tuple, matrix: _Matrix) -> None:
        cap = settings.RIIM_EMBEDDINGS_MEMORY_MB * 2**20
        with self._lock:
            self._matrices[key] = matrix
            self._matrices.move_to_end(key)
            # The project just read always stays, even alone over the cap: it is about to be used.
            while len(self._matrices) > 1 and sum(m.nbytes for m in self._matrices.values()) > cap:
                self._matrices.popitem(last=False)

    def _forget(self, key: tuple) -> None:
        with self._lock:
            self._matrices.pop(key, None)

    def memory_mb(self) -> float:
        with self._lock:
            return sum(m.nbytes for m in self._matrices.values()) / 2**20


def _key(project) -> tuple:
    # With its creation time: a database that hands out a deleted project's id again gets a new entry.
    return project.pk, project.created_at


def _merged(held: _Matrix, fresh, last: int) -> _Matrix:
    """Return ``held`` with the rows of ``fresh`` added (an image embedded again replaces its row)."""
    if len(fresh.image_ids) == 0:
        return _Matrix(held.fingerprint, held.image_ids, held.x, held.x_mirror, last)
    row = {int(i): k for k, i in enumerate(held.image_ids)}
    again = [(row[int(i)], k) for k, i in enumerate(fresh.image_ids) if int(i) in row]
    added = np.array([k for k, i in enumerate(fresh.image_ids) if int(i) not in row], np.int64)
    x, x_mirror = held.x, held.x_mirror
    if again:
        x, x_mirror = x.copy(), x_mirror.copy()
        old, new = (np.array(column, np.int64) for column in zip(*again, strict=True))
        x[old], x_mirror[old] = fresh.x[new], fresh.x_mirror[new]
    image_ids = np.concatenate([held.image_ids, fresh.image_ids[added]])
    x = np.concatenate([x, fresh.x[added]]) if len(added) else x
    x_mirror = np.concatenate([x_mirror, fresh.x_mirror[added]]) if len(added) else x_mirror
    order = np.argsort(image_ids, kind="stable")  # primary-key order, as project_embeddings returns them
    return _Matrix(held.fingerprint, image_ids[order], x[order], x_mirror[order], last)


store = EmbeddingStore()
