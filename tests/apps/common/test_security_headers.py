"""Security headers: every page of every role carries the Content-Security-Policy and holds no inline code.

The crawl starts at each role's home page and follows the site's own links, so a new page is
checked as soon as a menu or page links to it.
"""
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from apps.accounts import roles
from apps.common.security_headers import PermissionsPolicyMiddleware, permissions_policy
from tests.factories import ProjectFactory, UserFactory, image_bytes

MAX_PAGES = 120  # per role; the site has a few dozen pages
# Not followed: leaving the session, the admin (Django's own pages), downloads and machine endpoints.
SKIPPED_PREFIXES = ("/accounts/logout", "/admin/", "/api/", "/static/", "/media/", "/jsi18n/", "/i18n/")
SKIPPED_SUFFIXES = (".zip", ".csv", ".pdf", ".json")
# URL names of the webcam pages (views decorated with @permissions_policy(camera="self")); every
# other page denies the camera. A new camera page joins this set.
CAMERA_PAGES = {"image_upload", "labeling", "live_inference"}
# The one page allowed inline styling and a CDN: drf-spectacular's Swagger UI (see riim_site/urls.py).
SWAGGER = "/api/docs/"
# Every topic of the lab, opened directly as well as by following links.
LAB_TOPICS = ("overfitting", "cross-validation", "labeling", "compression", "reinforcement", "unsupervised", "backprop",
              "generative")


class InlineCodeFinder(HTMLParser):
    """Collect links and every piece of inline code: script bodies, on*= handlers, style= and <style>."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.inline: list[str] = []
        self._script_is_code = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")
            if name == "style":
                self.inline.append(f"<{tag} style=…>")
        if tag == "style":
            self.inline.append("<style> block")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
            if attributes["href"].strip().lower().startswith("javascript:"):
                self.inline.append("javascript: link")
        # A script without src is code unless it is data (json_script writes application/json).
        self._script_is_code = tag == "script" and "src" not in attributes and attributes.get("type") != "application/json"

    def handle_data(self, data):
        if self._script_is_code and data.strip():
            self.inline.append(f"<script>{data.strip()[:60]}</script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_is_code = False


def crawl(client, start: list[str], statuses: dict[str, int] | None = None) -> dict[str, list[str]]:
    """Return {path: inline code found} for every HTML page reachable from start; assert each one's headers.

    statuses, when given, receives every visited path's status code.
    """
    seen: dict[str, list[str]] = {}
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if statuses is not None:
            statuses[path] = response.status_code
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            seen[path] = []
            continue
        policy = response.headers.get("Content-Security-Policy", "")
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy, (path, policy)
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, (path, policy)
        assert response.headers.get("Referrer-Policy") == "same-origin", path
        camera = "camera=(self)" if resolve(urlsplit(path).path).url_name in CAMERA_PAGES else "camera=()"
        assert camera in response.headers.get("Permissions-Policy", ""), path
        finder = InlineCodeFinder()
        finder.feed(response.content.decode())
        seen[path] = finder.inline
        for href in finder.links:
            target = urldefrag(href).url
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(SKIPPED_PREFIXES) or parts.path.endswith(SKIPPED_SUFFIXES):
                continue
            queue.append(target)
    return seen


@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_every_page_has_the_policy_and_no_inline_code(furnished, client, role):
    """Each role's pages: CSP without unsafe-inline, Referrer-Policy, camera denied, no inline script/handler/style."""
    client.force_login(getattr(furnished, role))
    slug = furnished.project.slug
    pages = crawl(client, ["/", f"/projects/{slug}/", "/lab/", "/history/"])
    html_pages = [path for path, found in pages.items() if found is not None]
    assert len(html_pages) >= 8, pages  # the crawl really walked the site
    offenders = {path: found for path, found in pages.items() if found}
    assert not offenders, offenders


def _staff_on_an_empty_site():
    """A platform administrator before any project exists."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True), None


def _staff_in_no_project():
    """A staff account (the admin site) that is a member of no project, while another project exists."""
    ProjectFactory()
    return UserFactory(username="soporte", is_staff=True), None


def _teacher_with_an_empty_project():
    """A teacher whose project has no photo, no label, no run and no model yet."""
    project = ProjectFactory()
    return project.owner, project


def _student_with_no_labels():
    """A student whose photos are uploaded (one each of theirs and a classmate's) but nobody labeled any."""
    from apps.uploads.services import image_upload_create

    student = UserFactory(username="sinetiquetas", role=roles.STUDENT)
    project = ProjectFactory(members=[(student, "student")])
    for n, uploader in enumerate((student, project.owner)):
        image_upload_create(project=project, uploader=uploader, raw=image_bytes(color=(40 * n, 90, 200)), name=f"{n}.jpg")
    return student, project


EMPTY_CASES = {
    "staff-on-an-empty-site": _staff_on_an_empty_site,
    "staff-in-no-project": _staff_in_no_project,
    "teacher-with-an-empty-project": _teacher_with_an_empty_project,
    "student-with-no-labels": _student_with_no_labels,
}


@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_every_page_answers_accounts_with_nothing_yet(db, client, case):
    """Accounts with no project, an empty project or no labels: every page they reach answers, none with a 500."""
    user, project = EMPTY_CASES[case]()
    client.force_login(user)
    client.raise_request_exception = False  # collect every page's status instead of stopping at the first error
    start = ["/", "/lab/", "/history/", *(f"/lab/{topic}/" for topic in LAB_TOPICS)]
    if project is not None:
        start += [f"/projects/{project.slug}/", f"/projects/{project.slug}/versions/", f"/label/{project.slug}/"]
    statuses: dict[str, int] = {}
    crawl(client, start, statuses)
    errors = {path: status for path, status in statuses.items() if status >= 500}
    assert not errors, errors
    assert statuses["/lab/labeling/"] == 200 and len(statuses) >= 12, statuses  # the crawl really walked the site


def test_login_page_has_the_policy(client, db):
    """The anonymous pages are covered too."""
    pages = crawl(client, ["/accounts/login/"])
    assert pages and not any(pages.values()), pages


def test_swagger_page_alone_relaxes_the_policy(furnished, client):
    """The API documentation loads Swagger UI from its CDN; no other page allows another origin."""
    client.force_login(furnished.teacher)
    policy = client.get(SWAGGER).headers["Content-Security-Policy"]
    assert "https://cdn.jsdelivr.net" in policy
    assert "https://cdn.jsdelivr.net" not in client.get("/").headers["Content-Security-Policy"]


def test_permissions_policy_decorator_allows_the_camera_on_one_view(settings):
    """@permissions_policy(camera="self") grants the camera to that view only; the rest stays denied."""

    @permissions_policy(camera="self")
    def webcam(request):
        return HttpResponse("ok")

    def other(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    granted = PermissionsPolicyMiddleware(webcam)(request)["Permissions-Policy"]
    denied = PermissionsPolicyMiddleware(other)(request)["Permissions-Policy"]
    assert "camera=(self)" in granted and "microphone=()" in granted
    assert "camera=()" in denied
