// Poll a training run and grow its loss/accuracy curves epoch by epoch.
(function () {
  const root = document.getElementById("run");
  if (!root) return;
  const texts = JSON.parse(document.getElementById("run-texts").textContent);
  // Chart.js writes tick numbers with Intl.NumberFormat in the page's language («0,8», not «0.8»).
  Chart.defaults.locale = document.documentElement.lang || undefined;
  const colors = { loss: "#0d6efd", val_loss: "#dc3545", accuracy: "#0d6efd", val_accuracy: "#dc3545" };

  function chart(id, keys) {
    return new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: [], datasets: keys.map((k) => ({ label: texts[k], data: [], borderColor: colors[k], tension: 0.2 })) },
      options: { animation: false, scales: { x: { title: { display: true, text: texts.epoch } } } },
    });
  }
  const lossChart = chart("loss-chart", ["loss", "val_loss"]);
  const accChart = chart("acc-chart", ["accuracy", "val_accuracy"]);

  // "2 min" or "45 s"; what the current stage usually takes here, how long it has run, and the worker's last heartbeat.
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    return s >= 90 ? texts.minutes.replace("%(n)s", Math.round(s / 60)) : texts.seconds.replace("%(n)s", s);
  }
  function stageHint(run, stage) {
    const hint = document.getElementById("run-stage-hint");
    const started = run.progress.stage_started_at ? Date.parse(run.progress.stage_started_at) : NaN;
    const parts = [];
    if (stage && !Number.isNaN(started)) {
      const elapsed = duration((Date.now() - started) / 1000);
      const typical = texts.stage_typical[stage];
      const sentence = (typical ? texts.stage_hint.replace("%(typical)s", duration(typical)) : texts.stage_elapsed)
        .replace("%(stage)s", texts.stages[stage] || stage);
      parts.push(sentence.replace("%(elapsed)s", elapsed));
    }
    if (stage && run.heartbeat_at) parts.push(texts.heartbeat.replace("%(ago)s", duration((Date.now() - Date.parse(run.heartbeat_at)) / 1000)));
    hint.textContent = parts.join(" ");
    hint.hidden = parts.length === 0;
  }

  function update(run) {
    document.getElementById("run-status").textContent = texts.statuses[run.status] || run.status;
    // A finished run has no current stage (it would still read "writing the model card").
    const stage = run.status === "succeeded" ? null : run.progress.stage;
    document.getElementById("run-stage").textContent = stage ? texts.stages[stage] || stage : "—";
    stageHint(run, run.status === "running" ? stage : null);
    // No pretrained weights: say so as soon as the network is built, not only when the run ends.
    const fallback = document.getElementById("run-fallback");
    if (fallback && run.progress.fallback !== null && run.progress.fallback !== undefined) {
      fallback.hidden = false;
      document.getElementById("run-fallback-reason").textContent = run.progress.fallback;
    }
    // Queued past a minute and no worker listens on the run's queue: the API says which queue.
    const notice = document.getElementById("run-worker-notice");
    notice.hidden = !run.worker_notice;
    notice.textContent = run.worker_notice ? run.worker_notice.message : "";
    const bar = document.getElementById("run-bar");
    bar.style.width = run.progress.percent + "%";
    bar.textContent = Math.round(run.progress.percent) + " %";
    bar.parentElement.setAttribute("aria-valuenow", String(run.progress.percent));
    document.getElementById("run-log").textContent = run.log_tail.join("\n");
    const error = document.getElementById("run-error");
    error.hidden = !run.error_message;
    error.textContent = run.error_message;
    const labels = run.curves.map((c, i) => i + 1);
    [[lossChart, ["loss", "val_loss"]], [accChart, ["accuracy", "val_accuracy"]]].forEach(([c, keys]) => {
      c.data.labels = labels;
      keys.forEach((k, i) => { c.data.datasets[i].data = run.curves.map((row) => row[k] ?? null); });
      c.update();
    });
    const cancel = document.getElementById("cancel-btn");
    const active = run.status === "queued" || run.status === "running";
    if (cancel) cancel.hidden = !active;
    document.getElementById("run-stage-line").hidden = !active;
    // The run ended while the page watched it: load it again, so the page says which version it made and
    // whether it was activated, and the "queued" notice from when it started is gone.
    if (!active && root.dataset.active === "1") {
      root.dataset.active = "";
      window.location.reload();
    }
    return active;
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.url, { credentials: "same-origin" });
      if (response.ok && update(await response.json())) setTimeout(poll, 2000);
      else if (!response.ok) setTimeout(poll, 5000);
    } catch (e) {
      setTimeout(poll, 5000);
    }
  }

  const cancel = document.getElementById("cancel-btn");
  if (cancel) {
    cancel.addEventListener("click", async () => {
      await window.riim.postJson(root.dataset.cancelUrl);
      poll();
    });
  }
  poll();
})();
