"""docs/scratch/atrapa-la-estrella.sb3, the guides' example game, played in RIIM's editor with a camera."""
import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "scratch" / "atrapa-la-estrella.sb3"
LINK_PLACEHOLDER = "pega aquí el enlace de tu clase"

EDITOR_READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.riimScratch && document.querySelector(".blocklyWorkspace") ? done("ok") : setTimeout(wait, 100);
wait();
"""
PLAY = """
const done = arguments[arguments.length - 1];
const vm = window.riimScratch.vm, riim = window.riimScratch.extension;
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
const sprite = (name) => vm.runtime.targets.find((t) => t.isOriginal && t.getName() === name);
const report = () => {
  const bubble = sprite("Cesta").getCustomState("Scratch.looks");
  return {state: riim.state, error: riim.error, rate: riim.rate(), said: bubble ? bubble.text : null,
          basketX: sprite("Cesta").x, starY: sprite("Estrella").y};
};
vm.loadProject(bytes.buffer).then(() => {
  vm.start();
  vm.greenFlag();
  const started = Date.now();
  // Until the basket has moved and two frames were classified (on a busy machine the camera and the model take a while to start).
  const wait = () => {
    const now = report();
    if ((now.state === "ready" && now.basketX !== 0 && now.said && now.rate > 0) || Date.now() - started > 60000) return done(now);
    setTimeout(wait, 200);
  };
  wait();
}, (e) => done({loadError: String(e)}));
"""


def _example_for(link: str, classes: list[str]) -> bytes:
    """The example with the class's link and classes typed in, as the guide tells students to do."""
    source = zipfile.ZipFile(EXAMPLE)
    project = source.read("project.json").decode()
    assert LINK_PLACEHOLDER in project and '"clase 1"' in project and '"clase 2"' in project
    project = project.replace(LINK_PLACEHOLDER, link).replace('"clase 1"', json.dumps(classes[0]))
    project = project.replace('"clase 2"', json.dumps(classes[1]))
    project = project.replace('"N": [1, [4, "60"]]', '"N": [1, [4, "0"]]')  # any answer moves the basket
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, project if name == "project.json" else source.read(name))
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_example_game_reacts_to_the_camera(classroom, publish, api_as, live_server, camera_chromium):
    """Its own «usar el modelo» loads the link, the camera's label moves the basket and the star falls."""
    publish()
    link = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    link = link.replace("http://testserver", live_server.url)
    camera_chromium.get(f"{live_server.url}/scratch/")
    assert camera_chromium.execute_async_script(EDITOR_READY) == "ok"
    project = base64.b64encode(_example_for(link, classroom.project.classes)).decode()
    result = camera_chromium.execute_async_script(PLAY, project)
    assert result.get("state") == "ready", result
    assert result["rate"] > 0 and result["said"] in classroom.project.classes, result
    assert result["basketX"] != 0 and result["starY"] < 170, result
