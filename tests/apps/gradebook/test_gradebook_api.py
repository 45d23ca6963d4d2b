"""The gradebook API: the class's rows, a student's own row, grading with its history, and bad input."""
import pytest

from apps.gradebook.models import AnalysisRequest, Criterion, FeedbackEntry, QuizAnswer, ScoreEntry
from apps.lab.models import LabExperiment
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory, image_bytes


@pytest.fixture
def rubric(world):
    return [
        Criterion.objects.create(project=world.project, name="Fotos", points=4, position=0),
        Criterion.objects.create(project=world.project, name="Etiquetas", points=6, position=1),
    ]


def _url(world, username=None):
    base = f"/api/v1/projects/{world.project.slug}/gradebook/"
    return f"{base}{username}/" if username else base


def test_teacher_reads_the_rows_with_activity_figures(world, rubric, api_as):
    """Uploads, photos labeled, analyses, lab experiments and first-try quiz answers are counted per student."""
    image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="a.jpg")
    label_assign(image=image, author=world.student, label="gato")
    label_assign(image=image, author=world.student, label="perro")  # a changed answer: still one photo labeled
    AnalysisRequest.objects.create(project=world.project, requester=world.student, ran_on="server", image=image)
    AnalysisRequest.objects.create(project=world.project, requester=world.student, ran_on="browser", image=image)
    LabExperiment.objects.create(project=world.project, requested_by=world.student, kind="clusters")
    for question, correct in (("q1", False), ("q1", True), ("q2", True)):
        QuizAnswer.objects.create(user=world.student, project=world.project, question=question, option=1, correct=correct)
    body = api_as(world.teacher).get(_url(world)).json()
    assert body["rubric"] == [
        {"id": rubric[0].pk, "name": "Fotos", "points": 4.0},
        {"id": rubric[1].pk, "name": "Etiquetas", "points": 6.0},
    ]
    (row,) = body["students"]
    assert row == {
        "username": "alumna", "uploads": 1, "labels": 1, "agreement": None, "gold_accuracy": None, "analyses": 2,
        "lab": {"experiments": 1, "quiz_answered": 2, "quiz_correct": 1},
        "scores": {}, "total": None, "comment": "",
    }


def test_grader_scores_and_every_change_is_kept(world, rubric, api_as):
    """A PUT answers with the row; a second PUT adds rows to the history instead of changing the first."""
    client = api_as(world.grader)
    first = client.put(_url(world, "alumna"), {"scores": {str(rubric[0].pk): 3}, "comment": "Bien"}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["scores"] == {str(rubric[0].pk): 3.0} and first.json()["total"] == 3.0
    second = client.put(
        _url(world, "alumna"), {"scores": {str(rubric[0].pk): 4, str(rubric[1].pk): 5.5}, "comment": "Muy bien"},
        format="json",
    )
    assert second.json()["total"] == 9.5 and second.json()["comment"] == "Muy bien"
    assert list(ScoreEntry.objects.filter(criterion=rubric[0]).values_list("points", flat=True)) == [4.0, 3.0]
    assert list(FeedbackEntry.objects.values_list("comment", "author__username")) == [
        ("Muy bien", "evaluador"), ("Bien", "evaluador"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"scores": {"FIRST": 4.5}},  # above the criterion's points
        {"scores": {"FIRST": -1}},
        {"scores": {"999999": 1}},  # unknown criterion
        {"scores": {"FIRST": "mucho"}},
        {"scores": ["FIRST"]},
        {"comment": "x" * 5001},
    ],
)
def test_bad_scores_are_refused_with_400(world, rubric, api_as, body):
    """Out of range, unknown criteria and malformed bodies are a 400 and write nothing."""
    text = str(body).replace("FIRST", str(rubric[0].pk))
    response = api_as(world.teacher).put(_url(world, "alumna"), eval(text), format="json")  # noqa: S307
    assert response.status_code == 400, response.content
    assert not ScoreEntry.objects.exists() and not FeedbackEntry.objects.exists()


def test_unknown_student_is_a_400(world, rubric, api_as):
    """A username that is not a student of the project (the grader, an outsider, nobody) is refused."""
    for name in ("nadie", "evaluador", "ajeno"):
        assert api_as(world.teacher).put(_url(world, name), {"comment": "x"}, format="json").status_code == 400


def test_usernames_with_symbols_reach_their_row(world, rubric, api_as):
    """Usernames with @ . + - work in the address."""
    user = UserFactory(username="ana.p+1@x-y", role="student")
    Membership.objects.create(project=world.project, user=user, role="student")
    response = api_as(world.teacher).put(_url(world, user.username), {"scores": {str(rubric[1].pk): 6}}, format="json")
    assert response.status_code == 200 and response.json()["username"] == "ana.p+1@x-y"


def test_student_reads_only_their_own_row_and_writes_none(world, rubric, api_as):
    """A student sees their grade and feedback but not a classmate's, and cannot grade anyone."""
    other = UserFactory(username="otro", role="student")
    Membership.objects.create(project=world.project, user=other, role="student")
    api_as(world.teacher).put(_url(world, "otro"), {"comment": "Privado"}, format="json")
    api_as(world.teacher).put(_url(world, "alumna"), {"comment": "Para ti"}, format="json")
    body = api_as(world.student).get(_url(world)).json()
    assert [row["username"] for row in body["students"]] == ["alumna"]
    assert body["students"][0]["comment"] == "Para ti"
    assert api_as(world.student).put(_url(world, "alumna"), {"comment": "10"}, format="json").status_code == 403
    assert api_as(world.student).put(_url(world, "otro"), {"comment": "mal"}, format="json").status_code == 403


