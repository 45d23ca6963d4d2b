"""The order the labeling page asks for photos in: a strategy per project, the scores from ml.active_learning.

Rules, in this order:
1. Never a photo the user already answered (``none of these`` is an answer; an undone answer is not).
2. Holdout photos form their own share of the queue (the project's holdout fraction), in random
   order, so the holdout stays an unbiased sample and its score honest: no strategy ranks them.
3. Photos that some people labeled but fewer than the project's "labels per image" come first,
   then the strategy's order, where photos with enough labels wait behind the rest unless the
   strategy chose them for their conflicting labels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from apps.labeling.models import Label
from ml import active_learning as al

UNKNOWN_STRATEGY = _("Unknown strategy “%(strategy)s”. Valid strategies: %(valid)s.")
STRATEGY_NAMES = {
    al.MIX: _("Mix of all strategies"),
    al.UNCERTAINTY: _("Where the model doubts most"),
    al.DISAGREEMENT: _("Where labels disagree"),
    al.ANOMALY: _("Unusual photos first"),
    al.DIVERSE: _("Photos that cover the variety"),
    al.RANDOM: _("Random order"),
}
# Why a photo is asked for, in the words a student reads on the labeling page.
REASONS = {
    "needs_labels": _("Other classmates already labeled this photo: your opinion is needed to confirm it."),
    "holdout": _("A photo of the holdout set, chosen at random: it is used to grade the model fairly."),
    al.UNCERTAINTY: _("The model hesitates between two classes on this photo: your label teaches it most."),
    al.DISAGREEMENT: _("Classmates gave different labels to this photo: your answer helps settle it."),
    al.ANOMALY: _("This photo looks unlike the others: check that it belongs in the project."),
    al.DIVERSE: _("This photo is unlike the ones already labeled: it helps the model see more variety."),
    al.RANDOM: _("A photo chosen at random, so the model also learns from ordinary cases."),
}
DIVERSE_MAX = 40  # typical photos chosen per change of the labels: two pages of queue, one k-means


@dataclass(frozen=True)
class QueueItem:
    """One photo in the queue: its score under the strategy that chose it and why it was chosen."""

    image_id: int
    score: float
    reason_code: str

    @property
    def reason(self) -> str:
        return str(REASONS[self.reason_code])


def strategy_validate(strategy: str) -> str:
    """Return the strategy or raise a 400 naming the valid ones."""
    if strategy not in al.STRATEGIES:
        raise ApplicationError(UNKNOWN_STRATEGY % {"strategy": strategy, "valid": ", ".join(al.STRATEGIES)})
    return strategy


def latest_answers(project) -> dict[int, dict[int, str]]:
    """Return {image id: {author id: answer}} from each author's latest, non-withdrawn label."""
    answers: dict[int, dict[int, str]] = {}
    seen = set()
    rows = Label.objects.filter(image__project=project).order_by("-created_at", "-id")
    for image_id, author_id, label in rows.values_list("image_id", "author_id", "label"):
        if (image_id, author_id) in seen:
            continue
        seen.add((image_id, author_id))
        if label:
            answers.setdefault(image_id, {})[author_id] = label
    return answers


@dataclass
class _Signals:
    """What the strategies score with, gathered once per request."""

    project: object
    answers: dict
    seed: int
    embeddings: dict | None = None  # image id -> vector, when the embeddings cache has them
    _probabilities: dict | None = None
    _anomaly: dict | None = None

    def probabilities(self) -> dict[int, np.ndarray]:
        """Class probabilities per image: the quick model on embeddings, else the active model's stored analyses."""
        if self._probabilities is None:
            self._probabilities = _quick_probabilities(self) or _analysis_probabilities(self.project)
        return self._probabilities

    def anomaly(self) -> dict[int, float]:
        if self._anomaly is None:
            self._anomaly = _analysis_anomaly(self.project)
        return self._anomaly


def _active_analyses(project):
    from apps.inference.models import Analysis
    from apps.training.selectors import model_version_active

    version = model_version_active(project=project)
    if version is None:
        return Analysis.objects.none()
    return Analysis.objects.filter(model_version=version, ran_on=Analysis.RanOn.SERVER)


def _analysis_probabilities(project) -> dict[int, np.ndarray]:
    classes = list(project.classes)
    result = {}
    for image_id, predictions in _active_analyses(project).values_list("image_id", "predictions"):
        by_label = {p.get("label"): float(p.get("probability", 0.0)) for p in predictions or []}
        result[image_id] = np.array([by_label.get(c, 0.0) for c in classes])
    return result


