// Live classification: every camera frame is resized to the model's input as the server resizes a
// photo (static/js/browser_preprocess.js, Pillow's bilinear filter) and classified with ONNX Runtime
// Web (the served model.onnx, raw 0..255 pixels); the bars and the unusual-photo
// check (static/js/browser_explain.js, the server's score from the same file's embedding) update
// each frame, the heatmap (class activation map: feature_maps · head kernel) about once a second.
(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const version = config.version;
  const texts = config.texts;
  if (!version || !window.ort) return;
  const ort = window.ort;
  ort.env.wasm.wasmPaths = document.getElementById("live-script").dataset.wasmPath;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one thread works everywhere
  const HEATMAP_EVERY_MS = 1000;
  const { $, el } = window.riim;
  const preprocess = window.riimPreprocess;
  const video = $("live-video");
  const heatmap = $("live-heatmap");
  const explain = window.riimExplain;
  let session = null;
  let anomaly = null; // the version's anomaly check; null for a version without anomaly.json
  let stream = null;
  let running = false;
  let lastHeatmap = 0;
  let frames = 0;
  let fpsSince = performance.now();
  let msSum = 0;
  const stats = { frames: 0, fps: 0, ms: 0, updates: 0, heatmaps: 0, last: null, anomaly: null };

  // Bars, one per class, created once.
  const bars = version.classes.map((name) => {
    const value = el("span", { class: "live-value" });
    const bar = el("div", { class: "progress-bar" });
    const track = el("div", { class: "progress", role: "progressbar", "aria-label": name }, [bar]);
    const label = el("div", { class: "small d-flex justify-content-between" }, [el("span", {}, name), value]);
    $("live-bars").append(el("div", { class: "mb-1" }, [label, track]));
    return { bar, value, track };
  });

  function top(probabilities) {
    let best = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
    return best;
  }

  // The answer line: when the check flags the frame, the warning above it is the headline and the
  // class guess is marked unreliable (as on the server's analysis page).
  function show(probabilities, verdict) {
    probabilities.forEach((p, i) => {
      const pct = (100 * p).toFixed(1);
      bars[i].bar.style.width = pct + "%";
      bars[i].value.textContent = window.riimFormat.percent(p);
      bars[i].track.setAttribute("aria-valuenow", pct);
    });
    const best = top(probabilities);
    const unusual = Boolean(verdict && verdict.flagged);
    $("live-label").textContent = version.classes[best];
    $("live-confidence").textContent = window.riimFormat.percent(probabilities[best]);
    $("live-top").hidden = false;
    $("live-unusual").hidden = !unusual;
    $("live-unreliable").hidden = !unusual;
    $("live-label").classList.toggle("text-body-secondary", unusual);
    stats.updates += 1;
    stats.last = Array.from(probabilities);
    stats.anomaly = verdict;
  }

  // Raw 0..255 pixels of the model's input size, NHWC, as the server feeds them.
  function tensor(data) {
    return new ort.Tensor("float32", data, [1, version.size, version.size, 3]);
  }

  function drawHeatmap(maps, probabilities) {
    explain.paintCam(heatmap, explain.cam(maps, version.head, top(probabilities)), true);
    heatmap.hidden = false;
    stats.heatmaps += 1;
  }

  // Classify one input tensor: probabilities, the unusual-photo check and, when asked, the heatmap.
  async function classifyInput(image, withHeatmap, started = performance.now()) {
    const feeds = { [session.inputNames[0]]: image };
    const names = new Set(["probabilities", ...explain.anomalyOutputs(anomaly, "fp32", feeds)]);
    if (withHeatmap) names.add("feature_maps");
    const result = await session.run(feeds, [...names]);
    const probabilities = Array.from(result.probabilities.data);
    const verdict = await explain.scoreAnomaly(anomaly, "fp32", result, feeds);
    show(probabilities, verdict);
    if (withHeatmap) drawHeatmap(result.feature_maps, probabilities);
    return { probabilities, anomaly: verdict, ms: performance.now() - started };
  }

  // A camera frame (or any drawable) of width × height; the time per frame includes its resizing.
  function classify(source, width, height, withHeatmap) {
    const started = performance.now();
    return classifyInput(tensor(preprocess.sourceToTensorData(source, width, height, version.size)), withHeatmap, started);
  }

  // Pixels already at the model's input size (the tests compare them with the server's).
  function classifyPixels(data) {
    return classifyInput(tensor(Float32Array.from(data)), false);
  }

  async function loop() {
    if (!running) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const now = performance.now();
      const withHeatmap = Boolean(version.head) && now - lastHeatmap >= HEATMAP_EVERY_MS;
      if (withHeatmap) lastHeatmap = now;
      const { ms } = await classify(video, video.videoWidth, video.videoHeight, withHeatmap);
      frames += 1; stats.frames += 1; msSum += ms;
      const elapsed = performance.now() - fpsSince;
      if (elapsed >= 1000) {
        stats.fps = (1000 * frames) / elapsed;
        stats.ms = msSum / frames;
        $("live-fps").textContent = texts.fps.replace("%(fps)s", window.riimFormat.number(stats.fps, 1)).replace("%(ms)s", window.riimFormat.number(stats.ms, 1));
        frames = 0; msSum = 0; fpsSince = performance.now();
      }
    }
    requestAnimationFrame(loop);
  }

  function message(text) { $("live-message").textContent = text; }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { message(texts.no_camera); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      message(denied ? texts.denied : texts.no_camera);
      return;
    }
    message("");
    video.srcObject = stream;
    video.hidden = false;
    running = true;
    $("live-status").textContent = texts.running;
    $("live-start").textContent = texts.stop;
    fpsSince = performance.now();
    requestAnimationFrame(loop);
  }

  function stop() {
    running = false;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    heatmap.hidden = true;
    $("live-start").textContent = texts.start;
    $("live-status").textContent = texts.ready;
  }

  // Without its check (a version published before the browser had one, or a file that failed to
  // load) the page still classifies; it only shows no warning.
  const anomalyReady = explain.loadAnomaly(version.anomaly, ort).catch((error) => {
    console.warn("unusual-photo check unavailable:", error.message);
    return null;
  });
  const ready = Promise.all([
    ort.InferenceSession.create(version.model_url, { executionProviders: ["wasm"], graphOptimizationLevel: "all" }),
    anomalyReady,
  ]).then(([created, check]) => {
    session = created;
    anomaly = check;
    $("live-status").textContent = texts.ready;
    $("live-start").disabled = false;
    $("live-file").disabled = false;
    return true;
  }, (error) => {
    $("live-status").textContent = texts.failed + ": " + error.message;
    throw error;
  });

  $("live-start").addEventListener("click", () => (running ? stop() : start()));
  $("live-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      // Decoded as the server decodes an upload (its EXIF orientation applied), then resized the same way.
      await classifyInput(tensor(await preprocess.blobToTensorData(file, version.size)), false);
      message("");
    } catch (error) {
      message(texts.unreadable.replace("%(name)s", file.name));
    }
  });

  // Read by the tests and the frames-per-second benchmark.
  window.riimLive = { ready, stats, start, stop, classify, classifyPixels, hasAnomalyCheck: () => anomaly !== null };
})();
