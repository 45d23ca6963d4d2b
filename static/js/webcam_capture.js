// Webcam capture (upload and labeling pages): the camera starts only on a click; holding the
// button captures a burst (FRAMES_PER_SECOND), frames wait in a preview where each can be
// discarded, and only "Store" sends them, one by one, through the ordinary upload API (same
// validation, duplicate check and EXIF handling), then labels each with the chosen class.
// Every frame of one capture session (one class, one camera run) carries the same session id,
// so the server puts them all in the same split.
(function () {
  const root = document.getElementById("webcam-capture");
  if (!root) return;
  const config = JSON.parse(document.getElementById("webcam-config").textContent);
  const texts = config.texts;
  const FRAMES_PER_SECOND = 4;
  const MAX_FRAMES = 60; // one burst: enough examples, few enough to review
  const LONG_SIDE = 640; // frames are downscaled before upload: the models use far less
  const { $, postJson } = window.riim;
  const video = $("webcam-video");
  const frames = []; // {blob, url, session}
  let stream = null;
  let timer = null;
  let session = null;

  const projectSelect = document.getElementById(config.project_select || "");
  const project = () => (projectSelect ? projectSelect.value : config.project);

  function newSession() {
    session = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (Math.random() * 16) >> (c / 4)).toString(16));
  }

  function fillClasses() {
    const classes = (config.projects[project()] || {}).classes || [];
    const select = $("webcam-class");
    select.replaceChildren(...classes.map((name) => new Option(name, name)));
    newSession();
  }

  function message(text, danger) {
    $("webcam-message").textContent = text;
    $("webcam-message").className = "small mt-2 mb-0" + (danger ? " text-danger" : "");
  }

  function refresh() {
    $("webcam-counter").textContent = texts.counter.replace("%(n)s", frames.length);
    $("webcam-store").disabled = frames.length === 0;
    $("webcam-discard").disabled = frames.length === 0;
  }

  function addFrame(blob) {
    const frame = { blob, url: URL.createObjectURL(blob), session, label: $("webcam-class").value };
    frames.push(frame);
    const figure = document.createElement("figure");
    figure.className = "position-relative m-0 webcam-frame";
    const img = document.createElement("img");
    img.src = frame.url;
    img.alt = texts.frame_alt.replace("%(label)s", frame.label);
    img.width = 64;
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "btn btn-sm btn-light position-absolute top-0 end-0 py-0 px-1";
    drop.textContent = "×";
    drop.setAttribute("aria-label", texts.discard);
    drop.addEventListener("click", () => {
      frames.splice(frames.indexOf(frame), 1);
      URL.revokeObjectURL(frame.url);
      figure.remove();
      refresh();
    });
    figure.append(img, drop);
    frame.figure = figure;
    $("webcam-preview").append(figure);
    refresh();
  }

  function grab() {
    if (frames.length >= MAX_FRAMES || !video.videoWidth) return;
    const scale = Math.min(1, LONG_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => blob && addFrame(blob), "image/jpeg", 0.92);
  }

  function startBurst(event) {
    if (event) event.preventDefault();
    if (timer || !stream) return;
    grab();
    timer = setInterval(grab, 1000 / FRAMES_PER_SECOND);
  }

  function stopBurst() {
    clearInterval(timer);
    timer = null;
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message(texts.no_camera, true);
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      message(denied ? texts.denied : texts.no_camera, true);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    newSession(); // a new camera run is a new capture session
    $("webcam-hold").disabled = false;
    $("webcam-start").textContent = texts.stop;
    message(texts.ready, false);
  }

  function stopCamera() {
    stopBurst();
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    $("webcam-hold").disabled = true;
    $("webcam-start").textContent = texts.start;
  }

  function result(text, ok, link) {
    const li = document.createElement("li");
    li.className = "list-group-item py-1 " + (ok ? "text-success" : "text-danger");
    li.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.className = "ms-2";
      a.textContent = texts.see_analysis;
      li.append(a);
    }
    $("webcam-results").append(li);
  }

  // The active model's answer for a stored photo, as the upload of a file shows it.
  function analysisText(analysis) {
    if (!analysis) return "";
    const unusual = analysis.anomaly && analysis.anomaly.is_anomaly ? " · " + texts.unusual : "";
    return " · " + texts.analysis + " " + analysis.label + " (" + window.riimFormat.percent(analysis.confidence, 0) + ")" + unusual;
  }

  async function storeOne(frame, index) {
    const data = new FormData();
    data.append("project", project());
    data.append("file", frame.blob, "webcam-" + frame.session.slice(0, 8) + "-" + index + ".jpg");
    data.append("capture_session", frame.session);
    const stored = await postJson(config.upload_url, data);
    const body = stored.data;
    if (stored.status !== 201) {
      const detail = body.detail || Object.values(body).flat().join(" ") || stored.statusText;
      return { ok: false, text: texts.refused + ": " + detail };
    }
    const labelled = await postJson(config.label_url.replace("/0/", "/" + body.id + "/"), { label: frame.label });
    const split = texts.splits[body.split] || body.split;
    const link = body.analysis ? config.analysis_page.replace("/0/", "/" + body.id + "/") : null;
    return labelled.ok
      ? { ok: true, text: texts.stored.replace("%(label)s", frame.label).replace("%(split)s", split) + analysisText(body.analysis), link }
      : { ok: false, text: texts.label_failed };
  }

  async function storeAll() {
    $("webcam-store").disabled = true;
    const batch = frames.splice(0, frames.length);
    let index = 0;
    for (const frame of batch) {
      index += 1;
      let outcome;
      try { outcome = await storeOne(frame, index); } catch (error) { outcome = { ok: false, text: texts.network }; }
      result(texts.frame.replace("%(n)s", index) + " — " + outcome.text, outcome.ok, outcome.link);
      URL.revokeObjectURL(frame.url);
      frame.figure.remove();
    }
    refresh();
  }

  $("webcam-start").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
  const hold = $("webcam-hold");
  hold.addEventListener("pointerdown", startBurst);
  ["pointerup", "pointerleave", "pointercancel"].forEach((name) => hold.addEventListener(name, stopBurst));
  hold.addEventListener("keydown", (event) => { if (event.key === " " || event.key === "Enter") startBurst(event); });
  hold.addEventListener("keyup", stopBurst);
  $("webcam-class").addEventListener("change", newSession); // another class: another session
  if (projectSelect) projectSelect.addEventListener("change", fillClasses);
  $("webcam-phone").addEventListener("change", (event) => {
    for (const file of event.target.files) addFrame(file);
    event.target.value = "";
  });
  $("webcam-store").addEventListener("click", storeAll);
  $("webcam-discard").addEventListener("click", () => {
    frames.splice(0).forEach((frame) => { URL.revokeObjectURL(frame.url); frame.figure.remove(); });
    refresh();
  });
  fillClasses();
  refresh();
  window.riimWebcam = { frames, startCamera, startBurst, stopBurst, storeAll, session: () => session };
})();
