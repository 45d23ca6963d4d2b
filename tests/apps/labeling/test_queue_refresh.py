"""The labeling queue under a whole class: one background ranking per project, shared through the cache; requests never fit."""
import json
import subprocess
import sys
import uuid

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

import ml.quick
from apps.accounts import roles
from apps.embeddings.models import ImageEmbedding
from apps.labeling import queue, tasks
from apps.labeling.queue import labeling_queue_ranked, labeling_queue_refresh, queue_ranking
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from ml.embeddings import to_bytes
from riim_site.celery import app
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.worker import REPO_ROOT, worker_env


@pytest.fixture
def fits(monkeypatch):
    """Count the quick head's fits (the one classifier of the queue), wherever they run in this process."""
    calls = []
    original = ml.quick.fit_quick_head

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(ml.quick, "fit_quick_head", counting)
    return calls


@pytest.fixture
def broker(monkeypatch, settings):
    """Tasks go to a broker (nothing runs eagerly); return the project ids of the refreshes sent.

    Their countdowns are in ``sent.countdowns``.
    """

    class Sent(list):
        countdowns: list

    sent = Sent()
    sent.countdowns = []

    def apply_async(args, countdown=0):
        sent.append(args[0])
        sent.countdowns.append(countdown)

    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.labeling_queue_refresh_task, "apply_async", apply_async)
    return sent