def _analysis_anomaly(project) -> dict[int, float]:
    result = {}
    for image_id, anomaly in _active_analyses(project).values_list("image_id", "anomaly"):
        if anomaly and anomaly.get("threshold"):
            result[image_id] = float(anomaly["score"]) / float(anomaly["threshold"])
    return result


def state_key(project, embeddings) -> str:
    """Return a key that changes whenever a label or an embedding of the project does."""
    last = Label.objects.filter(image__project=project).order_by("-id").values_list("id", flat=True).first()
    return f"{project.pk}:{last}:{len(embeddings)}:{sum(embeddings)}:{','.join(project.classes)}"


def _quick_probabilities(signals: _Signals) -> dict[int, np.ndarray] | None:
    """Score every embedded photo with the quick classifier fitted on the labeled ones (cached until labels change)."""
    from django.core.cache import cache

    if not signals.embeddings:
        return None
    key = f"labeling:quick:{state_key(signals.project, signals.embeddings)}"
    cached = cache.get(key)
    if cached is None:
        cached = _quick_probabilities_compute(signals) or {}
        cache.set(key, cached, 3600)
    return cached or None


def _quick_probabilities_compute(signals: _Signals) -> dict[int, np.ndarray] | None:
    from ml.label_quality import quick_classifier

    classes = list(signals.project.classes)
    labeled = dict(
        signals.project.images.filter(split="train", label__in=classes).values_list("pk", "label")
    )
    ids = [i for i in labeled if i in signals.embeddings]
    y = np.array([classes.index(labeled[i]) for i in ids], np.int64)
    if len(ids) < 4 or len(np.unique(y)) < len(classes):
        return None
    model = quick_classifier().fit(np.stack([signals.embeddings[i] for i in ids]), y)
    others = list(signals.embeddings)
    probabilities = model.predict_proba(np.stack([signals.embeddings[i] for i in others]))
    return dict(zip(others, probabilities, strict=True))


def _diverse_order(signals: _Signals) -> list[tuple[int, float]]:
    """Return the typical photos of regions no label covers yet, for the whole project (cached until labels change)."""
    from django.core.cache import cache

    if not signals.embeddings:
        return []
    key = f"labeling:diverse:{state_key(signals.project, signals.embeddings)}"
    cached = cache.get(key)
    if cached is None:
        holdout = set(signals.project.images.filter(split="holdout").values_list("pk", flat=True))
        open_ids = [i for i in signals.embeddings if i not in signals.answers and i not in holdout]
        covered = [signals.embeddings[i] for i in signals.answers if i in signals.embeddings]
        cached = []
        if open_ids:
            order, typical = al.typical_diverse(np.stack([signals.embeddings[i] for i in open_ids]),
                                                np.stack(covered) if covered else None, DIVERSE_MAX)
            cached = [(open_ids[k], float(t)) for k, t in zip(order, typical, strict=True)]
        cache.set(key, cached, 3600)
    return cached


def _ranked(ids: list[int], scores: np.ndarray, code: str) -> list[QueueItem]:
    order = np.argsort(-np.asarray(scores), kind="stable")
    return [QueueItem(ids[i], float(scores[i]), code) for i in order]


def _random(ids: list[int], seed: int) -> list[QueueItem]:
    return _ranked(ids, al.random_scores(len(ids), seed), al.RANDOM)


