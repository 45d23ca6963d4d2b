"""In Spanish, after the pages' scripts ran, no page shows a number with a decimal point or a snake_case key.

The server's templates and the scripts (tables, status lines, Chart.js axes drawn on canvases) write numbers
in the page's language: «3,5», «845,7 KB», «0,8» on an axis. The crawl opens every page a teacher reaches
with the lab's experiments run on the project's own model and photos, and reads the visible text and every
chart's tick labels. What users typed (usernames, class and file names), library versions and addresses
are left out.
"""
import re

import pytest

from apps.lab.models import LabExperiment
from tests.apps.test_spanish_pages import _pages
from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS

# 3.5 or -0.25, but not a version (1.3.1), an address (127.0.0.1) or Spanish thousands (50.000, 1.234.567).
DOT_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")
# Spanish groups thousands from five digits on (2229 but 50.000), so «2.229» is an English decimal.
SPANISH_THOUSANDS = re.compile(r"^-?(?:[1-9]\d{1,2}\.\d{3}|[1-9]\d{0,2}(?:\.\d{3}){2,})$")
SNAKE_CASE = re.compile(r"(?<![\w.\-/@])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.\-/@])")
URL = re.compile(r"\b(?:https?://|/)\S+")
# Spanish writes a space before the percent sign (RAE): «45 %», never «45%».
UNSPACED_PERCENT = re.compile(r"\d+%")
# Column names of the students' CSV, which the teacher types as they are.
TYPED_NAMES = {"first_name", "last_name"}

VISIBLE = """
const text = [document.title, document.body.innerText];
const ticks = [...document.querySelectorAll("canvas")].map((c) => window.Chart && Chart.getChart(c)).filter(Boolean)
  .flatMap((chart) => Object.values(chart.scales).flatMap((scale) => scale.ticks.map((t) => [].concat(t.label).join(" "))));
return [text.join("\\n"), ticks];
"""


def numbers_and_keys(text: str) -> list[str]:
    """Return the dot-decimal numbers, unspaced percentages and snake_case keys of a text (addresses left out)."""
    text = URL.sub(" ", text)
    found = [m.group(0) for m in DOT_DECIMAL.finditer(text) if not SPANISH_THOUSANDS.match(m.group(0))]
    found += [m.group(0) for m in UNSPACED_PERCENT.finditer(text)]
    return found + [m.group(0) for m in SNAKE_CASE.finditer(text) if m.group(0) not in TYPED_NAMES]


def test_the_detector_finds_english_numbers_and_keys_only():
    """Dot decimals and keys are caught; Spanish numbers, versions, addresses and typed names pass."""
    assert numbers_and_keys("Terminado · v2 · 3.5 segundos · 845.7 KB · onnx_fp32") == ["3.5", "845.7", "onnx_fp32"]
    assert numbers_and_keys("3,5 segundos · 50.000 fotos · TF.js 1.3.1 · http://localhost:8000/a_b/ · first_name") == []
    assert numbers_and_keys("eje -2.229 y 0.8") == ["-2.229", "0.8"]
    assert numbers_and_keys("1.234.567 fotos") == []
    assert numbers_and_keys("Progreso 45% · 99,4 % de aciertos") == ["45%"]


def _run_every_experiment(world):
    from apps.lab.services import lab_experiment_execute, lab_experiment_start

    for kind, params in [("overfitting", {}), ("splits", {}), ("label_noise", {"percent": 35}), ("clusters", {"k": 2}),
                         ("bandit", {}), ("compression", {}), ("autoencoder", {})]:
        experiment = lab_experiment_start(project=world.project, user=world.teacher, kind=kind, params=params)
        experiment = lab_experiment_execute(experiment_id=experiment.pk)
        assert experiment.status == LabExperiment.Status.SUCCEEDED, (kind, experiment.error)


@pytest.mark.django_db(transaction=True)
def test_teacher_pages_write_spanish_numbers_after_their_scripts_ran(lab_world, live_server, chromium, django_capture_on_commit_callbacks):
    """Every page of the teacher, the lab with each experiment's result drawn, and a photo's analysis."""
    from selenium.webdriver.support.ui import WebDriverWait

    with django_capture_on_commit_callbacks(execute=True):
        _run_every_experiment(lab_world)
    slug = lab_world.project.slug
    urls = _pages(lab_world)["teacher"] + [
        f"/lab/{topic}/?project={slug}" for topic in ("overfitting", "cross-validation", "labeling", "compression",
                                                        "reinforcement", "unsupervised", "backprop", "generative")
    ] + [f"/images/{lab_world.images[0].pk}/analysis/", f"/gradebook/{slug}/students/{lab_world.student.username}/",
         f"/training-runs/{lab_world.run.pk}/", f"/projects/{slug}/browser/", f"/projects/{slug}/live/",
         f"/gradebook/{slug}/report/", f"/gradebook/{slug}/access-log/"]
    log_in(chromium, live_server, lab_world.teacher)
    chromium.set_window_size(1366, 900)
    found = {}
    for url in urls:
        chromium.get(live_server.url + url)
        # Scripts draw from embedded data at once; the analysis page fetches its result first.
        WebDriverWait(chromium, 60).until(
            lambda d: d.execute_script("const a = document.getElementById('analysis'); return !a || a.getAttribute('aria-busy') === 'false';")
        )
        if url.startswith("/lab/overfitting/"):  # the gap over several seeds, said in words
            seeds = chromium.find_element("id", "overfitting-seeds")
            assert "semillas" in seeds.text
            chromium.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", seeds)
            screenshot(chromium, "lab-overfitting-seeds-1366")
        text, ticks = chromium.execute_script(VISIBLE)
        for name in (lab_world.project.name, *lab_world.project.classes):
            text = text.replace(name, " ")
        bad = numbers_and_keys(text) + [f"axis «{tick}»" for tick in ticks if numbers_and_keys(tick)]
        if bad:
            found[url] = sorted(set(bad))
    assert not found, f"English numbers or keys on Spanish pages: {found}"
