// What the server adds to an answer, computed in the browser from the served file's outputs
// (ONNX Runtime Web): the unusual-photo check and the class-activation heatmap.
//
// The check reads anomaly.json (ml/browser_anomaly.py): for each served file ("fp32", "int8") the
// rule the server scores with, and the detectors (class means and the upper triangle of each
// precision matrix, float32, base64). "distance": the Mahalanobis distance of the file's
// `embedding` to the nearest class mean; "sum_of_ratios": that distance over its threshold plus a
// second file's (the pretrained reference fed by `early_features`, or the unpruned network fed the
// image), as ml.anomaly.PairedDetector sums them. A version without the file has no check here.
(function () {
  function floats(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return new Float32Array(bytes.buffer); // little-endian, as every browser stores floats
  }

  function detector(entry) {
    return {
      transform: entry.transform, threshold: entry.threshold, classes: entry.classes, dim: entry.dim,
      perClass: entry.precisions > 1, means: floats(entry.means), precision: floats(entry.precision),
    };
  }

  // d·P·d from the upper triangle of P stored row by row: the diagonal once, each other pair twice.
  function quadratic(packed, start, v, dim) {
    let total = 0, k = start;
    for (let i = 0; i < dim; i++) {
      const vi = v[i];
      const diagonal = packed[k++] * vi;
      let rest = 0;
      for (let j = i + 1; j < dim; j++) rest += packed[k++] * v[j];
      total += vi * (diagonal + 2 * rest);
    }
    return total;
  }

  // The distance of one embedding to the nearest class mean (ml.anomaly.AnomalyDetector.score).
  function distance(det, embedding) {
    const dim = det.dim;
    if (embedding.length !== dim) throw new Error("the embedding has " + embedding.length + " values, the detector expects " + dim);
    const x = new Float64Array(dim);
    for (let i = 0; i < dim; i++) x[i] = det.transform === "sqrt" ? Math.sqrt(Math.max(embedding[i], 0)) : embedding[i];
    const v = new Float64Array(dim);
    const size = (dim * (dim + 1)) / 2;
    let best = Infinity;
    for (let c = 0; c < det.classes; c++) {
      for (let i = 0; i < dim; i++) v[i] = x[i] - det.means[c * dim + i];
      best = Math.min(best, quadratic(det.precision, det.perClass ? c * size : 0, v, dim));
    }
    return Math.sqrt(Math.max(best, 0));
  }

  // Load a version's anomaly.json ({url, models}: its address and those of the ONNX files its rules
  // may run); null without one. `ort` opens a second file when a rule needs it, once.
  async function loadAnomaly(config, ort) {
    if (!config) return null;
    const response = await fetch(config.url, { credentials: "same-origin" });
    if (!response.ok) throw new Error("anomaly.json: HTTP " + response.status);
    const data = await response.json();
    const detectors = {};
    Object.entries(data.detectors).forEach(([name, entry]) => { detectors[name] = detector(entry); });
    const sessions = {};
    function session(model) {
      if (!sessions[model]) {
        sessions[model] = ort.InferenceSession.create(config.models[model], { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      }
      return sessions[model];
    }
    // Open the second files now, so the first photo's answer does not wait for them.
    await Promise.all(Object.values(data.variants).filter((rule) => rule.second_model).map((rule) => session(rule.second_model)));
    return { variants: data.variants, detectors, session };
  }

  // The served file's outputs the check needs for this variant ([] when there is no check). `feeds`: the
  // served file's inputs by name; a second file fed the same input needs no output for it.
  function anomalyOutputs(anomaly, variant, feeds) {
    const rule = anomaly && anomaly.variants[variant];
    if (!rule) return [];
    return rule.second_input && !(rule.second_input in feeds) ? ["embedding", rule.second_input] : ["embedding"];
  }

  // Score one photo from its served outputs and inputs (ONNX Runtime tensors by name):
  // {score, threshold, flagged, parts} as the server's analysis gives them; null without a check.
  async function scoreAnomaly(anomaly, variant, outputs, feeds) {
    const rule = anomaly && anomaly.variants[variant];
    if (!rule) return null;
    const own = anomaly.detectors[rule.own];
    const served = distance(own, outputs.embedding.data);
    if (rule.rule !== "sum_of_ratios") {
      return { score: served, threshold: rule.threshold, flagged: served > rule.threshold, parts: { served: served / own.threshold } };
    }
    const second = anomaly.detectors[rule.second];
    const session = await anomaly.session(rule.second_model);
    const feed = feeds[rule.second_input] || outputs[rule.second_input];
    const result = await session.run({ [rule.second_input]: feed }, ["embedding"]);
    const parts = { served: served / own.threshold };
    parts[rule.second.split("_")[0]] = distance(second, result.embedding.data) / second.threshold; // reference_int8 is the reference
    const score = Object.values(parts).reduce((a, b) => a + b, 0);
    return { score, threshold: rule.threshold, flagged: score > rule.threshold, parts };
  }

  // The class-activation map of one photo: feature_maps (1, h, w, c) · kernel[:, class], positive
  // evidence only, scaled by its peak to [0, 1] (ml/cam.py). `head` is the kernel as rows of classes.
  function cam(maps, head, classIndex) {
    const [, h, w, c] = maps.dims;
    const values = new Float32Array(h * w);
    let peak = 0;
    for (let k = 0; k < h * w; k++) {
      let sum = 0;
      for (let d = 0; d < c; d++) sum += maps.data[k * c + d] * head[d][classIndex];
      values[k] = Math.max(sum, 0);
      peak = Math.max(peak, values[k]);
    }
    if (peak > 0) for (let k = 0; k < values.length; k++) values[k] /= peak;
    return { width: w, height: h, values };
  }

  // The server's blue-to-red ramp (ml.cam.colorize).
  function ramp(v) {
    const channel = (centre) => Math.round(255 * Math.min(Math.max(1.5 - Math.abs(4 * v - centre), 0), 1));
    return [channel(3), channel(2), channel(1)];
  }

  // Draw a map over the whole canvas, smoothly enlarged. `fade`: weak evidence stays transparent
  // (over a moving camera); otherwise the ramp covers the picture at the canvas's opacity, as the
  // server's overlay does.
  function paintCam(canvas, map, fade) {
    const small = document.createElement("canvas");
    small.width = map.width; small.height = map.height;
    const context = small.getContext("2d");
    const image = context.createImageData(map.width, map.height);
    for (let k = 0; k < map.values.length; k++) {
      const [r, g, b] = ramp(map.values[k]);
      image.data[4 * k] = r; image.data[4 * k + 1] = g; image.data[4 * k + 2] = b;
      image.data[4 * k + 3] = fade ? Math.round(170 * map.values[k]) : 255;
    }
    context.putImageData(image, 0, 0);
    const target = canvas.getContext("2d");
    target.clearRect(0, 0, canvas.width, canvas.height);
    target.imageSmoothingEnabled = true;
    target.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  window.riimExplain = { loadAnomaly, anomalyOutputs, scoreAnomaly, distance, cam, paintCam };
})();
