// Versions page: activate a version after the teacher confirms it, and import a model folder.
(function () {
  document.querySelectorAll(".activate-btn").forEach((btn) => btn.addEventListener("click", async () => {
    // Activation changes every student's answers: ask first.
    if (!window.confirm(btn.dataset.confirm)) return;
    btn.disabled = true;
    const response = await fetch(btn.dataset.url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": window.riimCsrfToken() } });
    if (response.ok) {
      // The page comes back saying which version is now active.
      const url = new URL(window.location.href);
      url.searchParams.set("activated", btn.dataset.number);
      window.location.assign(url.toString());
      return;
    }
    btn.disabled = false;
    const body = await response.json().catch(() => ({}));
    window.alert(body.detail || response.statusText);
  }));
  const importForm = document.getElementById("import-form");
  if (importForm) importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(importForm);
    const status = document.getElementById("import-status");
    status.textContent = "…";
    const response = await fetch(importForm.dataset.url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": window.riimCsrfToken() } });
    const body = await response.json().catch(() => ({}));
    if (response.ok) { window.location.reload(); return; }
    status.className = "alert alert-danger mt-2";
    status.textContent = body.detail || JSON.stringify(body);
  });
})();
