"""The order the labeling page asks for photos in: a strategy per project, the scores from ml.active_learning.

Rules, in this order:
1. Never a photo the user already answered (``none of these`` is an answer; an undone answer is not).
2. Held-out photos (the validation and the sealed test shares) form their own share of the queue
   (their fractions), in random order, so they stay unbiased samples and their scores honest: no
   strategy ranks them, and no fit reads their labels.
3. Photos that some people labeled but fewer than the project's "labels per image" come first,
   then the strategy's order; photos with enough labels wait behind every other photo, training
   and holdout alike, unless the strategy chose them for their conflicting labels.

A whole class asks at once, so a request never fits anything. The strategies' scores (the quick
classifier on the embeddings, the diverse strategy's k-means, the anomaly scores) form one
``QueueRanking`` of the project, built in the background (``labeling_queue_refresh_task``, on the
``quick`` queue) at most once per ``RIIM_QUEUE_REFRESH_SECONDS`` per project and shared by every
process through the configured cache. A request reads it and applies what changed since from the
database: the user's own answers, the labels given since (so a photo that has its labels leaves
everyone's queue at once), new photos (at random until the next refresh scores them), and
hidden or deleted ones.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from apps.labeling.models import Label
from apps.uploads.splits import TRAIN
from ml import active_learning as al

logger = logging.getLogger(__name__)

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
    "holdout": _("A photo kept out of training (validation or test), chosen at random: it is used to judge the model fairly."),
    al.UNCERTAINTY: _("The model hesitates between two classes on this photo: your label settles a case it finds hard."),
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


RANKING_TTL = 24 * 3600  # seconds a ranking stays in the cache: an old one still orders, requests refresh it
STOPGAP_TTL = 60  # the ranking a request builds without fitting while the first real one is on its way
SCHEDULE_SLACK = 120  # seconds a scheduled refresh may wait in its queue before another one is sent
BUILD_TTL = 600  # seconds a build may hold the project's build lock (a worker killed mid-build frees it then)
SCORED = (al.UNCERTAINTY, al.DIVERSE, al.DISAGREEMENT, al.ANOMALY)  # the strategies ranked in the background
# Anomaly scores compare every photo with every other (n² work, seconds at 10,000 photos) and move only
# as photos arrive, not as labels do: a build reuses the previous ones for this long.
ANOMALY_REUSE_SECONDS = 60
ANOMALY_CHUNK = 512  # candidates scored at once: a chunk's distance matrix stays a few tens of MB


@dataclass(frozen=True)
class QueueRanking:
    """The strategies' order of a project's photos, the same for every student; built in the background."""

    built_at: float  # time.time() when the build started
    last_label_id: int  # labels up to this id are counted in answer_counts
    last_image_id: int  # photos up to this id are in image_ids
    image_ids: np.ndarray  # int64, every visible photo by primary key
    holdout: np.ndarray  # bool, aligned with image_ids
    answer_counts: np.ndarray  # int, how many people had answered each photo
    streams: dict = field(default_factory=dict)  # strategy -> (positions into image_ids, scores), best first
    anomaly_at: float = 0.0  # when the anomaly stream was computed (it may come from an earlier build)
    complete: bool = True  # False: built in a request, without embeddings or fits, until the real one lands


@dataclass
class _Signals:
    """What the strategies score with, gathered once per build."""

    project: object
    answers: dict
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
    """Score every embedded photo with the quick head (``ml.quick``) fitted on the labeled training photos.

    Validation and test labels are never read: the ranking is a decision.
    """
    from ml import quick

    if not signals.embeddings:
        return None
    classes = list(signals.project.classes)
    labeled = dict(
        signals.project.images.filter(split=TRAIN, label__in=classes).values_list("pk", "label")
    )
    ids = [i for i in labeled if i in signals.embeddings]
    y = np.array([classes.index(labeled[i]) for i in ids], np.int64)
    if len(ids) < 4 or len(np.unique(y)) < len(classes):
        return None
    mirrors = embeddings_by_image(signals.project, mirror=True) or signals.embeddings

    def views(keys):
        return (np.stack([signals.embeddings[i] for i in keys]),
                np.stack([mirrors.get(i, signals.embeddings[i]) for i in keys]))

    head = quick.fit_quick_head(*views(ids), y, len(classes))
    others = list(signals.embeddings)
    probabilities = head.predict_proba(*views(others))
    return dict(zip(others, probabilities, strict=True))


def _diverse_order(signals: _Signals, ids: list[int]) -> list[tuple[int, float]]:
    """Return the typical photos of regions no label covers yet, best first."""
    if not signals.embeddings:
        return []
    open_ids = [i for i in ids if i in signals.embeddings and i not in signals.answers]
    if not open_ids:
        return []
    covered = [signals.embeddings[i] for i in signals.answers if i in signals.embeddings]
    order, typical = al.typical_diverse(np.stack([signals.embeddings[i] for i in open_ids]),
                                        np.stack(covered) if covered else None, DIVERSE_MAX)
    return [(open_ids[k], float(t)) for k, t in zip(order, typical, strict=True)]


def _ranked(ids: list[int], scores) -> list[tuple[int, float]]:
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind="stable")
    return [(ids[i], float(scores[i])) for i in order]


def _strategy_scores(strategy: str, ids: list[int], signals: _Signals) -> list[tuple[int, float]]:
    """Return the photos of ``ids`` the strategy can score, best first, with their scores."""
    if not ids:
        return []
    if strategy == al.UNCERTAINTY:
        probabilities = signals.probabilities()
        known = [i for i in ids if i in probabilities]
        return _ranked(known, al.margin_scores(np.stack([probabilities[i] for i in known]))) if known else []
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
        return _ranked([ids[k] for k in keep], scores[keep])
    if strategy == al.ANOMALY:
        if signals.embeddings:
            known = [i for i in ids if i in signals.embeddings]
            if known:
                reference = np.stack(list(signals.embeddings.values()))
                scores = np.concatenate([
                    al.anomaly_scores(np.stack([signals.embeddings[i] for i in known[k:k + ANOMALY_CHUNK]]), reference)
                    for k in range(0, len(known), ANOMALY_CHUNK)])
                return _ranked(known, scores)
        anomaly = signals.anomaly()
        known = [i for i in ids if i in anomaly]
        return _ranked(known, [anomaly[i] for i in known]) if known else []
    if strategy == al.DIVERSE:
        return _diverse_order(signals, ids)
    raise ValueError(strategy)


def embeddings_by_image(project, *, mirror: bool = False) -> dict[int, np.ndarray] | None:
    """Return the project's cached image embeddings by image id, or None while there are none.

    Only what the cache already holds (photos are embedded when processed): nothing waits for the
    backbone. No pretrained weights means no embeddings, and the strategies fall back. With
    ``mirror`` the embeddings of the mirrored photos instead. The process keeps the matrix and
    reads only new rows (``apps.labeling.embedding_store``).
    """
    from apps.labeling.embedding_store import store

    matrix = store.get(project)
    if matrix is None:
        return None
    return {int(i): row for i, row in zip(matrix.image_ids, matrix.x_mirror if mirror else matrix.x, strict=True)}


def queue_ranking_build(project, *, fit: bool = True, previous: QueueRanking | None = None) -> QueueRanking:
    """Rank the project's photos under every strategy; without ``fit`` no embeddings are read and nothing is fitted.

    A ``previous`` ranking's anomaly scores are reused while they are recent (``ANOMALY_REUSE_SECONDS``).
    """
    built_at = time.time()
    # Read the high-water marks first: anything written after them is applied by the requests as a change.
    last_label_id = Label.objects.filter(image__project=project).order_by("-pk").values_list("pk", flat=True).first() or 0
    last_image_id = project.images.order_by("-pk").values_list("pk", flat=True).first() or 0
    images = list(project.images.filter(hidden=False, pk__lte=last_image_id).order_by("pk").values_list("pk", "split"))
    answers = latest_answers(project)
    image_ids = np.array([pk for pk, _split in images], np.int64)
    position = {pk: k for k, (pk, _split) in enumerate(images)}
    signals = _Signals(project=project, answers=answers, embeddings=embeddings_by_image(project) if fit else None)
    train = [pk for pk, split in images if split == TRAIN]
    streams = {}
    anomaly_at = built_at
    reuse = fit and previous is not None and previous.complete and built_at - previous.anomaly_at < ANOMALY_REUSE_SECONDS
    for strategy in SCORED:
        if strategy == al.DIVERSE and not fit:
            continue
        if strategy == al.ANOMALY and reuse and al.ANOMALY in previous.streams:
            positions, scores = previous.streams[al.ANOMALY]
            ids = previous.image_ids[positions]
            keep = np.isin(ids, np.array(train, np.int64))
            streams[strategy] = (np.searchsorted(image_ids, ids[keep]), scores[keep])
            anomaly_at = previous.anomaly_at
            continue
        scored = _strategy_scores(strategy, train, signals)
        streams[strategy] = (np.array([position[i] for i, _score in scored], np.int64),
                             np.array([score for _i, score in scored], np.float64))
    return QueueRanking(
        built_at=built_at, last_label_id=last_label_id, last_image_id=last_image_id, image_ids=image_ids,
        holdout=np.array([split != TRAIN for _pk, split in images], bool),
        answer_counts=np.array([len(answers.get(pk, {})) for pk, _split in images], np.int64),
        streams=streams, anomaly_at=anomaly_at, complete=fit,
    )


def _ranking_key(project) -> str:
    return f"labeling:ranking:{project.pk}:{zlib.crc32(','.join(project.classes).encode())}"


def _schedule_key(project_id: int) -> str:
    return f"labeling:ranking-scheduled:{project_id}"


def _started_key(project_id: int) -> str:
    return f"labeling:ranking-started:{project_id}"


def _building_key(project_id: int) -> str:
    return f"labeling:ranking-building:{project_id}"


def labeling_queue_refresh(*, project_id: int) -> QueueRanking | None:
    """Build the project's ranking and share it through the cache (what the background task runs)."""
    from django.core.cache import cache

    from apps.projects.models import Project

    if not cache.add(_building_key(project_id), 1, BUILD_TTL):
        # Another worker is building it: this one's changes may have come too late for it, so build again later.
        cache.delete(_schedule_key(project_id))
        labeling_queue_refresh_schedule(project_id=project_id, not_before=1.0)
        return None
    try:
        cache.set(_started_key(project_id), time.time(), RANKING_TTL)
        # After the start is recorded: a change that lands during this build schedules the next one.
        cache.delete(_schedule_key(project_id))
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            return None
        ranking = queue_ranking_build(project, previous=cache.get(_ranking_key(project)))
        cache.set(_ranking_key(project), ranking, RANKING_TTL)
        return ranking
    finally:
        cache.delete(_building_key(project_id))