def test_quiz_answer_is_checked_on_the_server(world, api_as):
    """The right option is decided by the server's question table; each answer is kept."""
    from apps.lab.quizzes import BY_ID

    question = BY_ID["overfitting-dropout"]
    url = f"/api/v1/lab/questions/{question.id}/answers/"
    client = api_as(world.student)
    wrong = client.post(url, {"option": 1, "project": world.project.slug}, format="json")
    right = client.post(url, {"option": question.right, "project": world.project.slug}, format="json")
    assert wrong.status_code == right.status_code == 201
    assert wrong.json()["correct"] is False and right.json()["correct"] is True
    assert right.json()["feedback"] == str(question.explanation)
    assert list(QuizAnswer.objects.values_list("correct", flat=True)) == [True, False]
    assert client.post(url, {"option": 7}, format="json").status_code == 400
    assert client.post("/api/v1/lab/questions/nope/answers/", {"option": 1}, format="json").status_code == 404


def test_right_at_the_first_try_is_the_first_answer_anywhere(world, api_as):
    """A wrong first answer outside the class, then a right one in it, is answered but not right at the first try."""
    url = "/api/v1/lab/questions/overfitting-dropout/answers/"
    client = api_as(world.student)
    assert client.post(url, {"option": 1}, format="json").json()["correct"] is False  # the lab outside a class
    assert client.post(url, {"option": 2}, format="json").json()["correct"] is True  # still checked and shown
    assert client.post(url, {"option": 2, "project": world.project.slug}, format="json").json()["correct"] is True
    row = api_as(world.teacher).get(_url(world)).json()["students"][0]
    assert row["lab"] == {"experiments": 0, "quiz_answered": 1, "quiz_correct": 0}


def test_a_first_answer_in_another_class_counts_too(world, api_as):
    """The first try given in another project decides; a question answered only elsewhere is not this class's."""
    other = ProjectFactory(owner=world.teacher, members=[(world.student, "student")])
    client = api_as(world.student)
    client.post("/api/v1/lab/questions/overfitting-dropout/answers/", {"option": 3, "project": other.slug}, format="json")
    client.post("/api/v1/lab/questions/overfitting-dropout/answers/", {"option": 2, "project": world.project.slug}, format="json")
    client.post("/api/v1/lab/questions/cv-report-mean/answers/", {"option": 2, "project": other.slug}, format="json")
    row = api_as(world.teacher).get(_url(world)).json()["students"][0]
    assert row["lab"] == {"experiments": 0, "quiz_answered": 1, "quiz_correct": 0}


def test_gradebook_answers_match_the_schema(world, rubric, api_as):
    """The gradebook and quiz endpoints' real answers, refusals included, validate against /api/schema/."""
    from tests.apps.test_api_schema import assert_conforms

    schema = api_as(world.teacher).get("/api/schema/", {"format": "json"}).json()
    teacher, student, grader = api_as(world.teacher), api_as(world.student), api_as(world.grader)
    checks = [
        (teacher, "get", _url(world), {}),
        (student, "get", _url(world), {}),
        (grader, "put", _url(world, "alumna"), {"data": {"scores": {str(rubric[0].pk): 2}, "comment": "b"}}),
        (grader, "put", _url(world, "alumna"), {"data": {"scores": {str(rubric[0].pk): 99}}}),
        (student, "put", _url(world, "alumna"), {"data": {"comment": "x"}}),
        (student, "post", "/api/v1/lab/questions/backprop-loss/answers/", {"data": {"option": 1}}),
        (student, "post", "/api/v1/lab/questions/backprop-loss/answers/", {"data": {"option": 0}}),
        (student, "post", "/api/v1/lab/questions/none/answers/", {"data": {"option": 1}}),
    ]
    statuses = []
    for client, method, url, kwargs in checks:
        response = getattr(client, method)(url, format="json", **kwargs)
        assert_conforms(schema, method, response)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 400, 403, 201, 400, 404]


def test_agreement_and_gold_accuracy_come_from_label_quality(world, rubric, api_as):
    """With classmates labeling the same photos and the teacher's gold labels, both figures are filled in."""
    other = UserFactory(username="otra", role="student")
    Membership.objects.create(project=world.project, user=other, role="student")
    images = [
        image_upload_create(project=world.project, uploader=world.teacher, raw=image_bytes(color=(9 * i, 80, 80)), name=f"{i}.jpg")
        for i in range(3)
    ]
    for image in images:
        label_assign(image=image, author=world.teacher, label="gato")
        label_assign(image=image, author=other, label="gato")
    label_assign(image=images[0], author=world.student, label="gato")
    label_assign(image=images[1], author=world.student, label="perro")
    rows = {row["username"]: row for row in api_as(world.grader).get(_url(world)).json()["students"]}
    assert rows["alumna"]["gold_accuracy"] == pytest.approx(0.5)
    assert rows["otra"]["gold_accuracy"] == pytest.approx(1.0)
    assert rows["alumna"]["agreement"] is not None and rows["alumna"]["agreement"] < rows["otra"]["agreement"]
