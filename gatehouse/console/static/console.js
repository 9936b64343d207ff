// Progressive enhancement only: every page works without this file.
"use strict";

// Action forms (data-enhance): submit in the background and swap in the ticket panel they return.
function enhanceForms(root) {
  root.querySelectorAll("form[data-enhance]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin"
      }).then(function (response) {
        return response.text().then(function (html) {
          if (response.status === 403 || response.redirected) { window.location.reload(); return; }
          var panel = document.getElementById("ticket-panel");
          var holder = document.createElement("div");
          holder.innerHTML = html;  // server-rendered, escaped by the templates
          var fresh = holder.querySelector("#ticket-panel");
          if (panel && fresh) {
            panel.replaceWith(fresh);
            enhanceForms(fresh);
            var note = fresh.querySelector("[role=status], [role=alert]");
            if (note) { note.setAttribute("tabindex", "-1"); note.focus(); }
          }
        });
      }).catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        form.submit();
      });
    });
  });
}

// The roster refreshes itself (data-refresh seconds), keeping the filters of the page.
function refreshRoster() {
  var roster = document.getElementById("roster");
  if (!roster) { return; }
  var seconds = parseInt(roster.getAttribute("data-refresh"), 10) || 30;
  window.setInterval(function () {
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    url.searchParams.delete("notice");
    fetch(url.toString(), { credentials: "same-origin" }).then(function (response) {
      if (response.ok && !response.redirected) {
        return response.text().then(function (html) { roster.innerHTML = html; });
      }
    }).catch(function () { /* offline for a moment: try again next time */ });
  }, seconds * 1000);
}

// The account switcher goes as soon as an account is picked.
function autosubmit() {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
}

// Bulk CSV: create the groups a few at a time, showing the progress between steps. Each group has
// its own idempotency key on the server, so a step sent twice (or a reload) creates nothing twice.
function bulkRun() {
  var form = document.querySelector("form[data-bulk]");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    var wrap = document.querySelector(".progress-wrap");
    var bar = document.getElementById("bulk-progress");
    var text = document.getElementById("bulk-progress-text");
    if (wrap) { wrap.hidden = false; }
    var body = new URLSearchParams(new FormData(form));
    function step() {
      fetch(form.action, { method: "POST", body: body, headers: { "X-Requested-With": "fetch" },
                           credentials: "same-origin" })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (state) {
          if (state === null) { return; }
          bar.max = state.groups; bar.value = state.done;
          text.textContent = state.done + " of " + state.groups + " requests, " + state.created + " work orders";
          if (state.finished) { window.location.reload(); } else { step(); }
        })
        .catch(function () { window.setTimeout(step, 2000); });  // a dropped connection: the retry replays
    }
    step();
  });
}

// A scanned pass opens its ticket: the next thing the guard types is the badge number.
function focusBadge() {
  var badge = document.getElementById("badge_number");
  if (badge) { badge.focus(); }
}

// New request: a file is uploaded in the background and appears above, ticked, so nothing typed
// in the request form is lost. Without this script the form posts and the page comes back.
function stagedUpload() {
  var form = document.querySelector("form[data-staged-upload]");
  if (!form) { return; }
  var ok = document.getElementById("upload-ok");
  var bad = document.getElementById("upload-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    ok.hidden = true; bad.hidden = true;
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-Requested-With": "fetch" },
                         credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { bad.textContent = answer.error || "The upload was refused."; bad.hidden = false; return; }
          var label = document.createElement("label");
          label.className = "check";
          var box = document.createElement("input");
          box.type = "checkbox"; box.name = "attach"; box.value = answer.id; box.checked = true;
          label.appendChild(box);
          label.appendChild(document.createTextNode(" " + answer.name + " "));  // text, never markup
          var size = document.createElement("span");
          size.className = "muted";
          size.textContent = "(" + (answer.size / 1024).toFixed(1) + " KiB)";
          label.appendChild(size);
          document.getElementById("staged-list").appendChild(label);
          var none = document.getElementById("staged-none");
          if (none) { none.hidden = true; }
          ok.textContent = "Uploaded " + answer.name + ": ticked above.";
          ok.hidden = false;
          form.reset();
        });
      })
      .catch(function () { bad.textContent = "The upload did not finish; try again."; bad.hidden = false; })
      .then(function () { button.disabled = false; });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  focusBadge();
  stagedUpload();
  enhanceForms(document);
  refreshRoster();
  autosubmit();
  bulkRun();
});

