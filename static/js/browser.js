// Edge inference: run the active version's ONNX file in this browser with onnxruntime-web,
// compare with the server's analysis and record the browser's answer in the history. A picture
// from the computer gets the server's whole answer: the unusual-photo check, the heatmap and a
// bar per class (static/js/browser_explain.js).
(function () {
  const config = JSON.parse(document.getElementById("browser-config").textContent);
  const texts = JSON.parse(document.getElementById("browser-texts").textContent);
  const version = config.version;
  if (!version || !window.ort) return;
  const ort = window.ort;
  ort.env.wasm.wasmPaths = window.RIIM_ORT_WASM_PATH;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one thread works everywhere
  const sessions = {};
  const { $, el, postJson } = window.riim;
  const fmt = window.riimFormat; // numbers in the reader's language (99,4 % in Spanish)
  const explain = window.riimExplain;
  let anomaly = null; // the version's anomaly check; null for a version without anomaly.json

  function session(variant) {
    if (!sessions[variant]) {
      sessions[variant] = ort.InferenceSession.create(version.files[variant], { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    }
    return sessions[variant];
  }

  function softmaxCheck(values) { return Array.from(values, Number); }

  // TensorFlow.js runs the version's TF.js export, whose documented input is Teachable Machine's:
  // pixel / 127 - 1 (the graph turns it into what the network was trained on).
  let tfModel = null;
  function tfjsModel() {
    if (!tfModel) tfModel = window.tf.ready().then(() => window.tf.loadLayersModel(version.tfjs.model));
    return tfModel;
  }

  async function runTfjs(data) {
    const tf = window.tf;
    const model = await tfjsModel();
    const started = performance.now();
    const output = tf.tidy(() => model.predict(tf.tensor4d(Float32Array.from(data), [1, version.size, version.size, 3]).div(127).sub(1)));
    const values = await output.data();
    output.dispose();
    return { probabilities: Array.from(values), ms: performance.now() - started };
  }

  const runtime = () => $("runtime").value;

  // Run the network on one preprocessed (size, size, 3) 0..255 image; return probabilities and the time.
  async function runTensor(data, variant, engine) {
    if ((engine || "onnx") === "tfjs") return runTfjs(data);
    const s = await session(variant || "fp32");
    const input = new ort.Tensor("float32", Float32Array.from(data), [1, version.size, version.size, 3]);
    const started = performance.now();
    const out = await s.run({ [s.inputNames[0]]: input }, ["probabilities"]);
    return { probabilities: softmaxCheck(out.probabilities.data), ms: performance.now() - started };
  }

  // Run a served file on one preprocessed image with what the server adds: the anomaly verdict and,
  // with the version's head, the class-activation map of the most probable class.
  async function explainTensor(data, variant) {
    const s = await session(variant);
    const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", Float32Array.from(data), [1, version.size, version.size, 3]) };
    const names = new Set(["probabilities", ...explain.anomalyOutputs(anomaly, variant, feeds)]);
    if (version.head) names.add("feature_maps");
    const started = performance.now();
    const out = await s.run(feeds, [...names]);
    const probabilities = softmaxCheck(out.probabilities.data);
    const verdict = await explain.scoreAnomaly(anomaly, variant, out, feeds);
    const map = version.head ? explain.cam(out.feature_maps, version.head, top(probabilities)) : null;
    return { probabilities, anomaly: verdict, cam: map, ms: performance.now() - started };
  }

  // Fetch a picture, preprocess it like the server and classify it; the time covers decode, resize and network.
  async function classifyBlob(blob, variant) {
    const started = performance.now();
    const data = await window.riimPreprocess.blobToTensorData(blob, version.size);
    const result = await runTensor(data, variant, runtime());
    return { probabilities: result.probabilities, ms: performance.now() - started, network_ms: result.ms };
  }

  async function classifyUrl(url, variant) {
    const response = await fetch(url, { credentials: "same-origin" });
    return classifyBlob(await response.blob(), variant);
  }

  async function pixelsOf(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    return Array.from(await window.riimPreprocess.blobToTensorData(await response.blob(), version.size));
  }

  function top(probabilities) {
    let best = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
    return best;
  }

  async function record(item, result, variant) {
    if (!config.can_record || runtime() !== "onnx") return; // the history records the ONNX files' answers
    await postJson(item.browser_url, { version: version.number, probabilities: result.probabilities, latency_ms: +result.ms.toFixed(2), variant });
  }

  async function compareOne(item, row, variant) {
    const browser = await classifyUrl(item.file_url, variant);
    const label = version.classes[top(browser.probabilities)];
    row.querySelector(".b-label").textContent = label + " (" + fmt.percent(Math.max(...browser.probabilities)) + ")";
    row.querySelector(".b-ms").textContent = fmt.number(browser.ms, 1);
    const response = await fetch(item.analysis_url + "?version=" + version.number, { credentials: "same-origin" });
    const server = await response.json();
    if (response.ok) {
      row.querySelector(".s-label").textContent = server.label + " (" + fmt.percent(server.confidence) + ")";
      row.querySelector(".s-ms").textContent = fmt.number(server.latency_ms, 1);
      const byLabel = Object.fromEntries(server.predictions.map((p) => [p.label, p.probability]));
      const delta = Math.max(...version.classes.map((c, i) => Math.abs(browser.probabilities[i] - byLabel[c])));
      row.querySelector(".agree").textContent = server.label === label ? "✓ " + texts.agree : "✗ " + texts.disagree;
      row.querySelector(".delta").textContent = fmt.number(delta, 4);
    }
    await record(item, browser, variant);
    return { label, server: response.ok ? server.label : null, ms: browser.ms };
  }

  async function runAll() {
    const variant = $("variant").value;
    $("run-all").disabled = true;
    const rows = document.querySelectorAll("#compare tbody tr[data-index]");
    for (const row of rows) {
      try { await compareOne(config.images[+row.dataset.index], row, variant); }
      catch (error) { row.querySelector(".b-label").textContent = texts.failed; }
    }
    $("run-all").disabled = false;
  }

  // Without its check (a version published before the browser had one, or a file that failed to
  // load) the page still classifies; it only shows no warning.
  const anomalyReady = explain.loadAnomaly(version.anomaly, ort).catch((error) => {
    console.warn("unusual-photo check unavailable:", error.message);
    return null;
  });
  const ready = Promise.all([session("fp32"), anomalyReady]).then(([, check]) => {
    anomaly = check;
    $("engine-status").textContent = "✓ onnxruntime-web " + (ort.env.versions ? ort.env.versions.web || "" : "");
    $("run-all").disabled = false;
    $("local-file").disabled = false;
    $("compare-runtimes").disabled = !config.images.length;
    return true;
  }).catch((error) => {
    $("engine-status").textContent = texts.failed + ": " + error.message;
    throw error;
  });

  function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  // Both runtimes on the same pixels of the first pictures: median network time and largest difference.
  async function compareRuntimes(repeats) {
    const items = config.images.slice(0, 5);
    const pixels = [];
    for (const item of items) pixels.push(await pixelsOf(item.file_url));
    const results = {};
    for (const engine of ["onnx", "tfjs"]) {
      if (engine === "tfjs" && !version.tfjs) continue;
      await runTensor(pixels[0], "fp32", engine); // warm-up: the first run compiles
      const times = [], outputs = [];
      for (const data of pixels) {
        let out;
        for (let r = 0; r < (repeats || 5); r++) { out = await runTensor(data, "fp32", engine); times.push(out.ms); }
        outputs.push(out.probabilities);
      }
      results[engine] = { ms: median(times), outputs };
    }
    let delta = null;
    if (results.tfjs) {
      delta = 0;
      results.onnx.outputs.forEach((row, i) => row.forEach((p, j) => { delta = Math.max(delta, Math.abs(p - results.tfjs.outputs[i][j])); }));
    }
    const backends = { onnx: "WebAssembly", tfjs: window.tf ? window.tf.getBackend() : "—" };
    const names = { onnx: "ONNX Runtime Web", tfjs: "TensorFlow.js " + (window.tf ? window.tf.version.tfjs : "") };
    const body = document.querySelector("#runtimes tbody");
    body.replaceChildren();
    for (const [engine, result] of Object.entries(results)) {
      const row = body.insertRow();
      [names[engine], backends[engine], fmt.number(result.ms, 2), engine === "onnx" ? "—" : fmt.number(delta, 5)]
        .forEach((text) => { row.insertCell().textContent = text; });
    }
    return { onnx_ms: results.onnx.ms, tfjs_ms: results.tfjs ? results.tfjs.ms : null, max_delta: delta, tfjs_backend: backends.tfjs };
  }

  $("run-all").addEventListener("click", runAll);
  $("compare-runtimes").addEventListener("click", async () => {
    $("compare-runtimes").disabled = true;
    try { await compareRuntimes(5); } catch (error) { $("engine-status").textContent = texts.failed + ": " + error.message; }
    $("compare-runtimes").disabled = !config.images.length;
  });
  // One bar per class, highest first, each with its percentage.
  function drawBars(probabilities) {
    const box = $("local-bars");
    box.replaceChildren();
    probabilities.map((p, i) => [version.classes[i], p]).sort((a, b) => b[1] - a[1]).forEach(([name, p], rank) => {
      const row = document.createElement("div");
      row.className = "mb-1";
      const label = document.createElement("div");
      label.className = "d-flex justify-content-between small";
      const nameEl = document.createElement("span");
      nameEl.textContent = name;
      const value = document.createElement("span");
      value.className = "local-value";
      value.textContent = fmt.percent(p);
      label.append(nameEl, value);
      const track = document.createElement("div");
      track.className = "progress";
      track.setAttribute("role", "progressbar");
      track.setAttribute("aria-label", name);
      track.setAttribute("aria-valuenow", (100 * p).toFixed(1));
      track.setAttribute("aria-valuemin", "0");
      track.setAttribute("aria-valuemax", "100");
      const bar = document.createElement("div");
      bar.className = "progress-bar" + (rank === 0 ? "" : " bg-secondary");
      bar.style.width = (100 * p).toFixed(1) + "%";
      track.append(bar);
      row.append(label, track);
      box.append(row);
    });
    box.hidden = false;
  }

  // The verdict as the analysis page words it: a badge, the score against its threshold and, for a
  // score summed from two networks, each one's opinion behind «more details».
  function drawAnomaly(verdict) {
    const box = $("local-anomaly");
    box.replaceChildren();
    if (!verdict) {
      box.appendChild(el("p", { class: "small mb-1" }, runtime() === "tfjs" ? texts.tfjs_only_probabilities : texts.no_browser_check));
      return;
    }
    box.appendChild(el("span", { class: "badge fs-6 " + (verdict.flagged ? "text-bg-warning" : "text-bg-success") }, verdict.flagged ? texts.anomaly : texts.normal));
    box.appendChild(el("span", { class: "ms-2 small" }, texts.score + " " + fmt.number(verdict.score, 2) + " / " + texts.threshold + " " + fmt.number(verdict.threshold, 2)));
    const parts = Object.entries(verdict.parts || {});
    if (parts.length > 1) {
      const more = el("details", { class: "small mt-2" });
      more.appendChild(el("summary", {}, texts.more_details));
      more.appendChild(el("p", { class: "mb-0" }, texts.opinions));
      const list = el("ul", { class: "small mb-0 mt-1" });
      parts.forEach(([name, ratio]) => list.appendChild(el("li", {}, (texts["part_" + name] || name) + ": " + fmt.number(ratio, 2) + (ratio > 1 ? " ⚠" : ""))));
      more.appendChild(list);
      box.appendChild(more);
    }
  }

  // The picture as the reader chose it, and the heatmap stretched over it (as the server's overlay is).
  const PICTURE_WIDTH = 640;
  async function drawPicture(file, map) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const picture = $("local-picture");
    const scale = Math.min(1, PICTURE_WIDTH / bitmap.width); // shown 320 px wide: twice that is sharp enough
    picture.width = Math.round(bitmap.width * scale); picture.height = Math.round(bitmap.height * scale);
    picture.getContext("2d").drawImage(bitmap, 0, 0, picture.width, picture.height);
    const heat = $("local-heat");
    heat.hidden = !map;
    $("local-heat-controls").hidden = !map;
    $("local-heat-none").hidden = Boolean(map);
    $("local-heat-none").textContent = runtime() === "tfjs" ? texts.tfjs_only_probabilities : texts.no_heatmap;
    if (!map) return;
    heat.width = picture.width; heat.height = picture.height;
    explain.paintCam(heat, map, false);
    heat.style.opacity = String($("local-opacity").value / 100);
  }

  $("local-opacity").addEventListener("input", () => {
    $("local-opacity-value").textContent = $("local-opacity").value;
    $("local-heat").style.opacity = String($("local-opacity").value / 100);
  });

  // Classify the picture: ONNX Runtime gives everything the server gives; TensorFlow.js (a copy of
  // the classifier alone) only the probabilities.
  async function explainFile(file, variant) {
    if (runtime() === "tfjs") {
      const result = await classifyBlob(file, variant);
      return { ...result, anomaly: null, cam: null };
    }
    const started = performance.now();
    const data = await window.riimPreprocess.blobToTensorData(file, version.size);
    const result = await explainTensor(data, variant);
    return { ...result, ms: performance.now() - started };
  }

  function showUnusual(flagged) {
    $("local-unusual").hidden = !flagged;
    $("local-unreliable").hidden = !flagged;
  }

  $("local-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    const out = $("local-result");
    // Clear the previous answer first: a file that cannot be decoded must not leave another photo's result.
    out.textContent = file ? texts.working : "";
    out.className = "fw-semibold";
    $("local-bars").hidden = true;
    $("local-details").hidden = true;
    showUnusual(false);
    if (!file) return;
    try {
      const result = await explainFile(file, $("variant").value);
      const index = top(result.probabilities);
      out.textContent = version.classes[index] + " · " + fmt.percent(result.probabilities[index]) + " · " + fmt.number(result.ms, 1) + " " + texts.ms;
      const flagged = Boolean(result.anomaly && result.anomaly.flagged);
      out.classList.toggle("text-body-secondary", flagged);
      showUnusual(flagged);
      drawBars(result.probabilities);
      drawAnomaly(result.anomaly);
      await drawPicture(file, result.cam);
      $("local-details").hidden = false;
      window.riimBrowser.last = { probabilities: result.probabilities, anomaly: result.anomaly, cam: Boolean(result.cam) };
    } catch (error) {
      out.textContent = texts.unreadable.replace("%(name)s", file.name);
      out.className = "fw-semibold text-danger";
    }
  });

  // The served file's answer and anomaly verdict for raw pixels, as the server computes them (tests compare both).
  async function explainPixels(data, variant) {
    const result = await explainTensor(data, variant || "fp32");
    return { probabilities: result.probabilities, anomaly: result.anomaly, cam: Boolean(result.cam) };
  }

  // Used by the parity tests and handy from the console.
  window.riimBrowser = { ready, runTensor, classifyUrl, pixelsOf, compareRuntimes, explainPixels, version, last: null };
})();
