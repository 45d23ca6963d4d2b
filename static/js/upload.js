// Multi-file upload with drag and drop: files go one at a time to the images API (the form's data-url),
// the bar shows the bytes sent over all files, and each file gets its own result line.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const texts = JSON.parse(document.getElementById("upload-texts").textContent);
  const dropzone = document.getElementById("dropzone");
  const input = document.getElementById("file-input");
  const bar = document.getElementById("progress-bar");
  const results = document.getElementById("results");
  const project = document.getElementById("project");

  function setProgress(fraction) {
    const pct = Math.round(fraction * 100);
    bar.style.width = pct + "%";
    bar.textContent = pct + " %";
    bar.parentElement.setAttribute("aria-valuenow", String(pct));
  }

  function addResult(name, ok, message, link) {
    const li = document.createElement("li");
    li.className = "list-group-item list-group-item-" + (ok ? "success" : "danger");
    li.textContent = name + " — " + message;
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.className = "link-success fw-semibold";
      a.textContent = texts.see_analysis;
      li.append(" · ", a);
    }
    results.appendChild(li);
  }

  async function sendOne(file, onProgress) {
    const data = new FormData();
    data.append("project", project.value);
    data.append("file", file);
    const answer = await window.riim.upload(form.dataset.url, data, onProgress);
    const body = answer.data;
    if (answer.status === 0) {
      addResult(file.name, false, texts.network);
    } else if (answer.status === 201) {
      let msg = texts.stored + " (" + texts.split + ": " + (texts.splits[body.split] || body.split) + ")";
      const analysis = body.analysis;
      if (analysis) {
        msg += " · " + texts.analysis + " " + analysis.label + " (" + Math.round(analysis.confidence * 100) + " %)";
        if (analysis.anomaly && analysis.anomaly.is_anomaly) msg += " · " + texts.unusual;
      } else {
        // Without a model nothing classifies the photo: say so instead of a bare "stored".
        msg += ". " + texts.no_model;
      }
      const page = analysis ? texts.analysis_page.replace("/0/", "/" + body.id + "/") : null;
      addResult(file.name, true, msg, page);
    } else {
      const detail = body.detail || Object.values(body).flat().join(" ") || answer.statusText;
      addResult(file.name, false, texts.rejected + ": " + detail);
    }
  }

  async function uploadAll(files) {
    const list = Array.from(files);
    const total = list.reduce((sum, f) => sum + f.size, 0) || 1;
    let done = 0;
    setProgress(0);
    for (const file of list) {
      await sendOne(file, (fraction) => setProgress((done + fraction * file.size) / total));
      done += file.size;
      setProgress(done / total);
    }
  }

  dropzone.addEventListener("click", () => input.click());
  dropzone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  dropzone.addEventListener("dragover", (e) => { e.preventDefault(); dropzone.classList.add("border-primary"); });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("border-primary"));
  dropzone.addEventListener("drop", (e) => {
    e.preventDefault();
    dropzone.classList.remove("border-primary");
    uploadAll(e.dataTransfer.files);
  });
  input.addEventListener("change", () => { uploadAll(input.files); input.value = ""; });
})();
