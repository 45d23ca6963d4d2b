from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from apps.common.csv_writer import csv_export_response
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
from apps.labeling.templatetags.labels import label_name as _label_name

PAGE_SIZE = 50


@login_required
def history_mine(request):
    """A student's own uploads and labels."""
    uploads = Paginator(my_uploads(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = my_labels(user=request.user)[:200]
    analyses_filter = AnalysisFilter(request.GET, queryset=my_analyses(user=request.user))
    _style(analyses_filter)
    # An unreadable filter is a 400 that names it, never silently dropped (as on the class activity page).
    valid = analyses_filter.is_valid()
    rows = analyses_filter.qs if valid else analyses_filter.queryset.none()
    analyses = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("analyses_page"))
    query = request.GET.copy()
    query.pop("analyses_page", None)
    return render(
        request,
        "history/mine.html",
        {"uploads": uploads, "labels": labels, "analyses": analyses, "analyses_filter": analyses_filter, "query": query.urlencode()},
        status=200 if valid else 400,
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
    kind = request.GET.get("kind") or "labels"
    errors = [] if kind in ACTIVITY_FILTERS else [_gettext("Unknown tab: %(kind)s.") % {"kind": kind}]
    kind = kind if kind in ACTIVITY_FILTERS else "labels"
    filter_class, selector = ACTIVITY_FILTERS[kind]
    filterset = filter_class(request.GET, queryset=selector(user=request.user).order_by("-created_at", "-id"))
    for field in filterset.form.fields.values():
        field.widget.attrs.setdefault("class", "form-select form-select-sm" if hasattr(field, "choices") else "form-control form-control-sm")
    # An invalid filter is reported (400, next to its field), never silently dropped from the query.
    if errors or not filterset.is_valid():
        rows = filterset.queryset.none()
        status = 400
    else:
        rows, status = filterset.qs, 200
    if request.GET.get("format") == "csv" and status == 200:
        return _csv_response(kind, rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "history/activity.html",
        {"filter": filterset, "page": page, "kind": kind, "projects": projects, "query": query.urlencode(),
         "tabs": _tab_queries(request.GET), "errors": errors},
        status=status,
    )


ACTIVITY_FILTERS = {
    "labels": (LabelActivityFilter, label_activity),
    "uploads": (UploadActivityFilter, upload_activity),
    "analyses": (AnalysisActivityFilter, analysis_activity),
}


def _tab_queries(params) -> dict:
    """Return each tab's query string, keeping the current filters that the tab also has."""
    tabs = {}
    for kind, (filter_class, _selector) in ACTIVITY_FILTERS.items():
        query = params.copy()
        for key in list(query):
            if key not in filter_class.base_filters:
                del query[key]
        query["kind"] = kind
        tabs[kind] = query.urlencode()
    return tabs


# Column headers of each export, in the reader's language; the analyses' person is whoever uploaded the photo.
CSV_HEADERS = {
    "analyses": [_("Date"), _("Project"), _("Uploaded by"), _("Image ID"), _("Model version"), _("Ran on"),
                 _("Predicted class"), _("Confidence"), _("Anomaly score"), _("Unusual"), _("Latency (ms)")],
    "uploads": [_("Date"), _("Project"), _("Uploaded by"), _("Image ID"), _("File name"), _("Split"), _("Class"),
                _("Label source")],
    "labels": [_("Date"), _("Project"), _("Author"), _("Image ID"), _("Class"), _("Tags"), _("Label source")],
}


def label_name(value):
    """Return a label as the export shows it: "none of these" in words, nothing when there is none."""
    return str(_label_name(value)) if value else ""


def _csv_rows(kind, rows):
    if kind == "analyses":
        for row in rows.iterator():
            yield [row.created_at, row.image.project.slug, row.image.uploader.username, row.image_id,
                   row.model_version.number, row.get_ran_on_display(), label_name(row.label), row.confidence,
                   (row.anomaly or {}).get("score"), row.is_anomaly, row.latency_ms]
    elif kind == "uploads":
        for img in rows.iterator():
            yield [img.created_at, img.project.slug, img.uploader.username, img.pk, img.original_name,
                   img.get_split_display(), label_name(img.label), img.get_label_source_display()]
    else:
        for row in rows.iterator():
            yield [row.created_at, row.image.project.slug, row.author.username, row.image_id, label_name(row.label),
                   ", ".join(row.tags), row.get_source_display()]


def _csv_response(kind, rows):
    return csv_export_response(filename=f"riim-{kind}.csv", header=CSV_HEADERS[kind], rows=_csv_rows(kind, rows))
