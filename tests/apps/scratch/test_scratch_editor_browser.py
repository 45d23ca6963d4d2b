"""RIIM's Scratch editor in Chromium: the extension registered in the page classifies like the server."""
import base64
import time

import numpy as np
import pytest

from tests.browser import BROWSER_MARKS
from tests.fixtures.models import class_pictures
from tests.scratch_projects import RESULT_VARIABLE, classify_costume_script, sb3

pytestmark = BROWSER_MARKS

# Shared with the example project's test (tests/apps/scratch/conftest.py has the browser with a camera).
READY = """
const done = arguments[arguments.length - 1];
const started = Date.now();
const wait = () => {
  const riim = window.riimScratch;
  if (riim && riim.extension.state === "ready" && document.querySelector(".blocklyWorkspace")) return done("ok");
  if (riim && riim.extension.state === "error") return done("error: " + riim.extension.error);
  if (Date.now() - started > 60000) return done("timeout: " + (riim ? riim.extension.state : "no extension"));
  setTimeout(wait, 100);
};
wait();
"""
LOAD = """
const done = arguments[arguments.length - 1];
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
window.riimScratch.vm.loadProject(bytes.buffer).then(() => done("ok"), (e) => done("error: " + e));
"""
SWITCH_TO_ENGLISH = """
const done = arguments[arguments.length - 1];
const vm = window.riimScratch.vm;
vm.setLocale("en", {}).then(() => done(vm.runtime._blockInfo.map((b) => b.name)), (e) => done(["error: " + e]));
"""
# Wear costume i, click the flag, wait for the script to end and return the variable the script set.
RUN_COSTUME = """
const done = arguments[arguments.length - 1];
const vm = window.riimScratch.vm;
const sprite = vm.runtime.targets.find((t) => !t.isStage);
const stage = vm.runtime.getTargetForStage();
const variable = Object.values(stage.variables).find((v) => v.name === arguments[1]);
variable.value = "";
sprite.setCostume(arguments[0]);
vm.greenFlag();
const started = Date.now();
const wait = () => {
  if (!vm.runtime.threads.length && variable.value !== "") return done(String(variable.value));
  if (Date.now() - started > 20000) return done("timeout");
  setTimeout(wait, 20);
};
setTimeout(wait, 20);
"""
# Turn the video on and wait (on a busy machine, for a while) until camera frames have been classified for 2 s.
CAMERA = """
const done = arguments[arguments.length - 1];
const riim = window.riimScratch.extension;
const started = Date.now();
let first = null;
const report = () => ({rate: riim.rate(), label: riim.label(), probabilities: riim.probabilities});
const wait = () => {
  if (riim.probabilities.length && first === null) first = Date.now();
  if (first !== null && Date.now() - first > 2000) return done(report());
  if (Date.now() - started > 60000) return done({error: "no camera frame classified in 60 s", ...report()});
  setTimeout(wait, 100);
};
Promise.resolve(riim.setVideo({STATE: "on"})).then(wait, (e) => done({error: String(e)}));
"""


@pytest.mark.django_db(transaction=True)
def test_a_costume_project_gets_the_servers_label(classroom, publish, api_as, live_server, camera_chromium):
    """A project that classifies its costume and sets a variable gets, for every photo, the server's top label."""
    from apps.inference.loader import predictor_for

    version = publish()
    link = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    link = link.replace("http://testserver", live_server.url)
    pictures = class_pictures(4, seed=77)
    predictor = predictor_for(version)
    server = predictor.run(np.stack([predictor.load(raw) for _label, raw in pictures]), outputs=("probabilities",))
    expected = [classroom.project.classes[i] for i in server["probabilities"].argmax(axis=1)]

    camera_chromium.get(f"{live_server.url}/scratch/?model={link}")
    assert camera_chromium.execute_async_script(READY) == "ok"
    infos = camera_chromium.execute_script("return window.riimScratch.vm.runtime._blockInfo.map((b) => b.name)")
    assert "Modelo de la clase" in infos  # the blocks follow the editor's Spanish
    project = base64.b64encode(sb3([raw for _label, raw in pictures], classify_costume_script())).decode()
    assert camera_chromium.execute_async_script(LOAD, project) == "ok"
    got = [camera_chromium.execute_async_script(RUN_COSTUME, index, RESULT_VARIABLE) for index in range(len(pictures))]
    assert got == expected
    violations = [e for e in camera_chromium.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert not violations, violations
    # Scratch's own language menu, not the site's: in English the blocks say so.
    names = camera_chromium.execute_async_script(SWITCH_TO_ENGLISH)
    assert "Class model" in names and "Modelo de la clase" not in names


@pytest.mark.django_db(transaction=True)
def test_the_camera_is_classified_while_the_video_is_on(classroom, publish, api_as, live_server, camera_chromium):
    """With «vídeo encendido» the extension classifies camera frames by itself and counts how many per second."""
    publish()
    link = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    camera_chromium.get(f"{live_server.url}/scratch/?model={link.replace('http://testserver', live_server.url)}")
    assert camera_chromium.execute_async_script(READY) == "ok"
    started = time.monotonic()
    result = camera_chromium.execute_async_script(CAMERA)
    assert "error" not in result, result
    assert result["label"] in classroom.project.classes
    assert abs(sum(result["probabilities"]) - 1) < 1e-3
    assert result["rate"] > 1, result  # a tiny model: many frames a second even on a busy machine
    print(f"camera classifications per second: {result['rate']} ({time.monotonic() - started:.1f} s)")


ADD_EXAMPLE = """
const done = arguments[arguments.length - 1];
const [key, label] = [arguments[0], arguments[1]];
const riim = window.riimScratch.extension;
const storage = "riim.scratchKey:" + new URL(riim.link).origin;
if (key) localStorage.setItem(storage, key);
const said = [];
riim.say = (util, text) => said.push(text);
window.prompt = () => null;  // a key the student does not type
riim.addExample({SOURCE: "stage", LABEL: label}, null).then(() => done({
  said, kept: localStorage.getItem(storage), project: JSON.stringify(window.riimScratch.vm.toJSON())}),
  (e) => done({error: String(e)}));
"""


@pytest.mark.django_db(transaction=True)
def test_adding_the_stage_as_an_example_uploads_it_as_the_student(classroom, publish, api_as, live_server,
                                                                  camera_chromium):
    """«añadir escenario como ejemplo de …» with the student's key: the picture is the student's, labeled; the key
    stays out of the project; a withdrawn key is refused in Spanish on the stage and forgotten."""
    from apps.scratch.authentication import KEY_REVOKED

    publish()
    link = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    key = api_as(classroom.student).post(f"/api/v1/projects/{classroom.project.slug}/scratch-key/").json()["key"]
    camera_chromium.get(f"{live_server.url}/scratch/?model={link.replace('http://testserver', live_server.url)}")
    assert camera_chromium.execute_async_script(READY) == "ok"
    label = classroom.project.classes[1]
    result = camera_chromium.execute_async_script(ADD_EXAMPLE, key, label)
    assert result.get("said") == ["Ejemplo añadido."], result
    image = classroom.project.images.get()
    assert image.uploader == classroom.student and image.label == label
    assert key not in result["project"]
    api_as(classroom.student).delete(f"/api/v1/projects/{classroom.project.slug}/scratch-key/")
    result = camera_chromium.execute_async_script(ADD_EXAMPLE, None, label)
    assert result["said"] == [str(KEY_REVOKED)] and result["kept"] is None
