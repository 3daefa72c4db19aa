// The console's two conveniences; every page works without them.
(function () {
  "use strict";
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // "Copy customer link": copies, and tells the server so the audit log records it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-link]");
    if (!button) return;
    var link = button.getAttribute("data-copy-link");
    fetch(button.getAttribute("data-record"), {
      method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin",
    });
    var done = function () { button.textContent = button.getAttribute("data-copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(link).then(done, function () { window.prompt("", link); });
    } else {
      window.prompt("", link);
      done();
    }
  });

  // Search as you type, on the search page: results replace themselves after a short pause.
  var box = document.querySelector("[data-live-search]");
  var results = document.getElementById("results");
  if (!box || !results) return;
  var timer = null;
  var latest = 0;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = box.value.trim();
      var ticket = ++latest;
      var url = box.form.action + "?partial=1&q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null && ticket === latest) {
          results.innerHTML = html;
          history.replaceState(null, "", box.form.action + "?q=" + encodeURIComponent(query));
        }
      });
    }, 200);
  });
})();
