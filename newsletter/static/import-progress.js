/* Live progress of an import job: polls its JSON status and reloads the page when it ends.
   Without script the page offers a reload link instead. */
(function () {
  "use strict";
  var root = document.getElementById("import-progress");
  if (!root || root.getAttribute("data-finished") === "true") {
    return;
  }
  var url = root.getAttribute("data-status-url");
  var bar = document.getElementById("import-bar");
  var hidden = root.querySelectorAll(".js-hidden");
  for (var i = 0; i < hidden.length; i++) {
    hidden[i].hidden = true;
  }
  var fields = ["rows_done", "imported", "updated", "unchanged", "suppressed", "rejected", "duplicates"];

  var phase = root.querySelector('[data-field="phase"]');
  // The status tag, as _import_status_tag.html labels each state.
  var tag = root.querySelector('[data-field="status_label"] .tag');
  var labels = {
    queued: ["Waiting", "tag--grey"],
    running: ["Running", ""],
    done: ["Done", ""],
    failed: ["Failed", "tag--red"]
  };

  function show(status) {
    if (phase) {
      phase.textContent = status.checking
        ? "Checking the file: a worker opens it and reads its header before any row is imported."
        : status.status === "queued"
          ? "Waiting for a worker to start it."
          : "Importing the rows.";
    }
    if (tag && labels[status.status]) {
      tag.textContent = labels[status.status][0];
      tag.className = ("tag " + labels[status.status][1]).trim();
    }
    if (bar) {
      bar.value = status.percent;
      bar.textContent = status.percent + "%";
    }
    fields.forEach(function (name) {
      var cell = root.querySelector('[data-field="' + name + '"]');
      if (cell) {
        cell.textContent = Number(status[name]).toLocaleString("en-GB");
      }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 500);
})();
