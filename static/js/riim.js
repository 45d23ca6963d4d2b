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
// Helpers the page scripts share (window.riim): finding and making elements, and requests to the API that
// carry the session's CSRF token, set here only.
(function () {
  const $ = (id) => document.getElementById(id);

  // el("td", { class: "small" }, "text") or el("div", {}, [node, "text"]). "text" sets the text; "style"
  // goes through the CSSOM, which the Content-Security-Policy allows where it blocks a style attribute.
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    Object.entries(attrs).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value);
    });
    if (Array.isArray(children)) node.append(...children);
    else node.textContent = children;
    return node;
  }

  // Django's CSRF token, read from its cookie: the API accepts a request made with the session only with it.
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Send body (an object as JSON, a FormData as it is, or nothing) and read the JSON answer:
  // { ok, status, statusText, data }, data {} when the answer has no JSON body.
  async function postJson(url, body, { method = "POST" } = {}) {
    const headers = { "X-CSRFToken": csrfToken() };
    const json = body !== undefined && !(body instanceof FormData);
    if (json) headers["Content-Type"] = "application/json";
    const response = await fetch(url, { method, headers, credentials: "same-origin", body: json ? JSON.stringify(body) : body });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, statusText: response.statusText, data };
  }

  // The same for a FormData whose upload progress is shown (fetch reports none): onProgress gets the share
  // of bytes sent, 0..1. A network failure answers status 0.
  function upload(url, body, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      if (onProgress) xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
      xhr.onload = () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (error) { /* not JSON */ }
        resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, statusText: xhr.statusText, data });
      };
      xhr.onerror = () => resolve({ ok: false, status: 0, statusText: "", data: {} });
      xhr.send(body);
    });
  }

  window.riim = { $, el, postJson, upload };
})();
