// Added to every page the preview serves (never to a build): wait for the next build, then reload;
// show a failed rebuild's error over the page until a good build replaces it.
(function () {
  "use strict";
  var script = document.currentScript;
  // The build this page came from (none when the newsletter did not build yet).
  var shown = script.dataset.build ? Number(script.dataset.build) : null;
  // A page of a partial build: only the saved issues were remade when it was served.
  var partial = script.dataset.partial === "1";
  var saved = script.dataset.saved ? script.dataset.saved.split(",") : [];
  var since = -1;            // the last epoch seen; -1 asks for the state at once
  var waiting = false;
  var STORE = "newsletter-preview-scroll";

  function banner(error) {
    var box = document.getElementById("newsletter-preview-error");
    if (!box && !error) { return; }
    if (!box) {
      // A page of the newsletter itself: its own styles must not matter, so style inline.
      box = document.createElement("section");
      box.id = "newsletter-preview-error";
      box.setAttribute("style", "position:fixed;left:16px;right:16px;bottom:16px;z-index:2147483647;" +
        "max-height:50vh;overflow:auto;padding:14px 18px;background:#fff0f0;color:#1f2328;" +
        "border:1px solid #f5c2c7;border-left:4px solid #cf222e;border-radius:8px;" +
        "box-shadow:0 8px 24px rgba(0,0,0,.2);font:14px/1.5 system-ui,sans-serif;text-align:left;");
      box.innerHTML = '<h2 style="margin:0 0 8px;font-size:15px;color:#cf222e"></h2>' +
        '<pre style="margin:0;white-space:pre-wrap;font:13px/1.5 ui-monospace,Menlo,Consolas,monospace"></pre>';
      document.body.appendChild(box);
    }
    var heading = box.querySelector("h2");
    if (heading && !heading.textContent) {
      // The server gives the heading in the newsletter's language.
      heading.textContent = script.dataset.failed || "The last rebuild failed — still showing the last good build";
    }
    box.querySelector("pre").textContent = error || "";
    box.hidden = !error;
  }

  // The check of a build finishes after the build is served: swap in the page's findings panel
  // from the checked page rather than reload the whole page (and the email in it).
  function findings() {
    var panel = document.getElementById("preview-findings");
    if (!panel || panel.dataset.checked === "1") { return; }
    fetch(location.href, { cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("preview-findings");
        if (fresh && fresh.dataset.checked === "1") { panel.replaceWith(fresh); }
      })
      .catch(function () {});
  }

  // A saved issue's own pages were final in the partial build; any other page reloads once it is whole.
  function isSaved() {
    return saved.some(function (slug) {
      return location.pathname === "/_preview/" + slug + "/" || location.pathname.endsWith("/" + slug + "/");
    });
  }

  function status(online) {
    var live = document.getElementById("preview-live");
    if (live) { live.classList.toggle("offline", !online); }
  }

  function poll() {
    if (waiting || document.visibilityState === "hidden") { return; }
    waiting = true;
    fetch("/_preview/poll?since=" + since, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        waiting = false;
        status(true);
        if (state.build !== shown || (partial && !state.partial && !isSaved())) {
          sessionStorage.setItem(STORE, JSON.stringify({ path: location.pathname, y: window.scrollY }));
          location.reload();
          return;
        }
        banner(state.error);
        if (!state.partial) { partial = false; }
        if (state.checked) { findings(); }
        since = state.epoch;
        poll();
      })
      .catch(function () {
        // The server stopped or restarted: try again, and reload once it is back with a new build.
        waiting = false;
        status(false);
        setTimeout(poll, 1000);
      });
  }

  // Tabs in the background stop waiting (browsers allow only a few open requests per server)
  // and catch up when they are shown again.
  document.addEventListener("visibilitychange", poll);
  window.addEventListener("load", function () {
    var saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
    sessionStorage.removeItem(STORE);
    if (saved && saved.path === location.pathname) { window.scrollTo(0, saved.y); }
  });
  poll();
})();
