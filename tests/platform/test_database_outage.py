"""The database unavailable for a moment: a real gunicorn answers 503 with Retry-After, then recovers.

The site talks to PostgreSQL through a TCP proxy that the test cuts (the machine's PostgreSQL keeps
running). While it is cut the API answers JSON, pages a plain HTML page, both 503 with Retry-After;
an upload sent meanwhile leaves no row and no file; once restored the same requests succeed.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from apps.accounts import roles
from apps.common.database_errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from apps.uploads.models import Image
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.tcp_proxy import TcpProxy
from tests.platform.worker import REPO_ROOT, worker_env

pytestmark = [pytest.mark.services]

READY_TIMEOUT = 60  # seconds for gunicorn to import Django and answer


def request(url: str, *, token: str = "", cookie: str = "", body: bytes | None = None, content_type: str = ""):
    """Return (status, headers, body) of one HTTP request, whatever its status."""
    headers = {}
    if token:
        headers["Authorization"] = f"Token {token}"
    if cookie:
        headers["Cookie"] = cookie
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def multipart(fields: dict[str, str], file_name: str, raw: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode() + raw + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def proxied_site(transactional_db, tmp_path):
    """Start gunicorn on the test database reached through a TCP proxy; yield (base URL, proxy)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): the proxy stands in front of a database server")
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    env = worker_env(DATABASE_URL=f"postgres://{db['USER']}{password}@127.0.0.1:{proxy.port}/{db['NAME']}")
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "riim_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=5)
            break
        except OSError:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.3)
    else:
        pytest.fail("gunicorn did not answer:\n" + (tmp_path / "gunicorn.log").read_text())
    yield base, proxy
    server.terminate()
    server.wait(timeout=20)
    proxy.close()


def test_database_outage_answers_503_and_writes_nothing(proxied_site, client):
    """Cut: API 503 JSON, page 503 HTML, both with Retry-After, an upload stores nothing; restored: 200 again."""
    base, proxy = proxied_site
    student = UserFactory(username="alumna", role=roles.STUDENT)
    project = ProjectFactory(owner=UserFactory(username="profe", role=roles.TEACHER), members=[(student, "student")])
    token = Token.objects.create(user=student).key
    client.force_login(student)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    project_page = f"{base}/projects/{project.slug}/"
    assert request(f"{base}/api/v1/projects/", token=token)[0] == 200
    assert request(project_page, cookie=cookie)[0] == 200
    images_before = Image.objects.count()
    files_before = sorted(Path(settings.MEDIA_ROOT).rglob("*")) if Path(settings.MEDIA_ROOT).exists() else []

    proxy.cut()
    status, headers, body = request(f"{base}/api/v1/projects/", token=token)
    assert status == 503, body
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):  # the server answers in the default language
        assert json.loads(body) == {"detail": str(DATABASE_UNAVAILABLE)}
    status, headers, body = request(project_page, cookie=cookie)
    assert status == 503 and headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert headers["Content-Type"].startswith("text/html") and b"<html" in body
    upload, content_type = multipart({"project": project.slug}, "gato.jpg", image_bytes())
    status, _headers, body = request(f"{base}/api/v1/images/", token=token, body=upload, content_type=content_type)
    assert status == 503, body

    proxy.restore()
    assert request(f"{base}/api/v1/projects/", token=token)[0] == 200
    assert request(project_page, cookie=cookie)[0] == 200
    assert Image.objects.count() == images_before  # the refused upload left no row...
    files_after = sorted(Path(settings.MEDIA_ROOT).rglob("*")) if Path(settings.MEDIA_ROOT).exists() else []
    assert files_after == files_before  # ...and no file
    status, _headers, body = request(f"{base}/api/v1/images/", token=token, body=upload, content_type=content_type)
    assert status == 201, body
    assert Image.objects.count() == images_before + 1
