// The reception desk (/cases/new). The CSP forbids inline script, so this lives here;
// the htmx CSRF header is set for every page by app.js.
(function () {
  "use strict";

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
