// The issue page's switches: what to show, at which width, in which colours. The choice is kept
// in the address, so a reload after a rebuild comes back to the same view.
(function () {
  "use strict";
  var body = document.body;

  function fit(frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.documentElement || frame.offsetParent === null) { return; }
    frame.style.height = "0px";
    frame.style.height = doc.documentElement.scrollHeight + "px";
    var label = document.querySelector('[data-fit-for="' + frame.id + '"]');
    if (label) {
      var extra = doc.documentElement.scrollWidth - doc.documentElement.clientWidth;
      label.textContent = extra > 0 ? "scrolls sideways by " + extra + " px" : "fits, no sideways scrolling";
      label.className = "fit " + (extra > 0 ? "bad" : "ok");
    }
  }

  function fitAll() {
    document.querySelectorAll(".frame iframe").forEach(fit);
  }

  function choose(control, value) {
    body.dataset[control] = value;
    document.querySelectorAll('[data-control="' + control + '"] button').forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.value === value));
    });
    if (control === "scheme") {
      document.querySelectorAll(".frame iframe").forEach(function (frame) {
        var url = new URL(frame.src, location.href);
        url.searchParams.set("scheme", value);
        frame.src = url.pathname + url.search;
      });
    }
    var address = new URL(location.href);
    address.searchParams.set(control, value);
    history.replaceState(null, "", address.pathname + address.search);
    fitAll();
  }

  document.querySelectorAll("[data-control]").forEach(function (group) {
    group.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-value]");
      if (button) { choose(group.dataset.control, button.dataset.value); }
    });
  });
  document.querySelectorAll(".frame iframe").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    fit(frame);
  });
  window.addEventListener("resize", fitAll);
})();
