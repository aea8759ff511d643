// A certificate's QR code leads to /v/…#DC1:…: the seal is in the fragment, which the browser
// never sends. Take it from there and ask the server to check it.
(function () {
  "use strict";
  var seal = window.location.hash.replace(/^#/, "");
  if (seal.indexOf("DC1:") === 0) {
    window.location.replace("/seal?s=" + encodeURIComponent(decodeURIComponent(seal)));
  } else {
    var note = document.getElementById("no-seal");
    if (note) note.hidden = false;
  }
})();
