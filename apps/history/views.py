import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.history.filters import LabelActivityFilter, UploadActivityFilter
from apps.history.selectors import label_activity, my_labels, my_uploads, reviewable_projects, upload_activity

PAGE_SIZE = 50


@login_required
def history_mine(request):
    """A student's own uploads and labels."""
    uploads = Paginator(my_uploads(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = my_labels(user=request.user)[:200]
    return render(request, "history/mine.html", {"uploads": uploads, "labels": labels})


@login_required
def history_activity(request):
    """All activity of the projects the user reviews, filterable, paginated, exportable as CSV. Read-only."""
    projects = reviewable_projects(user=request.user)
    if not projects:
        raise Http404
    kind = "uploads" if request.GET.get("kind") == "uploads" else "labels"
    if kind == "uploads":
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
    writer = csv.writer(response)
    if kind == "uploads":
        writer.writerow(["created_at", "project", "uploader", "image_id", "original_name", "split", "label", "label_source"])
        for img in rows.iterator():
            writer.writerow([img.created_at.isoformat(), img.project.slug, img.uploader.username, img.pk, img.original_name, img.split, img.label, img.label_source])
    else:
        writer.writerow(["created_at", "project", "author", "image_id", "label", "tags", "source"])
        for row in rows.iterator():
            writer.writerow([row.created_at.isoformat(), row.image.project.slug, row.author.username, row.image_id, row.label, ";".join(row.tags), row.source])
    return response
