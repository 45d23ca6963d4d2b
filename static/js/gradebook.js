// The class view: sort by any column, and save a student's scores and comment through the gradebook API.
(function () {
  const table = document.getElementById("gradebook");
  if (!table) return;
  const T = JSON.parse(document.getElementById("gradebook-texts").textContent);
  const locale = document.documentElement.lang || undefined;

  // Scores as the page's language writes them (8,5 in Spanish), up to two decimals as the server does.
  const formatScore = (value) =>
    value === null || value === undefined ? "" : Number(value).toLocaleString(locale, { maximumFractionDigits: 2, useGrouping: false });

  // A typed score: «3,5» and «3.5» are the same number whatever the browser's locale; "" clears it; NaN is refused.
  function parseScore(text) {
    const clean = text.trim().replace(/\s/g, "");
    if (clean === "") return null;
    const normal = clean.includes(",") && !clean.includes(".") ? clean.replace(",", ".") : clean;
    return /^\d+(\.\d*)?$|^\.\d+$/.test(normal) ? Number(normal) : NaN;
  }

  // Sorting: each cell carries its raw value in data-sort; empty values ("—") always go last.
  document.querySelectorAll("table.gradebook-sortable").forEach((sortable) => {
    const body = sortable.tBodies[0];
    sortable.querySelectorAll("thead th[data-sortable]").forEach((th) => {
      th.setAttribute("role", "button");
      th.tabIndex = 0;
      th.title = th.title || T.sort;
      const sort = () => {
        const numeric = th.dataset.sortable === "number";
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        sortable.querySelectorAll("thead th").forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const column = [...th.parentNode.children].indexOf(th);
        const rows = [...body.querySelectorAll("tr")].filter((row) => row.children.length > column);
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
  });

  // Saving one student's row: PUT {scores, comment}; the answer is the row as stored.
  table.tBodies[0].querySelectorAll("tr[data-student]").forEach((row) => {
    const status = row.querySelector("[data-status]");
    const fail = (message) => {
      status.textContent = T.error + " " + message;
      status.className = "small text-danger-emphasis";
    };
    row.querySelector("[data-save]").addEventListener("click", async () => {
      const scores = {};
      let refused = null;
      row.querySelectorAll(".gradebook-score").forEach((input) => {
        const value = parseScore(input.value);
        const bad = Number.isNaN(value) || (value !== null && value > Number(input.dataset.max));
        input.setAttribute("aria-invalid", bad ? "true" : "false");
        if (bad && !refused) {
          refused = T.range.replace("%(name)s", input.dataset.name).replace("%(points)s", formatScore(input.dataset.max));
          input.focus();
        }
        scores[input.dataset.criterion] = value;
      });
      status.textContent = "";
      if (refused) return fail(refused);
      const comment = row.querySelector(".gradebook-comment").value;
      try {
        const { ok, data } = await window.riim.postJson(row.dataset.putUrl, { scores, comment }, { method: "PUT" });
        if (!ok) throw new Error(data.detail || Object.values(data).flat().join(" "));
        const total = row.querySelector("[data-total]");
        total.textContent = data.total === null ? "—" : formatScore(data.total);
        total.closest("td").dataset.sort = data.total === null ? "" : data.total;
        row.querySelectorAll(".gradebook-score").forEach((input) => {
          const stored = data.scores[input.dataset.criterion];
          input.value = formatScore(stored);
          input.parentNode.dataset.sort = stored ?? "";
        });
        status.textContent = T.saved;
        status.className = "small text-success-emphasis";
        row.dataset.saved = "1";
      } catch (err) {
        fail(err.message);
      }
    });
  });
})();
