from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.common.csv_writer import csv_writer
from apps.history.filters import AnalysisActivityFilter, AnalysisFilter, LabelActivityFilter, UploadActivityFilter
from apps.history.selectors import (
    analysis_activity,
    label_activity,
    my_analyses,
    my_labels,
    my_uploads,
    reviewable_projects,
    upload_activity,
)

PAGE_SIZE = 50


@login_required
def history_mine(request):
    """A student's own uploads and labels."""
    uploads = Paginator(my_uploads(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = my_labels(user=request.user)[:200]
    analyses_filter = AnalysisFilter(request.GET, queryset=my_analyses(user=request.user))
    _style(analyses_filter)
    analyses = Paginator(analyses_filter.qs, PAGE_SIZE).get_page(request.GET.get("analyses_page"))
    query = request.GET.copy()
    query.pop("analyses_page", None)
    return render(
        request,
        "history/mine.html",
        {"uploads": uploads, "labels": labels, "analyses": analyses, "analyses_filter": analyses_filter, "query": query.urlencode()},
    )


def _style(filterset):
    for field in filterset.form.fields.values():
        field.widget.attrs.setdefault("class", "form-select form-select-sm" if hasattr(field, "choices") else "form-control form-control-sm")


@login_required
def history_activity(request):
    """All activity of the projects the user reviews, filterable, paginated, exportable as CSV. Read-only."""
    projects = reviewable_projects(user=request.user)
    if not projects:
        raise Http404
    kind = request.GET.get("kind") if request.GET.get("kind") in ("uploads", "analyses") else "labels"
    if kind == "analyses":
        filterset = AnalysisActivityFilter(request.GET, queryset=analysis_activity(user=request.user).order_by("-created_at", "-id"))
    elif kind == "uploads":
        filterset = UploadActivityFilter(request.GET, queryset=upload_activity(user=request.user).order_by("-created_at", "-id"))
    else:
        filterset = LabelActivityFilter(request.GET, queryset=label_activity(user=request.user).order_by("-created_at", "-id"))
    for field in filterset.form.fields.values():
        field.widget.attrs.setdefault("class", "form-select form-select-sm" if hasattr(field, "choices") else "form-control form-control-sm")
    rows = filterset.qs
    if request.GET.get("format") == "csv":
        return _csv_response(kind, rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "history/activity.html",
        {"filter": filterset, "page": page, "kind": kind, "projects": projects, "query": query.urlencode()},
    )


def _csv_response(kind, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="riim-{kind}.csv"'
    writer = csv_writer(response)
    if kind == "analyses":
        writer.writerow(["created_at", "project", "student", "image_id", "model_version", "ran_on", "label", "confidence", "anomaly_score", "is_anomaly", "latency_ms"])
        for row in rows.iterator():
            writer.writerow([row.created_at.isoformat(), row.image.project.slug, row.image.uploader.username, row.image_id, row.model_version.number, row.ran_on, row.label, row.confidence, (row.anomaly or {}).get("score", ""), row.is_anomaly, row.latency_ms])
    elif kind == "uploads":
        writer.writerow(["created_at", "project", "uploader", "image_id", "original_name", "split", "label", "label_source"])
        for img in rows.iterator():
            writer.writerow([img.created_at.isoformat(), img.project.slug, img.uploader.username, img.pk, img.original_name, img.split, img.label, img.label_source])
    else:
        writer.writerow(["created_at", "project", "author", "image_id", "label", "tags", "source"])
        for row in rows.iterator():
            writer.writerow([row.created_at.isoformat(), row.image.project.slug, row.author.username, row.image_id, row.label, ";".join(row.tags), row.source])
    return response
