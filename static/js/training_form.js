// Training form: with «Quick» chosen, only the settings a quick run reads are shown (data-quick-fields).
(function () {
  const form = document.getElementById("training-form");
  if (!form) return;
  const quick = new Set(form.dataset.quickFields.split(" "));
  const note = document.getElementById("quick-settings-note");
  const modeInputs = form.querySelectorAll("[name=mode]");
  // Each field's block in includes/form.html: a .mb-3 div or a fieldset around its inputs.
  const blocks = [...form.elements]
    .filter((el) => el.name && el.name !== "csrfmiddlewaretoken")
    .map((el) => [el.name, el.closest("fieldset, .mb-3")])
    .filter(([, block]) => block);
  function mode() {
    const checked = [...modeInputs].find((input) => (input.type === "radio" ? input.checked : true));
    return checked ? checked.value : "full";
  }
  function apply() {
    const isQuick = mode() === "quick";
    blocks.forEach(([name, block]) => { block.hidden = isQuick && !quick.has(name); });
    if (note) note.hidden = !isQuick;
  }
  modeInputs.forEach((input) => input.addEventListener("change", apply));
  apply();
})();