def _strategy_stream(strategy: str, ids: list[int], signals: _Signals) -> list[QueueItem]:
    """Return the photos the strategy can score, best first (possibly only some of ``ids``)."""
    if not ids:
        return []
    if strategy == al.UNCERTAINTY:
        probabilities = signals.probabilities()
        known = [i for i in ids if i in probabilities]
        if not known:
            return []
        return _ranked(known, al.margin_scores(np.stack([probabilities[i] for i in known])), al.UNCERTAINTY)
    if strategy == al.DISAGREEMENT:
        values = sorted({a for i in ids for a in signals.answers.get(i, {}).values()})
        if not values:
            return []
        votes = np.zeros((len(ids), len(values)))
        for row, i in enumerate(ids):
            for answer in signals.answers.get(i, {}).values():
                votes[row, values.index(answer)] += 1
        scores = al.disagreement_scores(votes)
        keep = np.flatnonzero(scores > 0)
        return _ranked([ids[k] for k in keep], scores[keep], al.DISAGREEMENT)
    if strategy == al.ANOMALY:
        if signals.embeddings:
            known = [i for i in ids if i in signals.embeddings]
            if known:
                reference = np.stack(list(signals.embeddings.values()))
                scores = al.anomaly_scores(np.stack([signals.embeddings[i] for i in known]), reference)
                return _ranked(known, scores, al.ANOMALY)
        anomaly = signals.anomaly()
        known = [i for i in ids if i in anomaly]
        return _ranked(known, np.array([anomaly[i] for i in known]), al.ANOMALY) if known else []
    if strategy == al.DIVERSE:
        wanted = set(ids)
        return [QueueItem(i, score, al.DIVERSE) for i, score in _diverse_order(signals) if i in wanted]
    return _random(ids, signals.seed)


def _strategy_order(strategy: str, ids: list[int], signals: _Signals) -> list[QueueItem]:
    """Return every photo of ``ids``: the strategy's choices first, then the rest at random."""
    if strategy == al.MIX:
        names = list(dict.fromkeys(al.MIX_ROUND))
        streams = [_strategy_stream(name, ids, signals) for name in names]
        shares = [al.MIX_ROUND.count(name) for name in names]
        chosen = al.interleave(streams, shares, len(ids), key=lambda item: item.image_id)
    else:
        chosen = _strategy_stream(strategy, ids, signals)
    taken = {item.image_id for item in chosen}
    return chosen + _random([i for i in ids if i not in taken], signals.seed)


def embeddings_by_image(project, *, mirror: bool = False) -> dict[int, np.ndarray] | None:
    """Return the project's cached image embeddings by image id, or None while there are none.

    Only what the cache already holds (photos are embedded when processed): a request never waits
    for the backbone. No pretrained weights means no embeddings, and the strategies fall back.
    With ``mirror`` the embeddings of the mirrored photos instead.
    """
    from apps.embeddings.selectors import project_embeddings

    try:
        cached = project_embeddings(project, fill=False)
    except ApplicationError:  # no pretrained weights on this server
        return None
    if len(cached.image_ids) == 0:
        return None
    return {int(i): row for i, row in zip(cached.image_ids, cached.x_mirror if mirror else cached.x, strict=True)}


def labeling_queue_ranked(*, project, user, strategy: str | None = None, limit: int | None = 20,
                          exclude=()) -> list[QueueItem]:
    """Return the next photos the user should label, best first, each with its score and reason."""
    strategy = strategy_validate(strategy or project.labeling_strategy)
    answers = latest_answers(project)
    images = [(pk, split) for pk, split in project.images.filter(hidden=False).order_by("pk").values_list("pk", "split")
              if user.pk not in answers.get(pk, {}) and pk not in exclude]
    if not images:
        return []
    # The order changes as the user labels, and is the same on two loads of one page.
    mine = sum(1 for by in answers.values() if user.pk in by)
    signals = _Signals(project=project, answers=answers, seed=zlib.crc32(f"{project.pk}:{user.pk}:{mine}".encode()))
    if strategy in (al.MIX, al.UNCERTAINTY, al.ANOMALY, al.DIVERSE):
        signals.embeddings = embeddings_by_image(project)
    required = project.labels_per_image

    def group(item: QueueItem) -> int:
        n = len(answers.get(item.image_id, {}))
        if 0 < n < required:
            return 0
        # Photos with enough labels wait behind the unlabeled ones, unless chosen because their labels conflict.
        return 2 if n >= required and item.reason_code != al.DISAGREEMENT else 1

    train = _strategy_order(strategy, [pk for pk, split in images if split != "holdout"], signals)
    holdout = [QueueItem(i.image_id, i.score, "holdout")
               for i in _random([pk for pk, split in images if split == "holdout"], signals.seed + 1)]
    train.sort(key=group)  # stable: the strategy's order within each group
    holdout.sort(key=group)
    for stream in (train, holdout):
        stream[:] = [QueueItem(i.image_id, i.score, "needs_labels") if group(i) == 0 else i for i in stream]
    share = float(project.holdout_fraction)
    return al.interleave([train, holdout], [1.0 - share, share], limit if limit is not None else len(images),
                         key=lambda item: item.image_id)