@pytest.fixture
def embedded(world, settings, tmp_path):
    """40 training photos of two classes with separable embeddings under the project's network; the teacher labeled half."""
    from apps.embeddings.selectors import project_embeddings

    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    (tmp_path / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(b"stand-in weights: only hashed, never loaded")
    fingerprint = project_embeddings(world.project, fill=False).fingerprint
    rng = np.random.default_rng(0)
    images = _photos(world.project, world.teacher, 40)
    for i, image in enumerate(images):
        vector = rng.normal(0, 1, 16) + (3.0 if i % 2 else -3.0) * np.eye(16)[0]
        ImageEmbedding.objects.create(image=image, fingerprint=fingerprint, vector=to_bytes(vector), mirror=to_bytes(vector))
        if i >= 20:
            label_assign(image=image, author=world.teacher, label=world.project.classes[i % 2])
    return images


def _classmates(world, n):
    people = [UserFactory(role=roles.STUDENT) for _ in range(n)]
    for person in people:
        Membership.objects.create(project=world.project, user=person, role="student")
    return people


@pytest.mark.django_db
def test_a_burst_of_labels_refits_the_ranking_once(world, embedded, fits, broker):
    """20 labels from a class, each followed by a classmate's queue request: no request fits, one refresh is sent."""
    images = embedded
    labeling_queue_refresh(project_id=world.project.pk)
    assert len(fits) == 1
    fits.clear()
    labeler, asker = _classmates(world, 2)
    for image in images[:20]:
        label_assign(image=image, author=labeler, label=world.project.classes[0])
        assert labeling_queue_ranked(project=world.project, user=asker, strategy="uncertainty", limit=5)
    assert fits == []  # requests read the ranking, never fit
    assert broker == [world.project.pk]  # one refresh for the whole burst
    for project_id in broker:  # the worker runs it
        labeling_queue_refresh(project_id=project_id)
    assert len(fits) == 1


@pytest.mark.django_db
def test_the_next_refresh_waits_for_the_interval_since_the_last_build_started(world, broker, settings):
    """A change right after a build is refreshed one interval after that build started, not at once;
    while another build of the project is under way a refresh does not fit and asks again later."""
    settings.RIIM_QUEUE_REFRESH_SECONDS = 30
    images = _photos(world.project, world.teacher, 6)
    labeling_queue_refresh(project_id=world.project.pk)
    label_assign(image=images[0], author=world.teacher, label=world.project.classes[0])
    labeling_queue_ranked(project=world.project, user=world.student, limit=3)
    assert broker == [world.project.pk] and 29 <= broker.countdowns[0] <= 30
    cache.add(queue._building_key(world.project.pk), 1, 60)  # another worker is building
    cache.delete(queue._schedule_key(world.project.pk))
    assert labeling_queue_refresh(project_id=world.project.pk) is None
    assert len(broker) == 2 and broker.countdowns[1] >= 1


@pytest.mark.django_db
def test_a_request_never_fits_when_the_cache_has_no_ranking(world, embedded, fits, broker):
    """With no ranking shared yet, the request orders without fitting and asks the background for one."""
    images = embedded
    student = _classmates(world, 1)[0]
    label_assign(image=images[0], author=student, label=world.project.classes[0])
    items = labeling_queue_ranked(project=world.project, user=student, strategy="uncertainty", limit=None)
    assert fits == []
    assert broker == [world.project.pk]
    assert sorted(i.image_id for i in items) == sorted(i.pk for i in images[1:])  # every photo but the one labeled
    assert not queue_ranking(world.project).complete
    labeling_queue_refresh(project_id=world.project.pk)
    assert queue_ranking(world.project).complete and len(fits) == 1


def _photos(project, uploader, n, first=0):
    images = [image_upload_create(project=project, uploader=uploader, raw=image_bytes((5 * i, 20 + i, 240 - i)),
                                  name=f"{i}.jpg") for i in range(first, first + n)]
    Image.objects.filter(pk__in=[i.pk for i in images]).update(split="train")
    return images


@pytest.mark.django_db
def test_a_student_never_gets_back_a_photo_they_labeled_while_the_ranking_is_old(world, broker):
    """The ranking is not rebuilt between requests, yet each answer leaves the student's queue at once."""
    images = _photos(world.project, world.teacher, 12)
    labeling_queue_refresh(project_id=world.project.pk)
    given = []
    for _ in range(8):
        head = labeling_queue_ranked(project=world.project, user=world.student, strategy="mix", limit=3)
        assert not {i.image_id for i in head} & set(given)
        label_assign(image=Image.objects.get(pk=head[0].image_id), author=world.student, label=world.project.classes[0])
        given.append(head[0].image_id)
    rest = labeling_queue_ranked(project=world.project, user=world.student, strategy="mix", limit=None)
    assert sorted(i.image_id for i in rest) == sorted(set(i.pk for i in images) - set(given))


@pytest.mark.django_db
def test_hidden_and_new_photos_are_applied_to_an_old_ranking(world, broker):
    """A photo hidden after the ranking was built leaves the queue; one uploaded since joins it."""
    images = _photos(world.project, world.teacher, 6)
    labeling_queue_refresh(project_id=world.project.pk)
    Image.objects.filter(pk=images[2].pk).update(hidden=True)
    added = _photos(world.project, world.teacher, 1, first=6)[0]
    ids = {i.image_id for i in labeling_queue_ranked(project=world.project, user=world.student, limit=None)}
    assert ids == {i.pk for i in images if i != images[2]} | {added.pk}


@pytest.mark.django_db
def test_test_photos_with_their_labels_wait_behind_training_photos_to_label(world, broker):
    """With every test photo labeled, the next five photos are all training photos nobody labeled."""
    images = _photos(world.project, world.teacher, 12)
    Image.objects.filter(pk__in=[i.pk for i in images[:4]]).update(split="test")
    classmate = _classmates(world, 1)[0]
    for image in images[:4]:
        label_assign(image=image, author=classmate, label=world.project.classes[0])
    labeling_queue_refresh(project_id=world.project.pk)
    head = labeling_queue_ranked(project=world.project, user=world.student, strategy="random", limit=5)
    assert {i.image_id for i in head} <= {i.pk for i in images[4:]} and len(head) == 5


@pytest.mark.django_db
def test_the_queue_answers_while_the_redis_cache_is_down(world, api_as, settings):
    """With Redis unreachable the queue answers without the shared ranking (nothing fitted, nothing sent)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the block ends
    images = _photos(world.project, world.teacher, 4)
    settings.CACHES = {"default": {"BACKEND": "riim_site.cache.TolerantRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0", "OPTIONS": {"socket_connect_timeout": 1}}}
    response = api_as(world.student).get(f"/api/v1/projects/{world.project.slug}/labeling-queue/?limit=10")
    assert response.status_code == 200
    assert sorted(row["image"] for row in response.json()["results"]) == sorted(i.pk for i in images)


QUEUE_IN_ANOTHER_PROCESS = """
import json, sys
import django
django.setup()
import ml.quick
from apps.labeling import queue, tasks
from apps.projects.models import Project
from apps.accounts.models import User
fits = []
ml.quick.fit_quick_head = lambda *a, **k: fits.append(1)
tasks.labeling_queue_refresh_task.apply_async = lambda *a, **k: None
project, user = Project.objects.get(pk=int(sys.argv[1])), User.objects.get(pk=int(sys.argv[2]))
ranking = queue.queue_ranking(project)
items = queue.labeling_queue_ranked(project=project, user=user, limit=3)
print(json.dumps({"ids": [i.image_id for i in items], "built_at": ranking.built_at, "complete": ranking.complete,
                  "fits": len(fits)}))
"""


def _redis_cache():
    if not str(django_settings.CELERY_BROKER_URL).startswith("redis://"):
        pytest.skip("no Redis broker configured (CI sets CELERY_BROKER_URL)")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": django_settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"riim-test-{uuid.uuid4().hex[:8]}"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_a_label_leaves_another_students_queue_in_another_process(settings, backend, broker):
    """With one label per photo, the photo a classmate just labeled is not in another student's next answer,
    served by another process from the ranking this one built (shared through the cache), without fitting."""
    overrides = {}
    if backend == "redis":
        overrides = {"CACHES": {"default": _redis_cache()}}
        settings.CACHES = overrides["CACHES"]
    a, b = (UserFactory(role=roles.STUDENT) for _ in range(2))
    teacher = UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher, members=[(a, "student"), (b, "student")], labels_per_image=1,
                             labeling_strategy="random")
    _photos(project, teacher, 12)
    built = labeling_queue_refresh(project_id=project.pk)

    def b_queue():
        out = subprocess.run([sys.executable, "-c", QUEUE_IN_ANOTHER_PROCESS, str(project.pk), str(b.pk)],
                             cwd=REPO_ROOT, env=worker_env(settings_overrides=overrides), capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        before = b_queue()
        assert before["complete"] and before["built_at"] == built.built_at and before["fits"] == 0
        head = before["ids"][0]
        label_assign(image=Image.objects.get(pk=head), author=a, label=project.classes[0])
        after = b_queue()
        assert head not in after["ids"] and len(after["ids"]) == 3
        assert after["built_at"] == built.built_at and after["fits"] == 0  # the same ranking: nothing refitted
    finally:  # never cache.clear(): on Redis it empties the whole database, the broker's queues included
        cache.delete_many([queue._ranking_key(project), queue._schedule_key(project.pk)])


@pytest.mark.django_db
def test_anomaly_scores_are_reused_by_the_builds_of_the_next_minute(world, embedded, monkeypatch):
    """The anomaly scores (every photo against every other) come from the previous build while recent."""
    from ml import active_learning

    calls = []
    original = active_learning.anomaly_scores
    monkeypatch.setattr(active_learning, "anomaly_scores", lambda *a, **k: calls.append(1) or original(*a, **k))
    first = labeling_queue_refresh(project_id=world.project.pk)
    computed = len(calls)
    assert computed >= 1
    second = labeling_queue_refresh(project_id=world.project.pk)
    assert len(calls) == computed and second.anomaly_at == first.anomaly_at
    np.testing.assert_array_equal(second.streams["anomaly"][0], first.streams["anomaly"][0])
    monkeypatch.setattr(queue, "ANOMALY_REUSE_SECONDS", 0)
    third = labeling_queue_refresh(project_id=world.project.pk)
    assert len(calls) > computed and third.anomaly_at > first.anomaly_at


def test_the_refresh_runs_on_the_quick_queue():
    """Numeric work that must not wait behind a class's uploads on `default`."""
    route = app.amqp.router.route({}, tasks.labeling_queue_refresh_task.name)
    assert route["queue"].name == "quick"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_quick_worker_process_builds_the_ranking_a_request_asked_for():
    """A request without a shared ranking orders without fitting; a real `quick` worker builds the ranking it asked for."""
    from tests.platform.worker import celery_worker, wait_for

    student, teacher = UserFactory(role=roles.STUDENT), UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher, members=[(student, "student")])
    images = _photos(project, teacher, 6)
    try:
        with celery_worker("quick"):
            items = labeling_queue_ranked(project=project, user=student, limit=None)
            assert sorted(i.image_id for i in items) == sorted(i.pk for i in images)
            built = wait_for(lambda: (cache.get(queue._ranking_key(project)) or None) and
                             cache.get(queue._ranking_key(project)).complete, timeout=60, message="the ranking")
        assert built
    finally:
        cache.delete_many([queue._ranking_key(project), queue._schedule_key(project.pk), queue._started_key(project.pk)])