// The roll call (data-roll-call): marks go in the background; every second the page reads every
// guard's marks and shows them, so several guards share one list.
(function () {
  var card = document.querySelector("[data-roll-call]");
  if (!card) { return; }
  var site = card.getAttribute("data-roll-call");
  function show(person) {
    var row = document.getElementById("rc-" + person.ticketId);
    if (!row) { return false; }
    row.classList.toggle("accounted", person.accountedFor);
    var button = row.querySelector("button");
    button.textContent = person.accountedFor ? "✓ accounted for" : "mark";
    button.setAttribute("aria-pressed", person.accountedFor ? "true" : "false");
    button.classList.toggle("secondary", person.accountedFor);
    row.querySelector("input[name=accounted]").value = person.accountedFor ? "0" : "1";
    row.querySelector(".marked-by").textContent = person.markedBy || "";
    return true;
  }
  card.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-Requested-With": "fetch" },
                           credentials: "same-origin" })
        .then(function (response) { return response.json(); }).then(show);
    });
  });
  var printButton = card.querySelector("[data-print]");
  if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }
  function poll() {
    fetch("/console/desk/roll-call.json?site=" + encodeURIComponent(site), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (people) {
        if (!people) { return; }
        var known = people.every(show);
        var rows = card.querySelectorAll("tbody tr").length;
        if (!known || rows !== people.length) { window.location.reload(); return; }  // arrivals, departures
        var done = people.filter(function (p) { return p.accountedFor; }).length;
        document.getElementById("rc-count").textContent = done + " / " + people.length;
      })
      .finally(function () { window.setTimeout(poll, 1000); });
  }
  window.setTimeout(poll, 1000);
})();

// A ticket waiting for the customer's approver (a walk-in) shows the decision when it comes.
(function () {
  function watch() {
    var panel = document.getElementById("ticket-panel");
    if (!panel || !panel.hasAttribute("data-await-decision")) { return; }
    var seconds = parseInt(panel.getAttribute("data-await-decision"), 10) || 2;
    window.setTimeout(function () {
      var url = new URL(window.location.href);
      url.searchParams.set("fragment", "1");
      fetch(url.toString(), { credentials: "same-origin" }).then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      }).then(function (html) {
        if (html) {
          panel.outerHTML = html;
          var fresh = document.getElementById("ticket-panel");
          if (fresh) { enhanceForms(fresh); }
        }
      }).finally(watch);
    }, seconds * 1000);
  }
  watch();
})();

// The visitor's photo from the tablet's camera (the browser's camera API): the first press opens the
// camera, the second takes the picture and sends it; the file field stays for a device without one.
(function () {
  function arm(root) {
    root.querySelectorAll("[data-photo]").forEach(function (box) {
      var button = box.querySelector("[data-camera]");
      var video = box.querySelector("video.camera");
      var csrf = box.querySelector("input[name=csrf]").value;
      if (!button || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        if (button) { button.hidden = true; }
        return;
      }
      var stream = null;
      button.addEventListener("click", function () {
        if (!stream) {
          navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then(function (s) {
            stream = s;
            video.srcObject = s;
            video.hidden = false;
            button.textContent = "Take the picture";
          }).catch(function () { button.textContent = "No camera: use a file"; button.disabled = true; });
          return;
        }
        var canvas = document.createElement("canvas");
        canvas.width = video.videoWidth || 640;
        canvas.height = video.videoHeight || 480;
        canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          var body = new FormData();
          body.append("csrf", csrf);
          body.append("photo", blob, "photo.jpg");
          fetch(box.getAttribute("data-photo"), { method: "POST", body: body, credentials: "same-origin",
                                                  headers: { "X-Requested-With": "fetch" } })
            .then(function (response) {
              stream.getTracks().forEach(function (track) { track.stop(); });
              if (response.ok) { window.location.reload(); }
              else { response.json().then(function (j) { button.textContent = j.error || "Not saved"; }); }
            });
        }, "image/jpeg", 0.85);
      });
    });
  }
  arm(document);
})();
