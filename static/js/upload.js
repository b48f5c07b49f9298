// DIDS Portal: progress bars for the upload page and the result page (progressive enhancement).
//
// Upload page: "Submit file" sends the form with XMLHttpRequest so the bar shows the upload,
// then polls /api/submissions/<id>/ for the job's percent while the file is checked, and opens
// the result page when it is done. "Check only", and any browser without JavaScript, post the
// form as usual. Result page: while processing, the bar follows the job (the page also
// refreshes itself with a meta refresh, which is all a browser without JavaScript does).
(function () {
  "use strict";

  var POLL_MS = 700;

  function show(progress, label, percent, text) {
    progress.hidden = false;
    progress.querySelector("h2").textContent = label;
    progress.querySelector("progress").value = percent;
    progress.querySelector("[data-progress-text]").textContent = text || percent + "%";
  }

  function poll(url, progress, done) {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { setTimeout(function () { poll(url, progress, done); }, POLL_MS); return; }
      var data = JSON.parse(request.responseText);
      var job = data.job || {};
      var finished = ["accepted", "accepted_with_warnings", "rejected", "failed"].indexOf(data.status) >= 0;
      if (finished) { show(progress, "Checked", 100); done(); return; }
      var percent = job.percent || 0;
      show(progress, job.state === "queued" ? "Waiting to be checked" : "Checking the file",
           percent, percent + "%" + (job.rows_done ? " (" + job.rows_done + " records checked)" : ""));
      setTimeout(function () { poll(url, progress, done); }, POLL_MS);
    };
    request.onerror = function () { setTimeout(function () { poll(url, progress, done); }, POLL_MS * 2); };
    request.send();
  }

  function enhanceUpload(form) {
    var progress = document.querySelector("[data-testid=progress]");
    var action = null;
    form.addEventListener("click", function (event) {
      if (event.target.name === "action") { action = event.target.value; }
    });
    form.addEventListener("submit", function (event) {
      if (action === "check" || !window.FormData) { return; }  // a normal post
      event.preventDefault();
      var data = new FormData(form);
      data.set("action", "submit");
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action") || window.location.href);
      request.setRequestHeader("Accept", "application/json");
      request.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          var percent = Math.round(100 * e.loaded / e.total);
          show(progress, "Uploading", percent, percent + "% uploaded");
        }
      };
      request.onload = function () {
        if (request.status === 201) {
          var receipt = JSON.parse(request.responseText);
          show(progress, "Waiting to be checked", 0, "Received as version " + receipt.version);
          poll(receipt.status_url, progress, function () { window.location.assign(receipt.result_url); });
        } else {
          // Let the server render the errors: post the form the ordinary way.
          buttons.forEach(function (b) { b.disabled = false; });
          action = "check-fallback";
          HTMLFormElement.prototype.submit.call(form);
        }
      };
      request.onerror = function () {
        buttons.forEach(function (b) { b.disabled = false; });
        show(progress, "The upload failed", 0, "Check your connection and try again.");
      };
      show(progress, "Uploading", 0, "0% uploaded");
      request.send(data);
    });
  }

  function followJob(element) {
    var progress = element;
    poll(element.getAttribute("data-status-url"), progress, function () { window.location.reload(); });
  }

  document.querySelectorAll("[data-module=dids-upload]").forEach(enhanceUpload);
  document.querySelectorAll("[data-module=dids-job]").forEach(followJob);
})();
