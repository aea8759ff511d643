// The scan page's live camera: where the browser offers one, show it and send a frame every
// second and a half to /api/v1/picture, which reads the QR code on the server (no service
// elsewhere); the first code read opens its seal's page. Without a camera, or without
// JavaScript, the page's photo form does the same with one picture.
(function () {
  "use strict";
  var start = document.getElementById("start-camera");
  var box = document.getElementById("camera");
  var video = document.getElementById("viewfinder");
  var status = document.getElementById("camera-status");
  var devices = navigator.mediaDevices;
  if (!start || !box || !video || !status || !devices || !devices.getUserMedia || !window.fetch) return;
  start.hidden = false;
  var stream = null;
  var canvas = document.createElement("canvas");

  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
  }

  function later(ms) {
    if (stream) window.setTimeout(frame, ms);
  }

  function frame() {
    if (!stream || !video.videoWidth) return later(500);
    // At most 1,600 pixels on the long side: what the server searches first.
    var scale = Math.min(1, 1600 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) return later(1500);
      fetch("/api/v1/picture", { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: blob })
        .then(function (r) {
          if (r.status === 429) return { wait: true };
          return r.json();
        })
        .then(function (answer) {
          if (answer.found && answer.path && answer.path.indexOf("/S/") === 0) {
            status.textContent = status.getAttribute("data-found");
            stop();
            window.location.assign(answer.path);
          } else {
            later(answer.wait ? 5000 : 1500);
          }
        })
        .catch(function () { later(3000); });
    }, "image/jpeg", 0.85);
  }

  start.addEventListener("click", function () {
    devices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        box.hidden = false;
        start.hidden = true;
        status.textContent = status.getAttribute("data-looking");
        return video.play();
      })
      .then(function () { later(300); })
      .catch(function () {
        box.hidden = false;
        status.textContent = status.getAttribute("data-denied");
      });
  });
  window.addEventListener("pagehide", stop);
})();
