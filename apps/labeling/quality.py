"""Label quality of a project: agreement between people, each student's reliability, likely-wrong labels.

``label_quality(project)`` is the one entry point (the labeling API, the review page, the lab
and the gradebook read it); its return shape, ``LabelQuality``, is kept stable:

- ``alpha``: nominal Krippendorff's alpha over every person's latest answer ("none of these"
  included as an answer), on photos with at least two answers; None when undefined.
- ``alpha_per_class``: {class: alpha of "this class or not"}.
- ``images_with_multiple_labels``: photos with answers from two or more people.
- ``students``: one ``StudentQuality`` per student of the project (members and anyone who labeled
  as a student), by username.
- ``suspects``: ``SuspectLabel`` rows, most suspect first, for photos whose counted label was not
  given by the teacher; empty while the project has no cached embeddings. Photos of the sealed
  test share are never judged by the model (correcting only the labels it disagrees with would move
  the test photos towards it); people's disagreements there reach the teacher as plain disagreements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model

from apps.labeling.models import Label
from apps.projects.models import Membership
from apps.uploads.splits import TEST, TRAIN

SUSPECTS_MAX = 100  # rows the review page lists at once


@dataclass(frozen=True)
class StudentQuality:
    user_id: int
    username: str
    labels: int  # photos the student has an answer on now
    agreement: float | None  # share of answers equal to the other people's majority (None: nothing to compare)
    gold_accuracy: float | None  # share of answers equal to the teacher's label, on photos the teacher labeled


@dataclass(frozen=True)
class SuspectLabel:
    image_id: int
    label: str  # the label that counts now
    suggested: str  # the class the quick model gives it without having seen its label
    score: float  # 1 - that model's probability of the given label: higher is more suspect


@dataclass(frozen=True)
class LabelQuality:
    alpha: float | None
    alpha_per_class: dict = field(default_factory=dict)
    images_with_multiple_labels: int = 0
    students: list = field(default_factory=list)
    suspects: list = field(default_factory=list)
    # Test photos whose people disagree: {"image_id", "answers": {answer: count}}; no model's opinion.
    test_disagreements: list = field(default_factory=list)

    def student(self, user_id: int) -> StudentQuality | None:
        return next((row for row in self.students if row.user_id == user_id), None)


def _latest_rows(project):
    """Return each author's latest non-withdrawn answer per photo: [(image, author, answer, source)]."""
    seen, rows = set(), []
    labels = Label.objects.filter(image__project=project).order_by("-created_at", "-id")
    for image_id, author_id, answer, source in labels.values_list("image_id", "author_id", "label", "source"):
        if (image_id, author_id) in seen:
            continue
        seen.add((image_id, author_id))
        if answer:
            rows.append((image_id, author_id, answer, source))
    return rows


def _suspects(project) -> list[SuspectLabel]:
    from django.core.cache import cache

    from apps.labeling.queue import embeddings_by_image, state_key

    embeddings = embeddings_by_image(project)
    if not embeddings:
        return []
    # Out-of-fold fits take seconds on a large project: reuse them until a label or an embedding changes.
    key = f"labeling:suspects:{state_key(project, embeddings)}"
    cached = cache.get(key)
    if cached is None:
        cached = _suspects_compute(project, embeddings)
        cache.set(key, cached, 3600)
    return cached


def _suspects_compute(project, embeddings) -> list[SuspectLabel]:
    from apps.labeling.queue import embeddings_by_image
    from ml.label_quality import label_issues, out_of_fold_probabilities

    classes = list(project.classes)
    judged = project.images.filter(label__in=classes).exclude(split=TEST).order_by("pk")
    rows = [(pk, label, source) for pk, label, source in judged.values_list("pk", "label", "label_source")
            if pk in embeddings]
    if not rows:
        return []
    y = np.array([classes.index(label) for _, label, _ in rows], np.int64)
    mirrors = embeddings_by_image(project, mirror=True) or {}
    mirror = np.stack([mirrors[pk] for pk, _, _ in rows]) if all(pk in mirrors for pk, _, _ in rows) else None
    probabilities = out_of_fold_probabilities(np.stack([embeddings[pk] for pk, _, _ in rows]), y, len(classes),
                                              mirror=mirror)
    if probabilities is None:
        return []
    issues = label_issues(y, probabilities)
    suspects = []
    for i in issues.order:
        pk, label, source = rows[i]
        if not issues.flagged[i] or source == Label.Source.TEACHER:  # the teacher's word is final
            continue
        suspects.append(SuspectLabel(pk, label, classes[int(issues.suggested[i])], round(float(issues.score[i]), 4)))
        if len(suspects) == SUSPECTS_MAX:
            break
    return suspects