def labeling_queue_refresh_schedule(*, project_id: int, not_before: float = 0.0) -> bool:
    """Ask for a refresh of the project's ranking unless one is already asked for; return whether one was sent.

    It runs ``RIIM_QUEUE_REFRESH_SECONDS`` after the previous build started (at once when that is past),
    so a project is refitted at most once per interval however many requests and labels arrive.
    """
    from django.core.cache import cache

    from apps.labeling.tasks import labeling_queue_refresh_task

    interval = settings.RIIM_QUEUE_REFRESH_SECONDS
    if not cache.add(_schedule_key(project_id), 1, int(interval) + SCHEDULE_SLACK):
        return False
    started = cache.get(_started_key(project_id))
    delay = 0.0 if started is None else min(interval, max(0.0, interval - (time.time() - started)))
    delay = max(delay, not_before)
    try:
        labeling_queue_refresh_task.apply_async((project_id,), countdown=delay)
    except Exception:  # broker down: the requests keep the last ranking and ask again later
        cache.delete(_schedule_key(project_id))
        logger.warning("labeling queue refresh of project %s not sent", project_id, exc_info=True)
        return False
    return True


def queue_ranking(project) -> QueueRanking:
    """Return the project's shared ranking; when the cache has none, ask for one and order without fitting meanwhile."""
    from django.core.cache import cache

    key = _ranking_key(project)
    ranking = cache.get(key)
    if ranking is None:
        labeling_queue_refresh_schedule(project_id=project.pk)
        ranking = cache.get(key)  # a worker running eagerly (tests, development) built it already
    if ranking is None:
        ranking = queue_ranking_build(project, fit=False)
        cache.add(key, ranking, STOPGAP_TTL)  # never over a real ranking that landed meanwhile
    return ranking


