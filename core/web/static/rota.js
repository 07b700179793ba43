// The rota pages (core/web/templates/rota/): copy a calendar link. The CSP forbids
// inline script, so this lives here.
(function () {
  "use strict";

  function copied(button, ok) {
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (status) {
      status.textContent = ok ? "已复制到剪贴板。" : "无法自动复制：请选中链接后按 Ctrl+C。";
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { copied(button, true); },
        function () { copied(button, document.execCommand("copy")); }
      );
    } else {
      copied(button, document.execCommand("copy"));
    }
  });
})();
