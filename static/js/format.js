// Numbers on pages in the reader's language (0,994 and 99,4 % in Spanish), as Django's templates write them.
(function () {
  const locale = document.documentElement.lang || undefined;
  function number(value, digits = 3) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
    return Number(value).toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  }
  function percent(value, digits = 1) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
    return number(100 * value, digits) + " %";
  }
  window.riimFormat = { number, percent };
})();
