// The verification form, enhanced: drop a file on the box or pick one (step 1), see its name,
// size and whether it can be sent (step 2), then 進行驗證 posts the same form as without
// JavaScript (step 3 is the server's result page, where the outcome's heading takes the focus).
(function () {
  "use strict";
  // On the result page, the outcome is where attention goes: a screen reader announces it.
  var outcome = document.getElementById("result-title");
  if (outcome) {
    outcome.focus();
    return;
  }
  var form = document.getElementById("verify-form");
  if (!form) return;
  var input = document.getElementById("file");
  var zone = document.getElementById("dropzone");
  var panel = document.getElementById("upload-status");
  var message = document.getElementById("status-message");
  var button = document.getElementById("verify-button");
  var max = parseInt(form.getAttribute("data-max-bytes"), 10);
  document.body.classList.add("js");

  function step(n) {
    for (var i = 1; i <= 3; i++) {
      var li = document.getElementById("step-" + i);
      if (li) li.className = i < n ? "done" : i === n ? "current" : "";
    }
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function show(file) {
    panel.hidden = false;
    document.getElementById("status-name").textContent = file.name;
    document.getElementById("status-size").textContent = size(file.size);
    var problem = null;
    var warning = null;
    if (file.size === 0) problem = form.getAttribute("data-empty");
    else if (file.size > max) problem = form.getAttribute("data-too-large");
    else if (!/\.(pdf|json|jpe?g|png)$/i.test(file.name)) warning = form.getAttribute("data-not-certificate");
    message.textContent = problem || warning || message.getAttribute("data-ready");
    message.className = problem ? "error" : warning ? "warning" : "ok";
    button.disabled = !!problem;
    step(2);
    if (!problem) button.focus();
  }

  input.addEventListener("change", function () {
    if (input.files && input.files.length) show(input.files[0]);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) {
      e.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () {
      zone.classList.remove("over");
    });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) return;
    input.files = files;
    show(files[0]);
  });
  form.addEventListener("submit", function () {
    button.disabled = true;
    form.classList.add("sending");
  });
  // Back from the result page, the browser may restore the page as it was left: sending.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    form.classList.remove("sending");
    if (input.files && input.files.length) show(input.files[0]);
  });
})();
