// The reception desk (/cases/new). The CSP forbids inline script, so this lives here.
(function () {
  "use strict";

  // htmx writes (ID check, representative rows) carry the CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["x-csrftoken"] = meta.content;
    }
  });

  // Ctrl+Enter (⌘+Enter) in a text area registers; a plain Enter there is a new line.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (
      event.key === "Enter" &&
      (event.ctrlKey || event.metaKey) &&
      target instanceof HTMLTextAreaElement &&
      target.form
    ) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });
})();