def _my_answers(project, user) -> set[int]:
    """Return the photos the user answered: their latest label on each is not withdrawn."""
    mine, seen = set(), set()
    rows = Label.objects.filter(image__project=project, author=user).order_by("-created_at", "-id")
    for image_id, label in rows.values_list("image_id", "label"):
        if image_id in seen:
            continue
        seen.add(image_id)
        if label:
            mine.add(image_id)
    return mine


def _answer_counts_since(project, last_label_id: int) -> dict[int, int]:
    """Return how many people answer each photo labeled (or unlabeled) after ``last_label_id``, now."""
    changed = set(Label.objects.filter(image__project=project, pk__gt=last_label_id).values_list("image_id", flat=True))
    if not changed:
        return {}
    answers: dict[int, dict[int, str]] = {i: {} for i in changed}
    seen = set()
    for image_id, author_id, label in (Label.objects.filter(image_id__in=changed).order_by("-created_at", "-id")
                                       .values_list("image_id", "author_id", "label")):
        if (image_id, author_id) in seen:
            continue
        seen.add((image_id, author_id))
        if label:
            answers[image_id][author_id] = label
    return {i: len(by) for i, by in answers.items()}


@dataclass
class _View:
    """One user's view of a ranking: every photo with its current count, and which they may get."""

    image_ids: np.ndarray
    holdout: np.ndarray
    groups: np.ndarray  # 0: short of labels, 1: to label, 2: has its labels
    allowed: np.ndarray  # bool: not answered by the user, not excluded
    random_scores: np.ndarray


