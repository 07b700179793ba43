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

  // 检举控告: the accused fields show when the purpose or the legal category says so.
  function showAccused() {
    var box = document.getElementById("desk-accused");
    var purpose = document.querySelector('select[name="purpose"]');
    var legal = document.querySelector('select[name="legal_category"]');
    if (!box || !purpose || !legal) return;
    box.hidden = !(purpose.value === "accusation" || legal.value === "accusation");
  }
  document.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "purpose" || name === "legal_category") showAccused();
  });
  document.addEventListener("DOMContentLoaded", showAccused);
})();
