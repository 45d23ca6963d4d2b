// The class view: sort by any column, and save a student's scores and comment through the gradebook API.
(function () {
  const table = document.getElementById("gradebook");
  if (!table) return;
  const T = JSON.parse(document.getElementById("gradebook-texts").textContent);
  const body = table.tBodies[0];

  // Sorting: each cell carries its raw value in data-sort; empty values ("—") always go last.
  table.querySelectorAll("thead th[data-sortable]").forEach((th, index) => {
    th.setAttribute("role", "button");
    th.tabIndex = 0;
    th.title = th.title || T.sort;
    const sort = () => {
      const numeric = th.dataset.sortable === "number";
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const column = [...th.parentNode.children].indexOf(th);
      const rows = [...body.querySelectorAll("tr[data-student]")];
      const key = (row) => {
        const raw = row.children[column].dataset.sort ?? "";
        return raw === "" ? null : numeric ? Number(raw) : raw.toLocaleLowerCase();
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
        const order = numeric ? x - y : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach((row) => body.appendChild(row));
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); } });
  });

  // Saving one student's row: PUT {scores, comment}; the answer is the row as stored.
  body.querySelectorAll("tr[data-student]").forEach((row) => {
    const status = row.querySelector("[data-status]");
    row.querySelector("[data-save]").addEventListener("click", async () => {
      const scores = {};
      row.querySelectorAll(".gradebook-score").forEach((input) => {
        scores[input.dataset.criterion] = input.value === "" ? null : Number(input.value);
      });
      const comment = row.querySelector(".gradebook-comment").value;
      status.textContent = "";
      try {
        const response = await fetch(row.dataset.putUrl, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": window.riimCsrfToken() },
          body: JSON.stringify({ scores, comment }),
        });
        const data = await response.json();
        if (!response.ok) throw new Error(data.detail || Object.values(data).flat().join(" "));
        const total = row.querySelector("[data-total]");
        total.textContent = data.total === null ? "—" : String(data.total);
        total.dataset.sort = data.total === null ? "" : data.total;
        row.querySelectorAll(".gradebook-score").forEach((input) => {
          input.parentNode.dataset.sort = data.scores[input.dataset.criterion] ?? "";
        });
        status.textContent = T.saved;
        status.className = "small text-success-emphasis";
        row.dataset.saved = "1";
      } catch (err) {
        status.textContent = T.error + " " + err.message;
        status.className = "small text-danger-emphasis";
      }
    });
  });
})();
