// Keyboard-first labeling: 1–9 choose a class, S skips, U undoes, arrows move.
(function () {
  const root = document.getElementById("labeler");
  if (!root) return;
  const texts = JSON.parse(document.getElementById("label-texts").textContent);
  const imageId = root.dataset.image;
  const status = document.getElementById("status");
  const buttons = Array.from(document.querySelectorAll(".label-btn"));

  function go(id) {
    if (id) window.location.search = "?image=" + id;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.riimCsrfToken() },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* empty body */ }
    return { ok: response.ok, data };
  }

  async function choose(label) {
    const tags = Array.from(document.querySelectorAll(".tag-check:checked")).map((el) => el.value);
    const result = await post("/api/v1/images/" + imageId + "/labels/", { label, tags });
    if (!result.ok) {
      status.className = "alert alert-danger";
      status.textContent = texts.error + ": " + (result.data.detail || JSON.stringify(result.data));
      return;
    }
    status.className = "alert alert-success";
    status.textContent = texts.saved + ": " + label;
    const target = root.dataset.nextUnlabeled || root.dataset.next;
    if (target) go(target); else window.location.reload();
  }

  async function undo() {
    const result = await post("/api/v1/images/" + imageId + "/labels/undo/");
    if (result.ok) window.location.reload();
  }

  buttons.forEach((btn) => btn.addEventListener("click", () => choose(btn.dataset.label)));
  document.getElementById("prev-btn").addEventListener("click", () => go(root.dataset.prev));
  document.getElementById("next-btn").addEventListener("click", () => go(root.dataset.next));
  document.getElementById("skip-btn").addEventListener("click", () => go(root.dataset.next));
  document.getElementById("undo-btn").addEventListener("click", undo);

  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input[type=text], textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= 9 && buttons[n - 1]) { e.preventDefault(); choose(buttons[n - 1].dataset.label); }
    else if (e.key === "s" || e.key === "S") go(root.dataset.next);
    else if (e.key === "u" || e.key === "U") undo();
    else if (e.key === "ArrowRight") go(root.dataset.next);
    else if (e.key === "ArrowLeft") go(root.dataset.prev);
  });
})();
