// Import page: a zip is previewed first (its folders mapped to classes), loose photos take one class;
// then the file goes to the project's import API and the page polls the summary at the address it answers.
(function () {
  const form = document.getElementById("import-form");
  if (!form) return;
  const texts = JSON.parse(document.getElementById("import-texts").textContent);
  const project = document.getElementById("import-project");
  const input = document.getElementById("import-file");
  const mapping = document.getElementById("mapping");
  const rows = document.getElementById("mapping-rows");
  const refusedList = document.getElementById("preview-refused");
  const single = document.getElementById("single-class");
  const error = document.getElementById("import-error");
  const start = document.getElementById("import-start");
  const progress = document.getElementById("import-progress");
  const bar = document.getElementById("import-bar");
  const statusLabel = document.getElementById("import-status");
  const summary = document.getElementById("import-summary");
  let mode = null; // "zip" (folders mapped) or "single" (one class for everything)

  const classes = () => (project.selectedOptions[0].dataset.classes || "").split(",").filter(Boolean);
  const isZip = (file) => /\.zip$/i.test(file.name) || file.type === "application/zip";

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function classSelect(id, chosen, allowSkip) {
    const select = document.createElement("select");
    select.className = "form-select form-select-sm";
    select.id = id;
    const empty = document.createElement("option");
    empty.value = "";
    empty.textContent = allowSkip ? texts.skip : texts.ask;
    select.append(empty);
    for (const name of classes()) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = name === chosen;
      select.append(option);
    }
    return select;
  }

  // A network failure leaves no body: the message then says the connection failed.
  const detail = (body) => body.detail || Object.values(body).flat().join(" ") || texts.network;
  // The chosen project's import and preview addresses, rendered on its option.
  const urls = () => project.selectedOptions[0].dataset;

  async function preview() {
    showError("");
    summary.hidden = true;
    mapping.hidden = true;
    single.hidden = true;
    start.disabled = true;
    rows.replaceChildren();
    refusedList.replaceChildren();
    const files = Array.from(input.files);
    if (!files.length) return;
    if (files.length === 1 && isZip(files[0])) {
      const data = new FormData();
      data.append("file", files[0]);
      const answer = await window.riim.upload(urls().previewUrl, data);
      if (answer.status !== 200) return showError(detail(answer.data));
      const folders = answer.data.folders;
      if (folders.length === 1 && folders[0].name === "") return askSingle();
      mode = "zip";
      folders.forEach((folder, i) => {
        const tr = document.createElement("tr");
        const name = document.createElement("th");
        name.scope = "row";
        name.textContent = folder.name || texts.top_level;
        const count = document.createElement("td");
        count.textContent = folder.files;
        const cell = document.createElement("td");
        const select = classSelect("map-" + i, folder.proposed, true);
        select.dataset.folder = folder.name;
        select.setAttribute("aria-label", texts.klass + ": " + (folder.name || texts.top_level));
        cell.append(select);
        if (folder.match) {
          const hint = document.createElement("span");
          hint.className = "small text-muted ms-2";
          hint.textContent = folder.match === "exact" ? texts.proposed_exact : texts.proposed_synonym;
          cell.append(hint);
        }
        tr.append(name, count, cell);
        rows.append(tr);
      });
      for (const row of answer.data.refused) {
        const li = document.createElement("li");
        li.textContent = texts.refused + ": " + row.name + " — " + row.reason;
        refusedList.append(li);
      }
      mapping.hidden = false;
      start.disabled = false;
    } else {
      askSingle();
    }
  }

  function askSingle() {
    mode = "single";
    // Looked up each time: the select is rebuilt with the chosen project's classes.
    const select = classSelect("single-class-select", null, false);
    select.className = "form-select"; // full size: the one question on the page
    document.getElementById("single-class-select").replaceWith(select);
    single.hidden = false;
    start.disabled = false;
  }

  function setProgress(fraction, label) {
    bar.value = Math.round(fraction * 100);
    if (label) statusLabel.textContent = label;
  }

  function showSummary(body) {
    document.getElementById("sum-imported").textContent = body.imported;
    document.getElementById("sum-duplicates").textContent = body.duplicates;
    document.getElementById("sum-skipped").textContent = body.skipped.length;
    const reasons = document.getElementById("sum-reasons");
    reasons.replaceChildren();
    for (const row of body.skipped) {
      const li = document.createElement("li");
      li.textContent = row.name + " — " + row.reason;
      reasons.append(li);
    }
    document.getElementById("sum-moderate").href = texts.moderate + "?project=" + encodeURIComponent(project.value);
    summary.hidden = false;
    summary.scrollIntoView({ block: "nearest" });
  }

  async function poll(url) {
    for (;;) {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) return showError(detail(body));
      const fraction = body.total ? body.processed / body.total : 0;
      setProgress(0.1 + 0.9 * fraction, texts[body.status] || body.status);
      if (body.status === "succeeded" || body.status === "failed") {
        if (body.status === "failed") showError(body.error || texts.failed);
        showSummary(body);
        start.disabled = false;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const data = new FormData();
    for (const file of input.files) data.append("file", file);
    if (mode === "single") {
      const chosen = document.getElementById("single-class-select").value;
      if (!chosen) return showError(texts.need_class);
      data.append("class", chosen);
    } else {
      const map = {};
      for (const select of rows.querySelectorAll("select")) map[select.dataset.folder] = select.value || null;
      data.append("classes", JSON.stringify(map));
    }
    start.disabled = true;
    summary.hidden = true;
    progress.hidden = false;
    setProgress(0, texts.uploading);
    const answer = await window.riim.upload(urls().url, data, (f) => setProgress(0.1 * f));
    if (answer.status !== 202) {
      start.disabled = false;
      progress.hidden = true;
      return showError(detail(answer.data));
    }
    setProgress(0.1, texts.queued);
    poll(answer.data.url);
  });

  input.addEventListener("change", preview);
  project.addEventListener("change", preview);
})();
