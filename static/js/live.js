// Live classification: every camera frame is resized to the model's input and classified with
// ONNX Runtime Web (the served model.onnx, raw 0..255 pixels); the bars update each frame, the
// heatmap (class activation map: feature_maps · head kernel) about once a second.
(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const version = config.version;
  const texts = config.texts;
  if (!version || !window.ort) return;
  const ort = window.ort;
  ort.env.wasm.wasmPaths = document.getElementById("live-script").dataset.wasmPath;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one thread works everywhere
  const HEATMAP_EVERY_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const video = $("live-video");
  const heatmap = $("live-heatmap");
  const input = document.createElement("canvas");
  input.width = input.height = version.size;
  const inputContext = input.getContext("2d", { willReadFrequently: true });
  let session = null;
  let stream = null;
  let running = false;
  let lastHeatmap = 0;
  let frames = 0;
  let fpsSince = performance.now();
  let msSum = 0;
  const stats = { frames: 0, fps: 0, ms: 0, updates: 0, heatmaps: 0, last: null };

  // Bars, one per class, created once.
  const bars = version.classes.map((name) => {
    const row = document.createElement("div");
    row.className = "mb-1";
    const label = document.createElement("div");
    label.className = "small d-flex justify-content-between";
    const nameEl = document.createElement("span");
    nameEl.textContent = name;
    const value = document.createElement("span");
    value.className = "live-value";
    label.append(nameEl, value);
    const track = document.createElement("div");
    track.className = "progress";
    track.setAttribute("role", "progressbar");
    track.setAttribute("aria-label", name);
    const bar = document.createElement("div");
    bar.className = "progress-bar";
    track.append(bar);
    row.append(label, track);
    $("live-bars").append(row);
    return { bar, value, track };
  });

  function show(probabilities) {
    probabilities.forEach((p, i) => {
      const pct = (100 * p).toFixed(1);
      bars[i].bar.style.width = pct + "%";
      bars[i].value.textContent = window.riimFormat.percent(p);
      bars[i].track.setAttribute("aria-valuenow", pct);
    });
    stats.updates += 1;
    stats.last = Array.from(probabilities);
  }

  function pixels(source, width, height) {
    inputContext.drawImage(source, 0, 0, width, height, 0, 0, version.size, version.size);
    const rgba = inputContext.getImageData(0, 0, version.size, version.size).data;
    const data = new Float32Array(version.size * version.size * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      data[j] = rgba[i]; data[j + 1] = rgba[i + 1]; data[j + 2] = rgba[i + 2];
    }
    return new ort.Tensor("float32", data, [1, version.size, version.size, 3]);
  }

  function drawHeatmap(maps, probabilities) {
    const [, h, w, c] = maps.dims;
    let best = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
    const cam = new Float32Array(h * w);
    for (let k = 0; k < h * w; k++) {
      let sum = 0;
      for (let d = 0; d < c; d++) sum += maps.data[k * c + d] * version.head[d][best];
      cam[k] = sum;
    }
    const lo = Math.min(...cam), hi = Math.max(...cam);
    const small = document.createElement("canvas");
    small.width = w; small.height = h;
    const context = small.getContext("2d");
    const image = context.createImageData(w, h);
    for (let k = 0; k < h * w; k++) {
      const v = hi > lo ? (cam[k] - lo) / (hi - lo) : 0;
      image.data[4 * k] = 255; image.data[4 * k + 1] = Math.round(255 * (1 - v)); image.data[4 * k + 2] = 0;
      image.data[4 * k + 3] = Math.round(150 * v);
    }
    context.putImageData(image, 0, 0);
    const target = heatmap.getContext("2d");
    target.clearRect(0, 0, heatmap.width, heatmap.height);
    target.imageSmoothingEnabled = true;
    target.drawImage(small, 0, 0, heatmap.width, heatmap.height);
    heatmap.hidden = false;
    stats.heatmaps += 1;
  }

  async function classify(source, width, height, withHeatmap) {
    const started = performance.now();
    const outputs = withHeatmap ? ["probabilities", "feature_maps"] : ["probabilities"];
    const result = await session.run({ image: pixels(source, width, height) }, outputs);
    const probabilities = Array.from(result.probabilities.data);
    show(probabilities);
    if (withHeatmap) drawHeatmap(result.feature_maps, probabilities);
    return { probabilities, ms: performance.now() - started };
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

  const ready = ort.InferenceSession.create(version.model_url, { executionProviders: ["wasm"], graphOptimizationLevel: "all" })
    .then((created) => {
      session = created;
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
      const bitmap = await createImageBitmap(file);
      await classify(bitmap, bitmap.width, bitmap.height, false);
      message("");
    } catch (error) {
      message(texts.unreadable.replace("%(name)s", file.name));
    }
  });

  // Read by the tests and the frames-per-second benchmark.
  window.riimLive = { ready, stats, start, stop };
})();
