// Live figures: every few seconds, fetch the current page without its layout and swap it in.
// No full reload, no external library. A 401 (session over) reloads once to show the sign-in help.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !main.dataset.refresh) { return; }
  var every = parseInt(main.dataset.refresh, 10) || 5000;
  var busy = false;

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(window.location.href, {
      headers: { "X-Hackbot-Partial": "1" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        main.innerHTML = html;
        main.dataset.refreshes = String((parseInt(main.dataset.refreshes || "0", 10)) + 1);
      }
    }).catch(function () {
      // Network hiccup (laptop asleep, Wi-Fi): try again at the next tick.
    }).then(function () { busy = false; });
  }

  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
