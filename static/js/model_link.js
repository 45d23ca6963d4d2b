// Project page, public model link: copy buttons (with a fallback where the clipboard API is missing, as on
// a classroom server reached over plain http) and a confirmation before replacing or withdrawing the link.
(function () {
  const panel = document.getElementById("model-link");
  if (!panel) return;
  const texts = JSON.parse(document.getElementById("model-link-texts").textContent);

  function textOf(node) { return node.value !== undefined ? node.value : node.textContent; }

  function copyFallback(node) {
    const area = document.createElement("textarea");
    area.value = textOf(node);
    area.setAttribute("readonly", "");
    area.className = "position-absolute opacity-0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  panel.querySelectorAll("button[data-copy]").forEach((button) => {
    const label = button.innerHTML;
    button.addEventListener("click", () => {
      const node = document.getElementById(button.dataset.copy);
      const copying = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(textOf(node)) : copyFallback(node);
      copying.then(() => {
        button.textContent = texts.copied;
        setTimeout(() => { button.innerHTML = label; }, 1500);
      }, () => { if (node.select) node.select(); });
    });
  });

  panel.querySelectorAll("form[data-link-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.linkConfirm)) event.preventDefault();
    });
  });
})();
