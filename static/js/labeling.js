// Keyboard-first labeling: 1–9 choose a class, 0 none of these, S skips, U undoes your last answer, arrows move.
(function () {
  const root = document.getElementById("labeler");
  if (!root) return;
  const texts = JSON.parse(document.getElementById("label-texts").textContent);
  const imageId = root.dataset.image;
  const status = document.getElementById("status");
  const buttons = Array.from(document.querySelectorAll(".label-btn"));
  const classButtons = buttons.filter((btn) => btn.dataset.label !== "_none");
  const noneButton = buttons.find((btn) => btn.dataset.label === "_none");
  // The page reloads after every answer: the message for the next page travels in sessionStorage.
  const FEEDBACK = "riim-labeling-feedback";

  const labelName = (label) => (label === "_none" ? texts.none_of_these : label || "—");
  const say = (text, tone) => {
    status.className = "alert py-2 alert-" + tone;
    status.textContent = text;
  };

  function go(id, feedback) {
    if (feedback) sessionStorage.setItem(FEEDBACK, JSON.stringify(feedback));
    if (id && String(id) !== String(imageId)) window.location.search = "?image=" + id;
    else window.location.reload();
  }

  async function choose(label) {
    const tags = Array.from(document.querySelectorAll(".tag-check:checked")).map((el) => el.value);
    const result = await window.riim.postJson(root.dataset.labelUrl, { label, tags });
    if (!result.ok) {
      say(texts.error + ": " + (result.data.detail || JSON.stringify(result.data)), "danger");
      return;
    }
    const target = root.dataset.nextUnlabeled || root.dataset.next;
    const text = (target ? texts.saved_previous : texts.saved_last).replace("%(label)s", labelName(label));
    go(target, { text, tone: "success" });
  }

  // Undo the last answer given in this project — usually on the previous photo — and show that photo again.
  async function undo() {
    const result = await window.riim.postJson(root.dataset.undoUrl);
    if (result.status === 204) { say(texts.nothing_to_undo, "secondary"); return; }
    if (!result.ok) { say(texts.error + ": " + (result.data.detail || result.status), "danger"); return; }
    const text = result.data.label ? texts.undone_to.replace("%(label)s", labelName(result.data.label)) : texts.undone_empty;
    go(result.data.image, { text, tone: "info" });
  }

  const pending = sessionStorage.getItem(FEEDBACK);
  if (pending) {
    sessionStorage.removeItem(FEEDBACK);
    try { const { text, tone } = JSON.parse(pending); say(text, tone); } catch (e) { /* ignore a damaged note */ }
  }

  buttons.forEach((btn) => btn.addEventListener("click", () => choose(btn.dataset.label)));
  document.getElementById("prev-btn").addEventListener("click", () => root.dataset.prev && go(root.dataset.prev));
  document.getElementById("next-btn").addEventListener("click", () => root.dataset.next && go(root.dataset.next));
  document.getElementById("skip-btn").addEventListener("click", () => root.dataset.next && go(root.dataset.next));
  document.getElementById("undo-btn").addEventListener("click", undo);

  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input[type=text], textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= 9 && classButtons[n - 1]) { e.preventDefault(); choose(classButtons[n - 1].dataset.label); }
    else if (e.key === "0" && noneButton) { e.preventDefault(); choose(noneButton.dataset.label); }
    else if ((e.key === "s" || e.key === "S") && root.dataset.next) go(root.dataset.next);
    else if (e.key === "u" || e.key === "U") undo();
    else if (e.key === "ArrowRight" && root.dataset.next) go(root.dataset.next);
    else if (e.key === "ArrowLeft" && root.dataset.prev) go(root.dataset.prev);
  });
})();
