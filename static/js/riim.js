// Behaviour every page shares, as listeners: the Content-Security-Policy runs no inline on*= handler.
(function () {
  // <select data-autosubmit>: choosing an option sends its form (language, project, model version).
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });
  // data-width-percent="42": a progress bar's server-rendered width, set through the CSSOM
  // (a style= attribute would be blocked by the policy).
  document.querySelectorAll("[data-width-percent]").forEach((node) => {
    node.style.width = node.dataset.widthPercent + "%";
  });
})();
