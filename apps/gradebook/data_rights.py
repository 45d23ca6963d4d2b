"""Students' data rights: download everything, delete one student's data, and the end-of-course retention.

Photos always leave through apps.uploads.deletion.images_delete, which removes every derived copy
and restores the files if anything fails. Here it is the last step of one transaction, so a
failure anywhere (before it or inside it) rolls back every other row written here as well:
nothing is left half-deleted.
"""
from __future__ import annotations

import datetime
import io
import json
import logging
import posixpath
import zipfile
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import PermissionDeniedError
from apps.gradebook.models import (
    AccessLog,
    AnalysisRequest,
    ContributionSnapshot,
    CoursePolicy,
    FeedbackEntry,
    QuizAnswer,
    ScoreEntry,
    VersionDataRemoval,
)
from apps.gradebook.selectors import gradebook_get, label_quality_figures
from apps.projects.access import can_manage
from apps.projects.models import Invitation, Membership
from apps.uploads.deletion import images_delete
from apps.uploads.models import Image, ImageDeletion

logger = logging.getLogger(__name__)

ONLY_TEACHER_DELETES = _("Only the project's teacher can delete a student's data.")


@dataclass(frozen=True)
class StudentDeletion:
    """What deleting one student's data removed."""

    images: int
    labels: int  # labels on their own photos and on classmates' photos
    versions_marked: int


def _mark_versions(*, project, image_ids: set[int], reason: str) -> int:
    """Mark the versions trained with these photos and drop the photos from their runs' dataset snapshots.

    A version's folder is immutable, so the mark lives in the database (VersionDataRemoval).
    """
    from apps.training.models import TrainingRun

    marked = 0
    for run in TrainingRun.objects.filter(project=project).exclude(dataset_snapshot=[]):
        kept = [row for row in run.dataset_snapshot if row[0] not in image_ids]
        removed = len(run.dataset_snapshot) - len(kept)
        if not removed:
            continue
        TrainingRun.objects.filter(pk=run.pk).update(dataset_snapshot=kept)
        version = getattr(run, "model_version", None)
        if version is not None:
            VersionDataRemoval.objects.create(model_version=version, images_removed=removed, reason=reason)
            marked += 1
    return marked


def student_data_delete(*, project, student, actor) -> StudentDeletion:
    """Delete everything of one student in the project (the project's teacher only); all or nothing.

    Their photos with every derived copy, their labels (also on classmates' photos, whose label
    that counts is then recomputed), their analysis requests, quiz answers, lab experiments,
    scores, feedback, access-log lines and membership. Versions trained with their photos are marked.
    """
    from apps.lab.models import LabExperiment
    from apps.labeling.models import Label
    from apps.labeling.services import image_label_resolve

    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_DELETES)
    images = list(Image.objects.filter(project=project, uploader=student).values_list("pk", flat=True))
    with transaction.atomic():
        others = Label.objects.filter(image__project=project, author=student).exclude(image_id__in=images)
        touched = set(others.values_list("image_id", flat=True))
        labels = others.delete()[0]
        for image in Image.objects.filter(pk__in=touched):
            image_label_resolve(image=image)
        marked = _mark_versions(project=project, image_ids=set(images), reason="student")
        AnalysisRequest.objects.filter(project=project, requester=student).delete()
        QuizAnswer.objects.filter(project=project, user=student).delete()
        LabExperiment.objects.filter(project=project, requested_by=student).delete()
        ScoreEntry.objects.filter(project=project, student=student).delete()
        FeedbackEntry.objects.filter(project=project, student=student).delete()
        AccessLog.objects.filter(project=project, student=student).delete()
        ContributionSnapshot.objects.filter(project=project, student=student).delete()
        Invitation.objects.filter(project=project, username=student.username).delete()
        Membership.objects.filter(project=project, user=student).delete()
        for record in ImageDeletion.objects.filter(project=project).exclude(uploaders=[]).only("pk", "uploaders"):
            if student.username in record.uploaders:  # JSON "contains" is not portable to SQLite
                record.uploaders = [name for name in record.uploaders if name != student.username]
                record.save(update_fields=["uploaders"])
        # Last: it removes the files, and restores them if it fails, so the rows above roll back with it.
        report = images_delete(images=images, actor=actor, reason="student-data")
        labels += report.labels
        if report.record_id:
            ImageDeletion.objects.filter(pk=report.record_id).update(uploaders=[])
    return StudentDeletion(images=report.images, labels=labels, versions_marked=marked)


def retention_due(policy: CoursePolicy) -> datetime.date | None:
    """Return the day the project's photos are deleted (None: no course end date set)."""
    if policy.course_end is None:
        return None
    try:
        return policy.course_end + datetime.timedelta(days=policy.retention_days)
    except OverflowError:  # a period beyond the calendar (only the admin can set one): never
        return None


