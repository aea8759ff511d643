// A page that lists certificates while an issuance waits (the graduate's page in the console,
// the portal): the new certificate appears as soon as the worker has issued it, without a
// reload. The page asks for itself again every few seconds while something waits, swaps in the
// fresh list of certificates, and says so in a live region for screen readers.
(function () {
  "use strict";
  var section = document.getElementById("certificates-section");
  var status = document.getElementById("live-status");
  if (!section || !status || !document.getElementById("waiting")) return;
  var tries = 0;
  var timer = setInterval(function () {
    // An hour at most: a page left open does not ask forever.
    if (++tries > 720) return clearInterval(timer);
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var list = fresh.getElementById("certificates-section");
        if (!list) return;
        if (list.innerHTML !== section.innerHTML) {
          section.innerHTML = list.innerHTML;
          status.textContent = status.getAttribute("data-issued");
        }
        if (!fresh.getElementById("waiting")) clearInterval(timer);
      })
      .catch(function () {});
  }, 5000);
})();
