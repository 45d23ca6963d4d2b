// Versions page: activate a version after the teacher confirms it, and import a model folder.
(function () {
  document.querySelectorAll(".activate-btn").forEach((btn) => btn.addEventListener("click", async () => {
    // Activation changes every student's answers: ask first.
    if (!window.confirm(btn.dataset.confirm)) return;
    btn.disabled = true;
    const answer = await window.riim.postJson(btn.dataset.url);
    if (answer.ok) {
      // The page comes back saying which version is now active.
      const url = new URL(window.location.href);
      url.searchParams.set("activated", btn.dataset.number);
      window.location.assign(url.toString());
      return;
    }
    btn.disabled = false;
    window.alert(answer.data.detail || answer.statusText);
  }));
  const importForm = document.getElementById("import-form");
  if (importForm) importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("import-status");
    status.textContent = "…";
    const answer = await window.riim.postJson(importForm.dataset.url, new FormData(importForm));
    if (answer.ok) { window.location.reload(); return; }
    status.className = "alert alert-danger mt-2";
    status.textContent = answer.data.detail || JSON.stringify(answer.data);
  });
})();