def retention_warning(*, project, today: datetime.date | None = None) -> datetime.date | None:
    """Return the deletion day when the teacher should be warned now (within ``warn_days``), else None."""
    policy = CoursePolicy.objects.filter(project=project).first()
    if policy is None or policy.purged_at is not None:
        return None
    due = retention_due(policy)
    today = today or timezone.localdate()
    if due is None or (due - today).days > policy.warn_days:
        return None
    return due


def project_retention_run(*, policy: CoursePolicy) -> int:
    """Delete a project's photos and everything derived from them, keeping the gradebook; return how many photos.

    The students' contribution counts are kept as snapshots first (in the same transaction).
    """
    project = policy.project
    book = gradebook_get(project=project)
    quality = label_quality_figures(project=project)
    images = list(Image.objects.filter(project=project).values_list("pk", flat=True))
    with transaction.atomic():
        for row in book.students:
            ContributionSnapshot.objects.update_or_create(
                project=project,
                student_id=row.user_id,
                defaults={
                    "figures": {
                        "uploads": row.uploads or 0,
                        "labels": row.labels or 0,
                        "quality": quality.get(row.username) or {},
                    }
                },
            )
        _mark_versions(project=project, image_ids=set(images), reason="retention")
        from apps.training.models import TrainingRun

        TrainingRun.objects.filter(project=project).update(dataset_snapshot=[])
        CoursePolicy.objects.filter(pk=policy.pk).update(purged_at=timezone.now())
        report = images_delete(images=images, actor=None, reason="retention")
    return report.images


def retention_sweep(*, today: datetime.date | None = None) -> list[int]:
    """Run the retention of every project whose course ended more than its retention period ago; return their ids."""
    today = today or timezone.localdate()
    done = []
    for policy in CoursePolicy.objects.filter(course_end__isnull=False, purged_at__isnull=True).select_related("project"):
        due = retention_due(policy)
        if due is None or due > today:
            continue
        try:
            project_retention_run(policy=policy)
            done.append(policy.project_id)
        except Exception:  # one project's failure must not stop the others; it is retried at the next sweep
            logger.exception("retention of project %s failed", policy.project_id)
    return done


def student_data_zip(*, project, student) -> bytes:
    """Return a zip of everything of the student in the project: photos, labels, analyses, grade and feedback."""
    from apps.inference.models import Analysis
    from apps.labeling.models import Label

    out = io.BytesIO()
    images = list(Image.objects.filter(project=project, uploader=student).order_by("pk"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for image in images:
            if image.file and default_storage.exists(image.file.name):
                with default_storage.open(image.file.name, "rb") as fh:
                    extension = posixpath.splitext(image.file.name)[1]
                    archive.writestr(f"photos/{image.pk}{extension}", fh.read())
        photos = [
            {"id": i.pk, "original_name": i.original_name, "uploaded_at": i.created_at.isoformat(), "label": i.label,
             "split": i.split, "width": i.width, "height": i.height}
            for i in images
        ]
        labels = [
            {"image": label.image_id, "label": label.label, "tags": label.tags, "source": label.source,
             "created_at": label.created_at.isoformat()}
            for label in Label.objects.filter(image__project=project, author=student).order_by("created_at", "id")
        ]
        analyses = [
            {"image": a.image_id, "model_version": a.model_version.number, "ran_on": a.ran_on, "label": a.label,
             "confidence": a.confidence, "predictions": a.predictions, "created_at": a.created_at.isoformat()}
            for a in Analysis.objects.filter(image__in=images).select_related("model_version").order_by("created_at", "id")
        ]
        requests = [
            {"image": r.image_id, "ran_on": r.ran_on, "created_at": r.created_at.isoformat()}
            for r in AnalysisRequest.objects.filter(project=project, requester=student).order_by("created_at", "id")
        ]
        quiz = [
            {"question": q.question, "option": q.option, "correct": q.correct, "created_at": q.created_at.isoformat()}
            for q in QuizAnswer.objects.filter(project=project, user=student).order_by("created_at", "id")
        ]
        book = gradebook_get(project=project, usernames=[student.username])
        row = book.students[0] if book.students else None
        grade = {
            "rubric": [{"id": c.pk, "name": c.name, "points": c.points} for c in book.rubric],
            "scores": row.scores if row else {},
            "total": row.total if row else None,
            "comment": row.comment if row else "",
        }
        files = {
            "photos.json": photos, "labels.json": labels, "analyses.json": analyses,
            "analysis_requests.json": requests, "quiz_answers.json": quiz, "grade.json": grade,
            "about.json": {"project": project.slug, "username": student.username, "exported_at": timezone.now().isoformat()},
        }
        for name, data in files.items():
            archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2))
    return out.getvalue()
