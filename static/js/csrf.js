// Read Django's CSRF token so fetch/XHR calls made with the session cookie are accepted.
window.riimCsrfToken = function () {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
};