@dataclass(frozen=True)
class _Changes:
    """What the database says that the ranking does not know yet."""

    answer_counts: dict[int, int]  # photo -> how many people answer it now, for photos labeled since
    new: list[tuple[int, str]]  # (pk, split) of visible photos added since

    def __bool__(self) -> bool:
        return bool(self.answer_counts or self.new)


def _changes(project, ranking: QueueRanking) -> _Changes:
    new = list(project.images.filter(pk__gt=ranking.last_image_id, hidden=False).order_by("pk").values_list("pk", "split"))
    return _Changes(_answer_counts_since(project, ranking.last_label_id), new)


def _view(project, ranking: QueueRanking, changes: _Changes, strategy: str, taken: set[int], seed: int) -> _View:
    """Return the user's view of the ranking with the changes applied."""
    new = changes.new
    image_ids = np.concatenate([ranking.image_ids, np.array([pk for pk, _s in new], np.int64)])
    holdout = np.concatenate([ranking.holdout, np.array([s != TRAIN for _pk, s in new], bool)])
    counts = np.concatenate([ranking.answer_counts, np.zeros(len(new), np.int64)])
    if changes.answer_counts:
        changed = np.fromiter(changes.answer_counts, np.int64, len(changes.answer_counts))
        where = np.flatnonzero(np.isin(image_ids, changed))
        counts[where] = [changes.answer_counts[int(i)] for i in image_ids[where]]
    required = project.labels_per_image
    groups = np.where((counts > 0) & (counts < required), 0, np.where(counts >= required, 2, 1))
    if strategy in (al.MIX, al.DISAGREEMENT) and al.DISAGREEMENT in ranking.streams:
        # Photos with their labels stay among the rest when chosen for their conflicting labels.
        conflicting = ranking.streams[al.DISAGREEMENT][0]
        groups[conflicting] = np.where(groups[conflicting] == 2, 1, groups[conflicting])
    allowed = ~np.isin(image_ids, np.fromiter(taken, np.int64, len(taken)))
    return _View(image_ids, holdout, groups, allowed, al.random_scores(len(image_ids), seed))


def _stream_items(positions: np.ndarray, scores: np.ndarray, member: np.ndarray, code: str, view: _View,
                  most: int) -> list[QueueItem]:
    keep = member[positions]
    positions, scores = positions[keep][:most], scores[keep][:most]
    return [QueueItem(int(view.image_ids[p]), float(s), code) for p, s in zip(positions, scores, strict=True)]


