// Live progress on the issue page: polls the JSON endpoint and updates the numbers and bar.
// Served as a file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  var box = document.getElementById("issue-progress");
  if (!box) { return; }
  var bar = document.getElementById("progress-bar");
  var finished = ["sent", "cancelled"];

  var reasons = document.getElementById("failure-reasons");

  function showReasons(list) {
    var body = reasons.querySelector("tbody");
    body.textContent = "";
    (list || []).forEach(function (failure) {
      var row = document.createElement("tr");
      [failure.reason, failure.count].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    reasons.hidden = !(list && list.length);
  }

  function show(data) {
    box.parentNode.querySelectorAll("[data-progress]").forEach(function (el) {
      var key = el.getAttribute("data-progress");
      var value = data[key];
      if (key === "status" && typeof value === "string") {
        value = value.charAt(0).toUpperCase() + value.slice(1);
      }
      if (key === "stall_note") {
        // Shown only while the send is stuck.
        el.hidden = !value;
        el.textContent = value || "";
        return;
      }
      el.textContent = value === null || value === undefined ? "–" : value;
    });
    // A finished send has no rate or time left.
    box.querySelectorAll("[data-while-sending]").forEach(function (el) {
      el.hidden = finished.indexOf(data.status) !== -1;
    });
    showReasons(data.failure_reasons);
    bar.max = data.recipients || 1;
    bar.value = data.done;
    bar.textContent = data.done + " of " + data.recipients;
    return finished.indexOf(data.status) === -1;
  }

  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data === null || show(data)) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
