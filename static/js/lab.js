// The learning lab: quizzes, experiment panels (start, poll, draw the result) and the pages' charts.
(function () {
  const page = document.getElementById("lab-page");
  if (!page) return;
  const T = JSON.parse(document.getElementById("lab-texts").textContent);
  const latest = JSON.parse(document.getElementById("lab-latest").textContent) || {};
  const COLORS = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384", "#6c757d", "#ffc107", "#0dcaf0"];
  // Decimal comma and "99,4 %" in Spanish, like the numbers the templates print (static/js/format.js).
  const fmt = (v, d = 3) => window.riimFormat.number(v, d);
  const pct = (v) => window.riimFormat.percent(v);
  const locale = document.documentElement.lang || undefined;
  // Sizes in kilobytes with the page's decimal mark («845,7 KB»); a tiny number in scientific notation («1,1E-9»).
  const kilobytes = (bytes) => `${fmt(bytes / 1024, 1)} KB`;
  const scientific = (v) => Number(v).toLocaleString(locale, { notation: "scientific", maximumFractionDigits: 1 });
  // Chart.js writes tick numbers with Intl.NumberFormat in this locale: «0,8», «50.000», «−2,2».
  if (window.Chart) Chart.defaults.locale = locale;
  // Augmentation policies of the bandit, in words (their keys are ml.lab.bandit.POLICIES).
  const POLICY_NAMES = {
    none: gettext("no changes"), flip: gettext("mirror"), bright: gettext("brighter"), dark: gettext("darker"),
    crop: gettext("crop"), "flip+crop": gettext("mirror and crop"), all: gettext("all of them"),
  };
  const policyName = (key) => POLICY_NAMES[key] || key;
  const { el, postJson } = window.riim;

  function canvas(parent, label, height = 240) {
    const c = el("canvas", { role: "img", "aria-label": label });
    const wrap = el("div", { style: `position:relative;height:${height}px` }, [c]);
    parent.appendChild(wrap);
    return c;
  }
  function lineChart(c, labels, datasets, xTitle, extra = {}) {
    return new Chart(c, {
      type: "line",
      data: { labels, datasets },
      options: Object.assign({ animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: xTitle } } } }, extra),
    });
  }
  function table(headers, rows) {
    const head = el("thead", {}, [el("tr", {}, headers.map((h) => el("th", { text: h })))]);
    const body = el("tbody", {}, rows.map((r) => el("tr", {}, r.map((v) => el("td", { text: String(v) })))));
    return el("div", { class: "table-responsive" }, [el("table", { class: "table table-sm" }, [head, body])]);
  }
  function coachBox(reading) {
    const box = el("div", { class: "alert alert-light border small mb-0" });
    box.appendChild(el("p", { class: "fw-semibold mb-1", text: T.verdicts[reading.verdict] || reading.verdict }));
    const details = [];
    if (reading.best_epoch) details.push(`${T.best_epoch}: ${T.epoch} ${reading.best_epoch}`);
    if (reading.turn_epoch) details.push(`${T.turn_epoch}: ${T.epoch} ${reading.turn_epoch}`);
    if (reading.final_gap !== null) details.push(`${T.val_loss} − ${T.loss}: ${fmt(reading.final_gap)}`);
    if (reading.accuracy_gap !== null) details.push(`${T.accuracy} − ${T.val_accuracy}: ${fmt(reading.accuracy_gap)}`);
    if (details.length) box.appendChild(el("p", { class: "mb-1", text: details.join(" · ") }));
    const list = el("ul", { class: "mb-0" });
    (reading.signals || []).forEach((s) => list.appendChild(el("li", { text: T.signals[s] || s })));
    (reading.advice || []).forEach((a) => list.appendChild(el("li", { class: "text-success", text: "→ " + (T.advice[a] || a) })));
    box.appendChild(list);
    return box;
  }
  // Draw loss and validation loss with the best epoch and the turn-up epoch marked.
  function curveChart(parent, curves, reading, title) {
    parent.appendChild(el("h3", { class: "h6", text: title }));
    const labels = curves.map((_, i) => i + 1);
    const marks = labels.map((e) => (reading && (e === reading.best_epoch || e === reading.turn_epoch) ? 6 : 0));
    const markColors = labels.map((e) => (reading && e === reading.turn_epoch ? "#fd7e14" : "#198754"));
    lineChart(canvas(parent, title), labels, [
      { label: T.loss, data: curves.map((r) => r.loss), borderColor: COLORS[0], pointRadius: 0, tension: 0.2, yAxisID: "y" },
      { label: T.val_loss, data: curves.map((r) => r.val_loss), borderColor: COLORS[1], pointRadius: marks, pointBackgroundColor: markColors, tension: 0.2, yAxisID: "y" },
      { label: T.val_accuracy, data: curves.map((r) => r.val_accuracy), borderColor: COLORS[2], borderDash: [4, 4], pointRadius: 0, yAxisID: "y1", hidden: !curves.some((r) => r.val_accuracy != null) },
    ], T.epoch, { scales: {
      x: { title: { display: true, text: T.epoch } },
      // The losses get their own axis, as high as they go: a dataset without one would take the
      // first configured y axis, the 0..1 accuracy one, and a rising validation loss would leave the chart.
      y: { position: "left", beginAtZero: true, title: { display: true, text: T.loss } },
      y1: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: T.val_accuracy } },
    } });
  }

  // Quizzes -----------------------------------------------------------------------------------------
  // The right option is not in the page: the server records the answer and says whether it was right.
  document.querySelectorAll(".quiz-question").forEach((q) => {
    const feedback = q.querySelector("[data-quiz-feedback]");
    q.querySelectorAll("[data-quiz-option]").forEach((button) => {
      button.addEventListener("click", async () => {
        let answer;
        try {
          const sent = await postJson(q.dataset.quizUrl, { option: Number(button.dataset.quizOption), project: q.dataset.project || null });
          if (!sent.ok) throw new Error(sent.data.detail || sent.status);
          answer = sent.data;
        } catch (err) {
          feedback.textContent = feedback.dataset.error;
          feedback.className = "small mt-2 mb-0 fw-semibold text-danger-emphasis";
          return;
        }
        const right = answer.correct;
        // A solid button replaces the outline one: the outline's grey text on a green fill was unreadable.
        q.querySelectorAll("[data-quiz-option]").forEach((b) => {
          b.classList.remove("btn-success", "btn-danger");
          b.classList.add("btn-outline-secondary");
          b.setAttribute("aria-pressed", "false");
        });
        button.classList.remove("btn-outline-secondary");
        button.classList.add(right ? "btn-success" : "btn-danger");
        button.setAttribute("aria-pressed", "true");
        // The explanation of a right answer already says it is right ("Correct: …"): no second verdict before it.
        feedback.textContent = right ? answer.feedback : T.wrong + " " + answer.feedback;
        feedback.className = "small mt-2 mb-0 fw-semibold " + (right ? "text-success-emphasis" : "text-danger-emphasis");
      });
    });
  });

  // Result renderers by experiment kind ---------------------------------------------------------------
  const render = {
    overfitting(r, box) {
      box.appendChild(el("p", { class: "small", text: `${r.subset_size} → ${r.augmented_size} · ${T.val_loss}: ${r.validation_size}` }));
      const row = el("div", { class: "row g-3" });
      [["plain", r.plain], ["regularized", r.regularized]].forEach(([key, curves]) => {
        const col = el("div", { class: "col-md-6" });
        curveChart(col, curves, r.coach[key], T[key]);
        col.appendChild(coachBox(r.coach[key]));
        row.appendChild(col);
      });
      box.appendChild(row);
      // The same comparison on other seeds: does regularization narrow the gap here, and how much does it vary?
      const seeds = r.seeds;
      if (seeds && seeds.plain.gaps.length && seeds.regularized.gaps.length) {
        const n = Math.min(seeds.plain.gaps.length, seeds.regularized.gaps.length);
        const narrower = seeds.plain.gaps.slice(0, n).filter((gap, i) => seeds.regularized.gaps[i] < gap).length;
        const holds = narrower >= Math.ceil(0.8 * n);
        const sentence = T.seeds_gap.replace("%(n)s", seeds.n)
          .replace("%(plain)s", fmt(seeds.plain.mean)).replace("%(plain_std)s", fmt(seeds.plain.std))
          .replace("%(reg)s", fmt(seeds.regularized.mean)).replace("%(reg_std)s", fmt(seeds.regularized.std));
        box.appendChild(el("div", { class: "alert mt-3 mb-0 " + (holds ? "alert-success" : "alert-warning"), id: "overfitting-seeds" }, [
          el("p", { class: "mb-1", text: sentence }),
          el("p", { class: "mb-0 fw-semibold", text: holds ? T.seeds_holds : T.seeds_not }),
        ]));
      }
    },
    splits(r, box) {
      const labels = r.single_splits.map((_, i) => i + 1);
      new Chart(canvas(box, T.single_split), {
        type: "bar",
        data: { labels, datasets: [
          { type: "bar", label: T.single_split, data: r.single_splits, backgroundColor: "#0d6efd88" },
          { type: "line", label: `${T.mean} · ${gettext("cross-validation")} (k=${r.kfold.k})`, data: labels.map(() => r.kfold.mean), borderColor: COLORS[1], pointRadius: 0 },
        ] },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } } },
      });
      box.appendChild(el("p", { class: "small mt-2", text:
        `${T.single_split}: ${fmt(r.single_min)} – ${fmt(r.single_max)} (n=${r.test_size}) · ${gettext("cross-validation")}: ${fmt(r.kfold.mean)} ± ${fmt(r.kfold.std)}` }));
      box.appendChild(table([T.fold, T.val_accuracy, gettext("photos")], r.kfold.per_fold.map((f) => [f.fold, fmt(f.accuracy), f.n])));
    },
    label_noise(r, box) {
      const labels = r.rows.map((row) => Math.round(100 * row.fraction));
      lineChart(canvas(box, T.test_accuracy), labels, [
        { label: T.test_accuracy, data: r.rows.map((row) => row.accuracy), borderColor: COLORS[0],
          pointRadius: r.rows.map((row) => (Math.abs(row.fraction - r.chosen) < 1e-6 ? 7 : 3)) },
      ], T.flipped, { scales: { x: { title: { display: true, text: T.flipped } }, y: { min: 0, max: 1 } } });
      box.appendChild(table([T.flipped, gettext("photos"), T.test_accuracy, gettext("± spread")], r.rows.map((row) => [Math.round(100 * row.fraction), row.flipped, fmt(row.accuracy), fmt(row.std)])));
    },
    clusters(r, box) {
      const by = { mode: "cluster" };
      const classIndex = (label) => (label ? r.classes.indexOf(label) : -1);
      const groups = () => {
        const keyOf = (p) => (by.mode === "cluster" ? p.cluster : classIndex(p.label));
        const keys = [...new Set(r.points.map(keyOf))].sort((a, b) => a - b);
        return keys.map((k) => ({
          label: by.mode === "cluster" ? `${T.cluster} ${k + 1}` : (k >= 0 ? r.classes[k] : T.unlabeled),
          data: r.points.filter((p) => keyOf(p) === k).map((p) => ({ x: p.x, y: p.y, id: p.id, label: p.label, cluster: p.cluster })),
          backgroundColor: k >= 0 ? COLORS[k % COLORS.length] : "#adb5bd",
        }));
      };
      const toggle = el("div", { class: "btn-group btn-group-sm mb-2", role: "group" });
      const chartCanvas = canvas(box, T.cluster, 340);
      const chart = new Chart(chartCanvas, { type: "scatter", data: { datasets: groups() }, options: { animation: false, maintainAspectRatio: false,
        plugins: { tooltip: { callbacks: { label: (ctx) => `#${ctx.raw.id} ${ctx.raw.label || T.unlabeled} · ${T.cluster} ${ctx.raw.cluster + 1}` } } } } });
      [["cluster", T.cluster], ["label", T.label]].forEach(([mode, text]) => {
        const b = el("button", { type: "button", class: "btn btn-outline-primary" + (mode === "cluster" ? " active" : ""), text });
        b.addEventListener("click", () => {
          by.mode = mode; chart.data.datasets = groups(); chart.update();
          toggle.querySelectorAll("button").forEach((x) => x.classList.toggle("active", x === b));
        });
        toggle.appendChild(b);
      });
      box.insertBefore(toggle, chartCanvas.parentElement);
      if (r.agreement) {
        box.appendChild(el("p", { class: "small mt-2", text: `${T.label} ↔ ${T.cluster}: ${pct(r.agreement.matched_accuracy)}` }));
        // The agreement scores, explained, for whoever wants the technical names.
        box.appendChild(el("details", { class: "small mb-2" }, [
          el("summary", { text: gettext("more details") }),
          el("p", { class: "mb-0", text: interpolate(gettext("ARI (adjusted Rand index) %(ari)s and NMI (normalized mutual information) %(nmi)s measure how well the groups match the labels: 1 means the same groups, 0 what chance would give. Purity %(purity)s is the share of photos whose group's most common label is their own."), { ari: fmt(r.agreement.ari), nmi: fmt(r.agreement.nmi), purity: pct(r.agreement.purity) }, true) }),
        ]));
        box.appendChild(table([T.label, ...r.agreement.table[0].map((_, k) => `${T.cluster} ${k + 1}`)],
          r.agreement.table.map((row, i) => [r.classes[i] || i, ...row])));
      }
      const clusters = [...new Set(r.points.map((p) => p.cluster))].sort((a, b) => a - b);
      clusters.forEach((k) => {
        const strip = el("div", { class: "d-flex flex-wrap gap-1 mb-2 align-items-center" }, [el("span", { class: "badge me-2", style: `background:${COLORS[k % COLORS.length]}`, text: `${T.cluster} ${k + 1}` })]);
        r.points.filter((p) => p.cluster === k).slice(0, 8).forEach((p) => strip.appendChild(el("img", { src: p.thumb, alt: p.label || T.unlabeled, title: p.label || T.unlabeled, width: "56", height: "56", class: "rounded border object-fit-cover", loading: "lazy" })));
        box.appendChild(strip);
      });
      if (r.anomalies && r.anomalies.length) {
        box.appendChild(el("h3", { class: "h6 mt-3", text: T.worst_copied }));
        const strip = el("div", { class: "d-flex flex-wrap gap-2" });
        r.anomalies.forEach((a) => strip.appendChild(el("figure", { class: "figure mb-0 text-center" }, [
          el("img", { src: a.thumb, alt: a.label || T.unlabeled, width: "72", height: "72", class: "rounded border object-fit-cover", loading: "lazy" }),
          el("figcaption", { class: "figure-caption small", text: fmt(a.error, 4) }),
        ])));
        box.appendChild(strip);
      }
    },
    bandit(r, box) {
      const labels = r.agent.rewards.map((_, i) => i + 1);
      lineChart(canvas(box, T.reward), labels, [
        { label: T.reward, data: r.agent.rewards, borderColor: "#0d6efd55", showLine: false, pointRadius: 3 },
        { label: T.mean_reward, data: r.agent.mean_reward, borderColor: COLORS[0], pointRadius: 0 },
        { label: T.random_reward, data: r.random.mean_reward, borderColor: COLORS[7], borderDash: [5, 5], pointRadius: 0 },
      ], T.step);
      new Chart(canvas(box, T.value, 200), { type: "bar", data: { labels: r.actions.map(policyName), datasets: [{ label: T.value, data: r.actions.map((a) => r.agent.values[a]), backgroundColor: r.actions.map((a) => (a === r.agent.best ? COLORS[2] : "#0d6efd88")) }] },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } } } });
      box.appendChild(table([T.policy, T.value, T.times], r.actions.map((a) => [`${policyName(a)}${a === r.agent.best ? " ★" : ""}`, fmt(r.agent.values[a]), r.agent.counts[a]])));
    },
    compression(r, box) {
      const keys = Object.keys(r.variants);
      const rows = keys.map((k) => { const v = r.variants[k]; const h = v.histogram;
        return [T.variants[k] || k, kilobytes(v.bytes), v.label ? `${v.label} (${fmt(v.probability)})` : "—", fmt(v.latency_ms, 2), h.zeros === null ? "—" : pct(h.zeros), h.distinct]; });
      box.appendChild(table(["", T.size, T.label, T.latency + " (ms)", T.zeros, T.distinct], rows));
      const row = el("div", { class: "row g-3" });
      keys.forEach((k, i) => {
        const col = el("div", { class: "col-md-" + (keys.length === 1 ? "12" : keys.length === 2 ? "6" : "4") });
        const h = r.variants[k].histogram;
        col.appendChild(el("h3", { class: "h6", text: T.variants[k] || k }));
        new Chart(canvas(col, T.weights, 180), { type: "bar", data: { labels: h.bins.map((b) => fmt(b, 3)), datasets: [{ label: T.weights, data: h.counts, backgroundColor: COLORS[i] }] },
          options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: T.weight_value }, ticks: { maxTicksLimit: 5 } }, y: { type: "logarithmic" } } } });
        if (r.variants[k].heatmap) col.appendChild(el("img", { src: r.variants[k].heatmap, alt: T.variants[k] || k, class: "img-fluid rounded border mt-2" }));
        row.appendChild(col);
      });
      box.appendChild(row);
    },
    autoencoder(r, box) {
      const grid = el("div", { class: "row row-cols-3 g-2 text-center small" });
      [T.input, T.reconstruction, T.error_map].forEach((t) => grid.appendChild(el("div", { class: "col fw-semibold", text: t })));
      r.images.forEach((row) => {
        grid.appendChild(el("div", { class: "col" }, [el("img", { src: row.input, alt: T.input, class: "img-fluid rounded border", width: "128" }), el("div", { text: `${row.label || T.unlabeled}` })]));
        grid.appendChild(el("div", { class: "col" }, row.reconstruction ? [el("img", { src: row.reconstruction, alt: T.reconstruction, class: "img-fluid rounded border", width: "128" })] : [el("span", { class: "text-muted", text: T.no_reconstruction })]));
        grid.appendChild(el("div", { class: "col" }, [el("img", { src: row.error_map, alt: T.error_map, class: "img-fluid rounded border", width: "128" }), el("div", { text: fmt(row.error, 4) })]));
      });
      box.appendChild(grid);
    },
  };

  // Experiment panels -----------------------------------------------------------------------------------
  document.querySelectorAll(".lab-experiment").forEach((panel) => {
    const kind = panel.dataset.kind;
    const form = panel.querySelector(".lab-experiment-form");
    const bar = panel.querySelector("[data-lab-progress]");
    const status = panel.querySelector("[data-lab-status]");
    const error = panel.querySelector("[data-lab-error]");
    const result = panel.querySelector("[data-lab-result]");
    const button = panel.querySelector("[data-lab-start]");
    if (!form) return;

    function show(exp) {
      const active = exp.status === "queued" || exp.status === "running";
      bar.hidden = !active;
      bar.setAttribute("aria-valuenow", String(exp.percent));
      bar.firstElementChild.style.width = exp.percent + "%";
      bar.firstElementChild.textContent = Math.round(exp.percent) + " %";
      let text = `${T[exp.status] || exp.status_display}` + (exp.version ? ` · v${exp.version}` : "");
      if (exp.message && active) text += ` · ${exp.message}`;
      if (exp.seconds) text += ` · ${fmt(exp.seconds, 1)} ${T.seconds}`;
      status.textContent = text;
      error.hidden = exp.status !== "failed";
      error.textContent = exp.error ? `${T.error}: ${exp.error}` : "";
      if (button) button.disabled = active;
      if (exp.status === "succeeded" && exp.result && result.dataset.shown !== String(exp.id)) {
        result.replaceChildren();
        render[kind](exp.result, result);
        result.dataset.shown = String(exp.id);
      }
      return active;
    }
    async function poll(url) {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok && show(await response.json())) setTimeout(() => poll(url), 1000);
        else if (!response.ok) setTimeout(() => poll(url), 4000);
      } catch (e) {
        setTimeout(() => poll(url), 4000);
      }
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const params = Object.fromEntries(new FormData(form).entries());
      button.disabled = true;
      const answer = await postJson(page.dataset.startUrl, { kind, params });
      if (!answer.ok) {
        button.disabled = false;
        error.hidden = false;
        error.textContent = answer.data.detail || answer.statusText;
        return;
      }
      if (show(answer.data)) poll(answer.data.url);
    });
    // The latest experiment of this kind, as the page was drawn: followed at the address the panel names.
    const last = latest[kind];
    if (last && show(last) && panel.dataset.url) poll(panel.dataset.url);
  });

  // Static page data -----------------------------------------------------------------------------------
  const runsData = document.getElementById("lab-runs-data");
  if (runsData) {
    const holder = document.getElementById("lab-runs");
    JSON.parse(runsData.textContent).forEach((run) => {
      const col = el("div", { class: "col-md-6" });
      curveChart(col, run.curves, run.reading, (run.version ? `v${run.version} · ` : "") + `#${run.id}`);
      col.appendChild(coachBox(run.reading));
      holder.appendChild(col);
    });
  }
  const kfoldData = document.getElementById("lab-kfold-data");
  if (kfoldData) {
    const rows = JSON.parse(kfoldData.textContent);
    document.querySelectorAll(".lab-kfold-chart").forEach((c) => {
      const row = rows[Number(c.dataset.index)];
      const labels = row.per_fold.map((f) => `${T.fold} ${f.fold}`);
      new Chart(c, { type: "bar", data: { labels, datasets: [
        { type: "bar", label: T.val_accuracy, data: row.per_fold.map((f) => f.accuracy), backgroundColor: "#0d6efd88" },
        { type: "line", label: gettext("mean ± spread"), data: labels.map(() => row.summary.mean), borderColor: COLORS[1], pointRadius: 0 },
        { type: "line", label: gettext("mean + spread"), data: labels.map(() => row.summary.mean + row.summary.std), borderColor: COLORS[1], borderDash: [4, 4], pointRadius: 0 },
        { type: "line", label: gettext("mean − spread"), data: labels.map(() => row.summary.mean - row.summary.std), borderColor: COLORS[1], borderDash: [4, 4], pointRadius: 0 },
      ] }, options: { animation: false, scales: { y: { min: 0, max: 1 } } } });
    });
  }
  const curveData = document.getElementById("lab-curve-data");
  if (curveData) {
    const points = JSON.parse(curveData.textContent);
    new Chart(document.getElementById("lab-curve-chart"), { type: "scatter", data: { datasets: [{
      label: T.holdout_accuracy, data: points.map((p) => ({ x: p.train_images, y: p.accuracy, v: p.version })), borderColor: COLORS[0], backgroundColor: COLORS[0], showLine: true, pointRadius: 5 }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: (ctx) => `v${ctx.raw.v}: ${ctx.raw.x} → ${fmt(ctx.raw.y)}` } } },
        scales: { x: { title: { display: true, text: T.train_images } }, y: { min: 0, max: 1, title: { display: true, text: T.holdout_accuracy } } } } });
  }
  const bpData = document.getElementById("lab-backprop-data");
  if (bpData) {
    const bp = JSON.parse(bpData.textContent);
    const root = document.getElementById("lab-backprop");
    let current = 0;
    const chart = lineChart(document.getElementById("lab-bp-chart"), bp.steps.map((s) => s.step), [
      { label: T.loss, data: bp.steps.map((s) => s.loss), borderColor: COLORS[1], pointRadius: bp.steps.map((_, i) => (i === 0 ? 6 : 2)) },
    ], T.step);
    function matrix(name, w, g, n) {
      const rows = Array.isArray(w[0]) ? w : [w];
      const gr = Array.isArray(g[0]) ? g : [g];
      const nr = Array.isArray(n[0]) ? n : [n];
      const body = rows.map((r, i) => el("tr", {}, r.map((v, j) => el("td", { class: "font-monospace", text: `${fmt(v)} · ${fmt(gr[i][j], 4)} · ${fmt(nr[i][j], 4)}` }))));
      return el("div", { class: "mb-2" }, [el("div", { class: "fw-semibold", text: name }), el("div", { class: "table-responsive" }, [el("table", { class: "table table-sm table-bordered mb-0" }, [el("tbody", {}, body)])])]);
    }
    function showStep(i) {
      current = Math.max(0, Math.min(bp.steps.length - 1, i));
      const s = bp.steps[current];
      root.querySelector("[data-bp-step]").textContent = String(current);
      root.querySelector("[data-bp-loss]").textContent = fmt(s.loss, 4);
      const right = bp.classes.indexOf(bp.image.label);
      const share = right >= 0 ? s.activations.probabilities[right] : null;
      root.querySelector("[data-bp-plain]").textContent = (current === 0 ? T.bp_start + " " : "") + (share === null ? "" :
        T.bp_plain.replace("%(step)s", current).replace("%(p)s", pct(share)).replace("%(label)s", bp.image.label).replace("%(loss)s", fmt(s.loss, 2)));
      root.querySelector("[data-bp-check]").textContent = scientific(s.max_relative_error);
      const acts = root.querySelector("[data-bp-activations]");
      acts.replaceChildren();
      [["z1", "z = x·W1 + b1"], ["a1", "a = tanh(z)"], ["logits", "logits = a·W2 + b2"], ["probabilities", "softmax"]].forEach(([k, label]) => {
        const values = s.activations[k].map((v, j) => (k === "probabilities" ? `${bp.classes[j]}: ${fmt(v)}` : fmt(v)));
        acts.appendChild(el("div", {}, [el("code", { text: label }), document.createTextNode(" → " + values.join(", "))]));
      });
      const weights = root.querySelector("[data-bp-weights]");
      weights.replaceChildren();
      ["W1", "b1", "W2", "b2"].forEach((k) => weights.appendChild(matrix(k, s.weights[k], s.gradients[k], s.numeric_gradients[k])));
      chart.data.datasets[0].pointRadius = bp.steps.map((_, j) => (j === current ? 6 : 2));
      chart.update();
    }
    root.querySelector("[data-bp-next]").addEventListener("click", () => showStep(current + 1));
    root.querySelector("[data-bp-prev]").addEventListener("click", () => showStep(current - 1));
    showStep(0);
  }
})();
