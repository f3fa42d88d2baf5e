/*
 * Summary report editor: nothing typed is lost on a flaky connection.
 *
 * htmx saves each section (data-hx-post, debounced, serialised with data-hx-sync). This
 * file adds what htmx does not do:
 *  - every keystroke's text is kept in localStorage until the server confirms it;
 *  - a send that failed (network error, timeout) is re-sent when the browser is
 *    back online, and every few seconds while it stays pending;
 *  - after a reload, unsent text is put back (automatically when the report has
 *    not changed on the server since, on request otherwise);
 *  - each save carries hashes of what this page last knew the server held, so a
 *    save whose answer was lost does not look like somebody else's change.
 * No inline script (CSP): this file is loaded from the page head.
 */
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  if (!form) return;
  var reportId = form.dataset.report;
  var editable = form.dataset.editable === "true";
  var RETRY_MS = 5000;

  var elements = {};  // field -> textarea, input or the highlights fieldset
  form.querySelectorAll("[data-autosave]").forEach(function (el) { elements[el.dataset.autosave] = el; });
  var picks = form.querySelector("[data-autosave-group]");
  if (picks) elements[picks.dataset.autosaveGroup] = picks;

  var saved = {};      // field -> value the server is known to hold
  var unconfirmed = {}; // field -> hashes of values sent without an answer yet
  var failed = {};     // field -> true when the last send did not reach the server

  function key(field) { return "qmonth:report:" + reportId + ":" + field; }

  function valueOf(el) {
    if (el.tagName === "FIELDSET") {
      return Array.prototype.map.call(el.querySelectorAll("input[type=checkbox]:checked"),
        function (box) { return box.value; }).join(",");
    }
    return el.value;
  }

  function setValue(el, value) {
    if (el.tagName === "FIELDSET") {
      var chosen = value ? value.split(",") : [];
      el.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        box.checked = chosen.indexOf(box.value) !== -1;
      });
    } else {
      el.value = value;
    }
  }

  function revision() {
    var input = document.getElementById("report-revision");
    return input ? Number(input.value) : 0;
  }

  function read(field) {
    try { return JSON.parse(localStorage.getItem(key(field)) || "null"); } catch (e) { return null; }
  }

  function remember(field) {
    try {
      localStorage.setItem(key(field), JSON.stringify({
        value: valueOf(elements[field]), revision: revision(), at: Date.now()
      }));
    } catch (e) { /* storage full or disabled: the text is still in the page */ }
  }

  function forget(field, value) {
    var entry = read(field);
    if (entry && entry.value === value) localStorage.removeItem(key(field));
  }

  // 32-bit FNV-1a over UTF-16 code units; qmonth/reports/views.py computes the same.
  function fnv1a(text) {
    var hash = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return ("0000000" + hash.toString(16)).slice(-8);
  }

  function showStatus(field, text, cls) {
    var status = document.getElementById("status-" + field);
    if (!status) return;
    status.textContent = text;
    status.className = "save-status " + cls;
  }

  function fieldOf(el) {
    if (!el || !el.dataset) return null;
    return el.dataset.autosave || el.dataset.autosaveGroup || null;
  }

  Object.keys(elements).forEach(function (field) { saved[field] = valueOf(elements[field]); });

  if (!editable) {
    // Read-only now (submitted): drop stored copies the report already holds.
    Object.keys(elements).forEach(function (field) { forget(field, saved[field]); });
    return;
  }

  form.addEventListener("input", function (event) {
    var field = fieldOf(event.target);
    if (field) remember(field);
  });
  form.addEventListener("change", function (event) {
    var field = fieldOf(event.target) || (event.target.name === "highlights" ? "highlights" : null);
    if (field && elements[field]) remember(field);
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    var field = fieldOf(event.detail.elt);
    if (!field) return;
    var value = valueOf(elements[field]);
    event.detail.parameters.basis = fnv1a(saved[field] || "");
    var pending = unconfirmed[field] || [];
    if (pending.length) event.detail.parameters.pending = pending.join(",");
    pending = pending.concat([fnv1a(value)]).slice(-5);
    unconfirmed[field] = pending;
    event.detail.elt.qmSent = value;
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var field = fieldOf(event.detail.elt);
    if (!field) return;
    var sent = event.detail.elt.qmSent;
    var xhr = event.detail.xhr;
    if (event.detail.successful) {
      saved[field] = sent;
      unconfirmed[field] = [];
      failed[field] = false;
      forget(field, sent);
    } else if (xhr && xhr.status >= 400) {
      // The server answered (stale revision, too long…): its message is shown; the text stays here.
      unconfirmed[field] = [];
      failed[field] = false;
    }
  });

  function networkFailure(event) {
    var field = fieldOf(event.detail.elt);
    if (!field) return;
    failed[field] = true;
    remember(field);
    showStatus(field, "网络中断，内容已暂存在本机，恢复后自动重发", "save-pending");
  }
  document.body.addEventListener("htmx:sendError", networkFailure);
  document.body.addEventListener("htmx:timeout", networkFailure);

  function resendFailed() {
    if (navigator.onLine === false) return;
    Object.keys(failed).forEach(function (field) {
      if (failed[field]) {
        failed[field] = false;
        showStatus(field, "正在重新保存……", "save-pending");
        htmx.trigger(elements[field], "qm-resend");
      }
    });
  }
  window.addEventListener("online", resendFailed);
  window.setInterval(resendFailed, RETRY_MS);

  function restoreNote(field, entry) {
    var notes = document.getElementById("restore-notes");
    var label = document.querySelector("label[for='" + elements[field].id + "']");
    var note = document.createElement("div");
    note.className = "alert alert-warning restore-note";
    var text = document.createElement("span");
    text.textContent = "本机暂存有“" + (label ? label.textContent : field) + "”未保存的文字（" +
      new Date(entry.at).toLocaleString("zh-CN") + "），而报告已在其他地方修改。";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button button-small";
    restore.textContent = "恢复本机文字";
    restore.addEventListener("click", function () {
      setValue(elements[field], entry.value);
      htmx.trigger(elements[field], "qm-resend");
      note.remove();
    });
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button button-small button-quiet";
    discard.textContent = "放弃";
    discard.addEventListener("click", function () {
      localStorage.removeItem(key(field));
      note.remove();
    });
    note.appendChild(text);
    note.appendChild(restore);
    note.appendChild(discard);
    notes.appendChild(note);
  }

  function restoreUnsent() {
    Object.keys(elements).forEach(function (field) {
      var entry = read(field);
      if (!entry) return;
      if (entry.value === saved[field]) {
        localStorage.removeItem(key(field));
      } else if (entry.revision === revision()) {
        // Nothing changed on the server since this text was typed: it was simply never sent.
        setValue(elements[field], entry.value);
        showStatus(field, "已恢复本机暂存的内容，正在保存……", "save-pending");
        htmx.trigger(elements[field], "qm-resend");
      } else {
        restoreNote(field, entry);
      }
    });
  }

  // htmx wires the elements on DOMContentLoaded; restore after it has.
  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(restoreUnsent, 0); });
})();
