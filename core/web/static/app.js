// Loaded by every page (base.html). The CSP forbids inline script, so this lives here.
(function () {
  "use strict";

  // Every htmx write carries the page's CSRF token as a header (the forms carry it
  // as a hidden input; htmx requests may send no form at all).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["x-csrftoken"] = meta.content;
    }
  });
})();

// A 422 answer to an htmx form is the form again with its refusal at the field (the
// reveal block of the case page): swap it in like a success, so the message shows.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr && event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
