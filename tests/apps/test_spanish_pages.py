"""A crawl of every page each role reaches, in Spanish, finds no English words outside the technical allow-list.

This reads the pages as the server writes them; the scripts' strings are checked by the djangojs
catalogue tests (tests/platform/test_translation_catalogues.py).
"""
import html as html_lib
import re

import pytest

from apps.training.models import TrainingRun

# Words that are English and never Spanish: one of them in a Spanish page is an untranslated string.
ENGLISH = set(
    """the and of with your you this that these those which while when where what who why how from into
    model models training train trained upload uploads uploaded label labels labeled labeling image images
    picture pictures photo photos version versions accuracy loss validation holdout fold folds mean std spread
    purity cluster clusters policy policies none flip bright dark crop student students teacher teachers
    grader graders project projects history analysis analyses unusual usual confidence network layer layers
    output shape weights pruned unpruned quantized run runs queued running succeeded failed cancelled stage
    back next previous save delete cancel yes show hide filter filters export import settings download
    learning should would could have been being there their they them than then only also every each
    page pages class classes tag tags source split splits date user username password role members member
    join code invite accept decline level levels help more less details about because before after""".split()
)
# Technical names a Spanish classroom uses as they are, and the CSV column names the teacher must type.
ALLOWED = set("onnx tflite cnn csv zip json api imagenet mobilenet keras tensorflow tf.js cam pca t-sne int8 fp32 "
              "float16 relu softmax adam dropout rgb jpeg png webp gif url id riim username password".split())
# Scripts, styles, code, and literal values quoted «like this» (option values, commands) are not prose.
SKIP = re.compile(r"<(script|style|code|pre)\b.*?</\1>|«[^»]*»", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][\wÁÉÍÓÚÜÑáéíóúüñ'-]*")  # RIIM_WEIGHTS_DIR is one name


def english_words(page: str) -> set[str]:
    """Return the English words of a page's visible text (scripts, styles and code blocks left out)."""
    text = html_lib.unescape(TAG.sub(" ", SKIP.sub(" ", page)))
    return {w for w in (m.group(0).lower() for m in WORD.finditer(text)) if w in ENGLISH and w not in ALLOWED}


def _pages(world):
    slug = world.project.slug
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded", stage="report")
    common = ["/", f"/projects/{slug}/", "/history/", "/lab/", "/accounts/password/", f"/projects/{slug}/versions/",
              f"/projects/{slug}/network/"]
    common += [f"/lab/{topic}/" for topic in ("overfitting", "cross-validation", "labeling", "compression",
                                              "reinforcement", "unsupervised", "backprop", "generative")]
    return {
        "student": common + ["/upload/", f"/label/{slug}/", "/projects/join/", f"/projects/{slug}/browser/"],
        "teacher": common + ["/upload/", f"/label/{slug}/", "/projects/new/", f"/projects/{slug}/training/",
                             f"/training-runs/{run.pk}/", "/history/activity/", "/history/activity/?kind=uploads",
                             "/history/activity/?kind=analyses", "/upload/import/", "/upload/moderate/",
                             f"/label/{slug}/review/", f"/gradebook/{slug}/"],
        "grader": common + ["/history/activity/", "/history/activity/?kind=uploads", "/history/activity/?kind=analyses"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_spanish_pages_have_no_english_words(world, client, role):
    """Every page the role can open is Spanish once rendered (200 pages only; a refused page says so in Spanish)."""
    client.force_login(getattr(world, role))
    found = {}
    for url in _pages(world)[role]:
        response = client.get(url, follow=True)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        words = english_words(response.content.decode())
        if words:
            found[url] = sorted(words)
    assert not found, f"English words on Spanish pages: {found}"


def test_the_detector_finds_english_and_passes_spanish():
    """The check would catch an untranslated sentence and leaves Spanish and technical names alone."""
    assert english_words("<p>Upload your photos</p>") == {"upload", "your", "photos"}
    assert english_words("<p>Sube tus fotos al modelo ONNX</p><script>const model = 1;</script>") == set()