def label_quality(project, *, suspects: bool = True) -> LabelQuality:
    """Return the project's label quality (see the module docstring for the shape)."""
    from ml.label_quality import agreement_with_others, alpha_per_class, krippendorff_alpha

    classes = list(project.classes)
    answers = [*classes, Label.NONE_OF_THESE]
    rows = [row for row in _latest_rows(project) if row[3] != Label.Source.IMPORT and row[2] in answers]
    images = sorted({row[0] for row in rows})
    people = sorted({row[1] for row in rows})
    table = np.full((len(people), len(images)), np.nan)
    column = {pk: i for i, pk in enumerate(images)}
    person = {pk: i for i, pk in enumerate(people)}
    gold: dict[int, str] = {}
    for image_id, author_id, answer, source in rows:
        table[person[author_id], column[image_id]] = answers.index(answer)
        if source == Label.Source.TEACHER:
            gold[image_id] = answer
    per_class = alpha_per_class(table, len(classes)) if len(people) >= 2 else [None] * len(classes)
    agreement = agreement_with_others(table) if people else []

    student_ids = set(project.memberships.filter(role=Membership.Role.STUDENT).values_list("user_id", flat=True))
    student_ids |= {row[1] for row in rows if row[3] == Label.Source.STUDENT}
    names = dict(get_user_model().objects.filter(pk__in=student_ids).values_list("pk", "username"))
    students = []
    for user_id in sorted(student_ids, key=lambda pk: names.get(pk, "")):
        mine = [(image_id, answer) for image_id, author_id, answer, _ in rows if author_id == user_id]
        graded = [answer == gold[image_id] for image_id, answer in mine if image_id in gold]
        students.append(StudentQuality(
            user_id=user_id,
            username=names.get(user_id, ""),
            labels=len(mine),
            agreement=agreement[person[user_id]] if user_id in person else None,
            gold_accuracy=sum(graded) / len(graded) if graded else None,
        ))
    test_ids = set(project.images.filter(split=TEST, pk__in=images).values_list("pk", flat=True))
    return LabelQuality(
        test_disagreements=_disagreements(rows, test_ids),
        alpha=krippendorff_alpha(table),
        alpha_per_class=dict(zip(classes, per_class, strict=True)),
        images_with_multiple_labels=int((np.sum(~np.isnan(table), axis=0) >= 2).sum()) if len(images) else 0,
        students=students,
        suspects=_suspects(project) if suspects else [],
    )


def _disagreements(rows, image_ids: set) -> list[dict]:
    """Photos among ``image_ids`` where people's latest answers differ, most divided first, with the answer counts."""
    answers: dict[int, dict[str, int]] = {}
    for image_id, _author, answer, _source in rows:
        if image_id in image_ids:
            counts = answers.setdefault(image_id, {})
            counts[answer] = counts.get(answer, 0) + 1
    divided = [{"image_id": pk, "answers": counts} for pk, counts in answers.items() if len(counts) > 1]
    return sorted(divided, key=lambda row: (max(row["answers"].values()) / sum(row["answers"].values()), row["image_id"]))


@dataclass(frozen=True)
class LabelingCurve:
    """What the class's labels did: the quick head's sealed test accuracy against labels used, and after fixing suspects.

    A report only: no decision reads it.
    """

    points: list  # [{"labels": n, "accuracy": a}], labels in the order they were first given
    test_n: int
    now: float | None = None  # accuracy with every training label as it is
    fixed: float | None = None  # accuracy with the suspect labels replaced by the suggested class
    suspects: int = 0


CURVE_STEPS = 12  # points on the curve: each is one fit of the quick model


def labeling_curve(project) -> LabelingCurve | None:
    """Return the project's learning curve on the cached embeddings (None without embeddings or labeled test photos)."""
    from django.db.models import Min

    from apps.labeling.queue import embeddings_by_image
    from ml.label_quality import learning_curve

    embeddings = embeddings_by_image(project)
    if not embeddings:
        return None
    classes = list(project.classes)
    labeled = project.images.filter(label__in=classes)
    mirrors = embeddings_by_image(project, mirror=True) or embeddings
    test = [(pk, label) for pk, label in labeled.filter(split=TEST).values_list("pk", "label") if pk in embeddings]
    train = (labeled.filter(split=TRAIN).annotate(first=Min("labels__created_at")).order_by("first", "pk")
             .values_list("pk", "label"))
    train = [(pk, label) for pk, label in train if pk in embeddings]
    if len(test) < 2 or len(train) < 2:
        return None

    def arrays(rows):
        return (np.stack([embeddings[pk] for pk, _ in rows]), np.stack([mirrors.get(pk, embeddings[pk]) for pk, _ in rows]),
                np.array([classes.index(label) for _, label in rows], np.int64))

    x, xm, y = arrays(train)
    tx, txm, ty = arrays(test)
    steps = sorted({int(round(n)) for n in np.linspace(max(2, len(train) / CURVE_STEPS), len(train), CURVE_STEPS)})
    curve = dict(train_mirror=xm, test_mirror=txm, n_classes=len(classes))
    points = learning_curve(x, y, tx, ty, steps, **curve)
    now = points[-1]["accuracy"] if points and points[-1]["labels"] == len(train) else None
    suspects = {row.image_id: row.suggested for row in _suspects(project)}
    fixed = None
    if suspects and now is not None:
        fixed_y = np.array([classes.index(suspects.get(pk, label)) for pk, label in train], np.int64)
        fixed_points = learning_curve(x, fixed_y, tx, ty, [len(train)], **curve)
        fixed = fixed_points[0]["accuracy"] if fixed_points else None
    return LabelingCurve(points=points, test_n=len(test), now=now, fixed=fixed, suspects=len(suspects))
