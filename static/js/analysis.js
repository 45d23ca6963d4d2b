// The result page: fetch the stored analysis (computed on first request), draw the probability
// chart, tags, anomaly verdict, the heatmap with its opacity slider and the network view.
(function () {
  const root = document.getElementById("analysis");
  if (!root) return;
  const config = JSON.parse(document.getElementById("analysis-config").textContent);
  const texts = JSON.parse(document.getElementById("analysis-texts").textContent);
  const params = new URLSearchParams(window.location.search);
  const version = params.get("version");
  const query = version ? "?version=" + encodeURIComponent(version) : "";
  const { $, el } = window.riim;

  function pct(value) { return window.riimFormat.percent(value); }
  // A layer's output shape as sizes: "(None, 112, 112, 8)" → "112 × 112 × 8" (the batch dimension is not a size).
  function shapeText(shape) { return (String(shape).match(/\d+/g) || []).join(" × "); }
  // Chart.js writes tick numbers with Intl.NumberFormat in the page's language.
  if (window.Chart) window.Chart.defaults.locale = document.documentElement.lang || undefined;
  // Where a tag comes from, in words (the API sends the key).
  const TAG_SOURCES = { pixels: gettext("pixels"), model: gettext("your model"), imagenet: gettext("ImageNet") };

  function showError(message) {
    const box = $("analysis-error");
    box.textContent = message;
    box.classList.remove("d-none");
    root.setAttribute("aria-busy", "false");
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || texts.failed);
    return body;
  }

  function drawChart(predictions) {
    const labels = predictions.map((p) => p.label);
    const values = predictions.map((p) => +(100 * p.probability).toFixed(2));
    const tbody = $("probabilities-table").querySelector("tbody");
    predictions.forEach((p) => {
      const row = el("tr");
      row.appendChild(el("th", { scope: "row" }, p.label));
      row.appendChild(el("td", {}, pct(p.probability)));
      tbody.appendChild(row);
    });
    if (!window.Chart) return;
    new window.Chart($("probabilities-chart"), {
      type: "bar",
      data: { labels, datasets: [{ label: texts.probability + " (%)", data: values, backgroundColor: values.map((_, i) => (i === 0 ? "#0d6efd" : "#9ec5fe")) }] },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false, scales: { x: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
    });
  }

  function tagBadge(tag) {
    const badge = el("span", { class: "badge rounded-pill me-1 mb-1 " + (tag.source === "pixels" ? "text-bg-secondary" : tag.source === "model" ? "text-bg-primary" : tag.kind === "unsure" ? "text-bg-light border" : "text-bg-info"), title: (TAG_SOURCES[tag.source] || tag.source) + " · " + window.riimFormat.number(tag.score, 2) });
    badge.textContent = tag.name + " ";
    badge.appendChild(el("small", { class: "opacity-75" }, "(" + (TAG_SOURCES[tag.source] || tag.source) + (tag.kind === "category" ? " · " + window.riimFormat.percent(tag.score) : "") + ")"));
    return badge;
  }

  // What is in the photo (its categories, the model's tags) first; ImageNet's fine English names and
  // the pixel measurements behind «more details».
  function drawTags(tags) {
    const box = $("tags");
    if (!tags.length) { box.textContent = "—"; return; }
    const details = tags.filter((tag) => tag.kind === "detail" || tag.source === "pixels");
    tags.filter((tag) => !details.includes(tag)).forEach((tag) => box.appendChild(tagBadge(tag)));
    if (details.length) {
      const more = el("details", { class: "d-inline-block", id: "tag-details" });
      more.appendChild(el("summary", { class: "small" }, gettext("more details")));
      details.forEach((tag) => more.appendChild(tagBadge(tag)));
      box.appendChild(more);
    }
  }

  function drawAnomaly(data) {
    const box = $("anomaly");
    if (!data.anomaly) { box.textContent = "—"; return; }
    const a = data.anomaly;
    const badge = el("span", { class: "badge fs-6 " + (a.is_anomaly ? "text-bg-warning" : "text-bg-success") }, a.is_anomaly ? texts.anomaly : texts.normal);
    box.appendChild(badge);
    box.appendChild(el("span", { class: "ms-2 small" }, texts.score + " " + window.riimFormat.number(a.score, 2) + " / " + texts.threshold + " " + window.riimFormat.number(a.threshold, 2)));
    const parts = Object.entries(a.parts || {});
    if (parts.length > 1) {
      // Which network found the picture unusual: each ratio is that detector's distance over its own threshold.
      const list = el("ul", { class: "small mb-0 mt-1" });
      parts.forEach(([name, ratio]) => {
        list.appendChild(el("li", {}, (texts["part_" + name] || name) + ": " + window.riimFormat.number(ratio, 2) + (ratio > 1 ? " ⚠" : "")));
      });
      // The detectors' names and ratios are for whoever wants them: behind «more details».
      const more = el("details", { class: "small mt-2" });
      more.appendChild(el("summary", {}, gettext("more details")));
      more.appendChild(el("p", { class: "mb-0" }, texts.opinions));
      more.appendChild(list);
      box.appendChild(more);
    }
    if (data.explanation && data.explanation.anomaly_sentence) box.appendChild(el("p", { class: "mb-0 mt-1" }, data.explanation.anomaly_sentence));
    if (data.anomaly_error_map_url) {
      const button = $("error-map-btn");
      button.classList.remove("d-none");
      button.addEventListener("click", () => {
        const img = $("error-map");
        img.src = data.anomaly_error_map_url;
        img.classList.remove("d-none");
        button.disabled = true;
      });
    }
  }

  function drawHeat(explanation) {
    if (!explanation || !explanation.available) return;
    const heat = $("heat");
    heat.src = explanation.cam_url || explanation.heatmap_url;
    heat.classList.remove("d-none");
    $("heat-sentence").textContent = explanation.sentence || "";
    const slider = $("opacity");
    const apply = () => { heat.style.opacity = slider.value / 100; $("opacity-value").textContent = slider.value; };
    slider.addEventListener("input", apply);
    apply();
  }

  function drawNetwork(network) {
    const box = $("network");
    const detail = $("layer-detail");
    // A nested model (the pretrained backbone) is drawn as its own layers: its summary row and its
    // second input (the same image) would only repeat them.
    const names = network.layers.map((row) => row.name);
    const layers = network.layers.filter((row) =>
      !names.some((name) => name.startsWith(row.name + "/")) && !(row.type === "InputLayer" && row.name.includes("/")));
    const sizes = layers.map((row) => {
      const dims = (row.output_shape.match(/\d+/g) || []).map(Number);
      return dims.reduce((a, b) => a * b, 1);
    });
    const biggest = Math.max(1, ...sizes);
    layers.forEach((row, index) => {
      const node = el("div", { class: "net-layer" + (row.activation ? " has-act" : ""), role: "option", tabindex: "0", "aria-selected": "false", "data-index": String(index) });
      node.appendChild(el("div", { class: "fw-semibold text-truncate" }, row.type));
      node.appendChild(el("div", { class: "text-muted text-truncate" }, row.name.split("/").pop()));
      node.appendChild(el("div", {}, shapeText(row.output_shape)));
      const bar = el("div", { class: "bar" });
      bar.style.height = Math.max(2, Math.round(40 * Math.sqrt(sizes[index] / biggest))) + "px";
      node.appendChild(bar);
      const select = () => {
        box.querySelectorAll(".net-layer").forEach((n) => { n.classList.remove("selected"); n.setAttribute("aria-selected", "false"); });
        node.classList.add("selected");
        node.setAttribute("aria-selected", "true");
        detail.textContent = "";
        // Plain words first; the layer's name, type, output shape and parameters behind «more details».
        detail.appendChild(el("p", { class: "mb-1" }, interpolate(gettext("Layer %(n)s of %(total)s, from the photo (first) to the answer (last)."), { n: index + 1, total: layers.length }, true)));
        const more = el("details", { class: "small text-muted mb-1" });
        more.appendChild(el("summary", {}, gettext("more details")));
        more.appendChild(el("p", { class: "mb-0" }, row.name + " · " + row.type + " · " + texts.output + " " + shapeText(row.output_shape) + " · " + row.params.toLocaleString(document.documentElement.lang) + " " + texts.params));
        detail.appendChild(more);
        if (row.url) {
          detail.appendChild(el("p", { class: "small text-muted mb-1" }, texts.channels_shown + (row.stats ? " (" + interpolate(gettext("mean %(mean)s, maximum %(max)s"), { mean: window.riimFormat.number(row.stats.mean, 2), max: window.riimFormat.number(row.stats.max, 2) }, true) + ")" : "")));
          detail.appendChild(el("img", { class: "feature-grid", src: row.url, width: "396", alt: row.name }));
        } else {
          detail.appendChild(el("p", { class: "small text-muted" }, texts.no_activation));
        }
      };
      node.addEventListener("click", select);
      node.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(); } });
      box.appendChild(node);
    });
    const first = box.querySelector(".net-layer.has-act");
    if (first) first.click();
  }

  async function load() {
    try {
      const data = await getJson(config.analysis_url + query);
      $("label").textContent = data.label;
      $("confidence").textContent = pct(data.confidence);
      // A photo unlike the training ones: the warning is the headline, the class guess is marked unreliable.
      const unusual = Boolean(data.anomaly && data.anomaly.is_anomaly);
      $("unusual-headline").hidden = !unusual;
      $("label-unreliable").hidden = !unusual;
      $("label").classList.toggle("text-body-secondary", unusual);
      $("meta").textContent = "v" + data.model_version + " · " + (data.ran_on === "browser" ? texts.browser : texts.server) + " · " + window.riimFormat.number(data.latency_ms, 1) + " " + texts.ms;
      drawChart(data.predictions);
      drawTags(data.tags || []);
      drawAnomaly(data);
      drawHeat(data.explanation);
      root.setAttribute("aria-busy", "false");
      if (data.explanation && data.explanation.feature_maps_url) drawNetwork(await getJson(data.explanation.feature_maps_url));
    } catch (error) {
      showError(error.message);
    }
  }

  const refresh = $("refresh-btn");
  if (refresh) {
    refresh.addEventListener("click", async () => {
      refresh.disabled = true;
      const answer = await window.riim.postJson(refresh.dataset.url);
      $("refresh-status").textContent = answer.ok ? "✓ " + answer.data.images : answer.data.detail || texts.failed;
    });
  }
  load();
})();
