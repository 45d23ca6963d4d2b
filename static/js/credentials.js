// Class page: the button that prints the credentials sheet (print styles keep only the sheet: css/credentials.css).
(function () {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
})();