def _random_items(member: np.ndarray, view: _View, most: int, exclude=None) -> list[QueueItem]:
    positions = np.flatnonzero(member if exclude is None else member & ~exclude)
    order = positions[np.argsort(-view.random_scores[positions], kind="stable")][:most]
    return [QueueItem(int(view.image_ids[p]), float(view.random_scores[p]), al.RANDOM) for p in order]


def _group_items(strategy: str, ranking: QueueRanking, view: _View, member: np.ndarray, most: int) -> list[QueueItem]:
    """Return up to ``most`` training photos of ``member`` in the strategy's order, the rest at random."""
    # A stream gives at most ``most`` items plus those another stream already gave.
    depth = 2 * most + 1
    if strategy == al.RANDOM:
        return _random_items(member, view, most)
    if strategy == al.MIX:
        names = list(dict.fromkeys(al.MIX_ROUND))
        streams = [(_random_items(member, view, depth) if name == al.RANDOM else
                    _stream_items(*ranking.streams[name], member, name, view, depth) if name in ranking.streams else [])
                   for name in names]
        shares = [al.MIX_ROUND.count(name) for name in names]
        return al.interleave(streams, shares, most, key=lambda item: item.image_id)
    if strategy not in ranking.streams:
        return _random_items(member, view, most)
    chosen = _stream_items(*ranking.streams[strategy], member, strategy, view, most)
    if len(chosen) == most:
        return chosen
    scored = np.zeros(len(view.image_ids), bool)
    scored[ranking.streams[strategy][0]] = True
    return chosen + _random_items(member, view, most - len(chosen), exclude=scored)


def _ordered(strategy: str, ranking: QueueRanking, view: _View, limit: int, share: float) -> list[QueueItem]:
    """Interleave training and holdout photos by the holdout share: first those still to label, then those with their labels."""
    answer = []
    for groups in ((0, 1), (2,)):
        train, holdout = [], []
        wanted = limit - len(answer)
        for group in groups:
            member = view.allowed & (view.groups == group)
            code = "needs_labels" if group == 0 else None
            if len(train) < wanted:
                items = _group_items(strategy, ranking, view, member & ~view.holdout, wanted - len(train))
                train += [QueueItem(i.image_id, i.score, code or i.reason_code) for i in items]
            if len(holdout) < wanted:
                items = _random_items(member & view.holdout, view, wanted - len(holdout))
                holdout += [QueueItem(i.image_id, i.score, code or "holdout") for i in items]
        answer += al.interleave([train, holdout], [1.0 - share, share], wanted, key=lambda item: item.image_id)
        if len(answer) >= limit:
            break
    return answer


def labeling_queue_ranked(*, project, user, strategy: str | None = None, limit: int | None = 20,
                          exclude=()) -> list[QueueItem]:
    """Return the next photos the user should label, best first, each with its score and reason."""
    strategy = strategy_validate(strategy or project.labeling_strategy)
    ranking = queue_ranking(project)
    changes = _changes(project, ranking)
    if changes or not ranking.complete:
        sent = labeling_queue_refresh_schedule(project_id=project.pk)
        if sent:  # a worker running eagerly (tests, development) has built it already
            ranking = queue_ranking(project)
            changes = _changes(project, ranking)
    mine = _my_answers(project, user)
    taken = mine | {int(i) for i in exclude}
    # The order changes as the user labels, and is the same on two loads of one page.
    seed = zlib.crc32(f"{project.pk}:{user.pk}:{len(mine)}".encode())
    for _attempt in range(3):
        view = _view(project, ranking, changes, strategy, taken, seed)
        wanted = limit if limit is not None else int(view.allowed.sum())
        items = _ordered(strategy, ranking, view, wanted, float(project.test_fraction + project.validation_fraction)) if wanted else []
        # Photos hidden or deleted since the ranking was built: drop them and fill their places.
        shown = set(project.images.filter(pk__in=[i.image_id for i in items], hidden=False).values_list("pk", flat=True))
        if len(shown) == len(items):
            break
        taken |= {i.image_id for i in items if i.image_id not in shown}
        labeling_queue_refresh_schedule(project_id=project.pk)
    return [i for i in items if i.image_id in shown]
