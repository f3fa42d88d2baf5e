// Photo and file uploads for qmonth: photos shrunk in the browser (photo-prep.js), sent one
// at a time with a progress bar, retried when the network drops. No dependencies.
// Without this script the file inputs simply submit with the form.
(function () {
  "use strict";

  var MAX_TRIES = 8;
  var RETRY_BASE_MS = 1000;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("data-hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function send(url, field, file, onProgress, fields) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("X-Requested-With", "qmonth-upload");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.ok) {
          resolve(body);
        } else if (xhr.status >= 400 && xhr.status < 500 && xhr.status !== 408 && xhr.status !== 429) {
          var message = body && body.error ? body.error : "“" + file.name + "”未能上传（" + xhr.status + "）。";
          if (xhr.status === 400) message = "页面已过期，请刷新页面后重新选择“" + file.name + "”。";
          if (xhr.status === 413) message = "“" + file.name + "”未能上传：文件过大。";
          reject({ final: true, message: message });
        } else {
          reject({ final: false });
        }
      };
      xhr.onerror = xhr.ontimeout = function () { reject({ final: false }); };
      xhr.timeout = 10 * 60 * 1000;
      var data = new FormData();
      Object.keys(fields || {}).forEach(function (name) { data.append(name, fields[name]); });
      data.append(field, file, file.name);
      xhr.send(data);
    });
  }

  function sendWithRetry(url, field, file, item, fields) {
    var tries = 0;
    function attempt() {
      tries += 1;
      return send(url, field, file, function (fraction) {
        item.bar.value = Math.round(fraction * 100);
        item.status.textContent = "上传中 " + Math.round(fraction * 100) + "%";
      }, fields).catch(function (error) {
        if (error.final || tries >= MAX_TRIES) throw error;
        var wait = Math.min(30000, RETRY_BASE_MS * Math.pow(2, tries - 1));
        item.status.textContent = "网络中断，" + Math.round(wait / 1000) + " 秒后自动重试（第 " + tries + " 次）";
        item.node.classList.add("is-retrying");
        return new Promise(function (resolve) { setTimeout(resolve, wait); }).then(function () {
          item.node.classList.remove("is-retrying");
          return attempt();
        });
      });
    }
    return attempt();
  }

  // Photos are shrunk and their capture time read by photo-prep.js; files go as they are.
  function prepare(file, limit) {
    if (!limit || !window.qmonthPhotoPrep) return Promise.resolve({ file: file, takenAt: "" });
    return window.qmonthPhotoPrep.prepare(file, limit);
  }

  function queueItem(list, name) {
    var node = document.createElement("li");
    node.className = "upload-item";
    var label = document.createElement("span");
    label.className = "upload-name";
    label.textContent = name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "等待上传";
    node.appendChild(label);
    node.appendChild(bar);
    node.appendChild(status);
    list.appendChild(node);
    return { node: node, bar: bar, status: status };
  }

  // The upload in progress stays in sight: a bar stuck to the top of the screen mirrors the
  // first unfinished item of every queue, since the queue itself may be scrolled out of view.
  function dockFor(queues) {
    var dock = document.querySelector(".upload-dock");
    if (!dock) {
      dock = document.createElement("div");
      dock.className = "upload-dock";
      dock.hidden = true;
      dock.setAttribute("aria-hidden", "true");  // the queues themselves are announced
      dock.innerHTML = '<span class="upload-dock-text"></span><span class="upload-dock-count"></span><progress max="100" value="0"></progress>';
      var main = document.querySelector("main") || document.body;
      main.insertBefore(dock, main.firstChild);
    }
    function update() {
      var active = Array.prototype.filter.call(document.querySelectorAll(".upload-queue .upload-item"), function (node) {
        return !node.classList.contains("is-failed");
      });
      dock.hidden = active.length === 0;
      if (!active.length) return;
      var first = active[0];
      var bar = first.querySelector("progress");
      dock.querySelector(".upload-dock-text").textContent = first.querySelector(".upload-name").textContent + " · " +
        first.querySelector(".upload-status").textContent;
      dock.querySelector(".upload-dock-count").textContent = active.length > 1 ? "另有 " + (active.length - 1) + " 个待上传" : "";
      dock.querySelector("progress").value = bar ? bar.value : 0;
      dock.classList.toggle("is-retrying", first.classList.contains("is-retrying"));
    }
    var observer = new MutationObserver(update);
    observer.observe(queues, { childList: true, subtree: true, characterData: true, attributes: true });
  }

  function setUp(uploader) {
    var input = uploader.querySelector("input[type=file]");
    var queue = uploader.querySelector(".upload-queue");
    var target = document.querySelector(uploader.getAttribute("data-list"));
    var url = uploader.getAttribute("data-upload-url");
    var field = uploader.getAttribute("data-field");
    var limit = parseInt(uploader.getAttribute("data-shrink") || "0", 10);
    var chain = Promise.resolve();
    dockFor(queue);
    // The script uploads the files itself: they must not also go with the form.
    input.removeAttribute("form");
    input.removeAttribute("name");

    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = "";
      files.forEach(function (file) {
        var item = queueItem(queue, file.name);
        chain = chain.then(function () {
          item.status.textContent = limit ? "压缩中" : "准备上传";
          return prepare(file, limit).then(function (prepared) {
            // Kept on the uploader so support staff (and tests) can see what was sent.
            uploader.setAttribute("data-last-bytes", String(prepared.file.size));
            // The capture time from the original's EXIF, read before shrinking dropped it.
            var fields = prepared.takenAt ? { taken_at: prepared.takenAt } : {};
            return sendWithRetry(url, field, prepared.file, item, fields);
          }).then(function (body) {
            var holder = document.createElement("div");
            holder.innerHTML = body.html;
            var card = holder.firstElementChild;
            var empty = target.querySelector(".empty");
            if (empty) empty.remove();
            target.appendChild(card);
            if (window.htmx) window.htmx.process(card);
            item.node.remove();
            var count = document.querySelector(".photo-count");
            if (count && field === "photo") count.textContent = String(target.querySelectorAll(".photo-card").length);
          }).catch(function (error) {
            item.node.classList.add("is-failed");
            item.bar.remove();
            item.status.textContent = error && error.message ? error.message : "“" + file.name + "”上传失败，请检查网络后重新选择。";
          });
        });
      });
    });
  }

  function init(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-uploader]"), function (uploader) {
      if (uploader.getAttribute("data-ready")) return;
      uploader.setAttribute("data-ready", "1");
      setUp(uploader);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
