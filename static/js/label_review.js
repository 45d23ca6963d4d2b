// The teacher's review of suspect labels: A accepts the suggestion, K keeps the given label, 1–9 choose a class.
(function () {
  const table = document.getElementById("suspects");
  if (!table) return;
  const texts = JSON.parse(document.getElementById("review-texts").textContent);
  const classes = table.dataset.classes.split(",");
  const rows = Array.from(table.querySelectorAll("tr.suspect"));
  let current = 0;

  function focus(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows[current].focus();
  }

  // The decision is posted as the teacher's label, which always counts over the students'.
  async function decide(row, label) {
    const note = row.querySelector(".decision");
    const answer = await window.riim.postJson(row.dataset.labelUrl, { label });
    if (!answer.ok) { note.textContent = texts.error + ": " + (answer.data.detail || answer.status); return; }
    note.textContent = texts.saved.replace("%(label)s", answer.data.counted_label);
    row.classList.add("table-success");
    focus(rows.indexOf(row) + 1);
  }

  rows.forEach((row, i) => {
    row.querySelector(".accept-btn").addEventListener("click", () => decide(row, row.dataset.suggested));
    row.querySelector(".keep-btn").addEventListener("click", () => decide(row, row.dataset.label));
    row.addEventListener("focus", () => { current = i; });
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const row = rows[current];
    if (!row) return;
    const n = parseInt(e.key, 10);
    if (e.key === "a" || e.key === "A") decide(row, row.dataset.suggested);
    else if (e.key === "k" || e.key === "K") decide(row, row.dataset.label);
    else if (n >= 1 && n <= 9 && classes[n - 1]) decide(row, classes[n - 1]);
    else if (e.key === "ArrowDown") { e.preventDefault(); focus(current + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); focus(current - 1); }
  });
  focus(0);
})();
