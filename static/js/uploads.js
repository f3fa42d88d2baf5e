// Photo and file uploads of the activity form (/activities/new, /activities/<id>/edit): photos are
// shrunk in the browser (photo-prep.js) and sent one at a time as resumable uploads under a
// client-generated id (resumable.js, shared with quick entry's outbox.js): a cut photo
// goes on from the last byte the server acknowledged, and a repeat after a lost answer is
// answered "already received", never stored twice. Files go in one request (the same bytes again
// on the same activity are answered "already received" too).
// Nothing gives up silently: after a few quick retries an item waits on a slower timer (30 s,
// doubling up to 5 minutes) while the page is open, says so and offers 「重试」; only a refusal
// from the server (its message is shown) ends it. Needs resumable.js and outbox.js (base.html).
// Without this script the file inputs simply submit with the form.
(function () {
  "use strict";

  var resumable = window.qmonthResumable;
  var Stop = resumable.Stop;         // "final": refused, the message is shown; "transient": tried again
  var QUICK_RETRIES = resumable.QUICK_RETRIES;    // tried again after 1, 2, 4, 8 and 16 s without progress...
  var QUICK_RETRY_MS = resumable.QUICK_RETRY_MS;
  var SLOW_RETRY_MS = 30000;         // ...then after 30 s, doubling up to 5 minutes
  var MAX_SLOW_RETRY_MS = 5 * 60 * 1000;
  var REQUEST_TIMEOUT_MS = 120000;   // a stalled link must not hold an item for ever
  var FILE_TIMEOUT_MS = 10 * 60 * 1000;
  var DONE_SHOWN_MS = 4000;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("data-hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Client ids as the outbox makes them (static/js/outbox.js, loaded on every page).
  var newId = window.qmonthOutbox.newId;

  // Talking to the server -----------------------------------------------------------------------

  function refusal(status, answer, name) {
    if (status === 401) return "登录已过期，请重新登录后重新选择“" + name + "”。";
    if (status === 400) return "页面已过期，请刷新页面后重新选择“" + name + "”。";
    if (status === 413) return "“" + name + "”未能上传：文件过大。";
    return (answer && answer.error) || "“" + name + "”未能上传（" + status + "）。";
  }

  function toLoginPage(xhr) {
    try { return /\/login$/.test(new URL(xhr.responseURL).pathname); } catch (e) { return false; }
  }

  // One request; resolves with the JSON answer (also a 409 that tells the offset, and a 404 when
  // `missing` is allowed), rejects with a Stop.
  function request(method, url, options) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-Requested-With", "qmonth-upload");
      if (method !== "GET") xhr.setRequestHeader("X-CSRFToken", csrfToken());
      Object.keys(options.headers || {}).forEach(function (name) { xhr.setRequestHeader(name, options.headers[name]); });
      if (options.onProgress && xhr.upload) {
        xhr.upload.onprogress = function (event) { options.onProgress(event.loaded, event.lengthComputable ? event.total : 0); };
      }
      xhr.timeout = options.timeout || REQUEST_TIMEOUT_MS;
      xhr.onload = function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
        var status = toLoginPage(xhr) ? 401 : xhr.status;
        if (status >= 200 && status < 300 && answer && answer.ok) { resolve(answer); return; }
        if (status === 409 && answer && typeof answer.offset === "number") { resolve(answer); return; }
        if (status === 404 && options.missing) { resolve({ missing: true }); return; }
        if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          reject(new Stop("final", refusal(status, answer, options.name)));
          return;
        }
        reject(new Stop("transient"));
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Stop("transient")); };
      xhr.send(options.body || null);
    });
  }

  // Photos: resumable ----------------------------------------------------------------------------

  // One attempt at a photo: resolves with the photo's answer ({id, html, already_received}).
  // The job is the upload resumable.js sends (its hooks are set in makeJob).
  function sendPhoto(job) {
    return resumable.create(job).then(function (answer) {
      if (answer.complete) return answer;
      job.uploadUrl = answer.url;
      return resumable.sendFrom(job, answer.offset || 0);
    }).then(function (answer) {
      // Every byte is in but the photo is still being made (a cut during the last piece): ask again.
      if (!answer.complete || !answer.photo) throw new Stop("transient");
      return answer.photo;
    });
  }

  // Files: one request ---------------------------------------------------------------------------

  function sendFile(job) {
    var data = new FormData();
    data.append(job.field, job.blob, job.name);
    job.progress(0);
    return request("POST", job.url, {
      body: data, name: job.name, timeout: FILE_TIMEOUT_MS,
      onProgress: function (loaded, total) { job.progress(total ? job.blob.size * loaded / total : 0); }
    });
  }

  // Trying until it arrives or is refused ----------------------------------------------------------

  // Quick retries first (a second or two), then the slow timer while the page is open. Resolves
  // once the item has arrived, been refused or been paused on the slow timer (so that the next
  // item goes meanwhile); `done` or `failed` is called when it ends.
  function keepTrying(job, attempt, done, failed) {
    var release;
    var released = new Promise(function (resolve) { release = resolve; });
    var timer = null;
    var running = false;
    job.quick = 0;
    job.slow = 0;

    function run() {
      if (running) return;
      running = true;
      clearTimeout(timer);
      job.resume();
      attempt(job).then(function (answer) {
        running = false;
        job.stopWaiting();
        done(answer);
        release();
      }, function (stop) {
        running = false;
        if (!(stop instanceof Stop) || stop.kind !== "transient") {
          job.stopWaiting();
          failed(stop);
          release();
          return;
        }
        if (job.quick < QUICK_RETRIES && !job.quickSpent) {
          job.quick += 1;
          var wait = QUICK_RETRY_MS * Math.pow(2, job.quick - 1);
          job.waiting(wait, job.quick);
          timer = setTimeout(run, wait);
          return;
        }
        var later = Math.min(MAX_SLOW_RETRY_MS, SLOW_RETRY_MS * Math.pow(2, job.slow));
        job.slow += 1;
        job.paused(later);
        timer = setTimeout(run, later);
        release();
      });
    }

    job.retryNow = function () {
      if (running) return;
      job.quick = 0;
      job.quickSpent = false;
      run();
    };
    run();
    return released;
  }

  // What the user sees ---------------------------------------------------------------------------

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
    return { node: node, bar: bar, status: status, button: null };
  }

  function percent(bytes, size) {
    return size ? Math.min(100, Math.floor(bytes * 100 / size)) : 0;
  }

  function makeJob(item, prepared, name) {
    var job = { item: item, blob: prepared.file, name: name, takenAt: prepared.takenAt || "", quickSpent: false };
    job.request = function (method, url, options) {  // resumable.js's transport: XHR, for the progress
      return request(method, url, Object.assign({ name: name }, options));
    };
    job.advanced = function () {  // progress: the quick retries start again, the slow timer from 30 s
      job.quick = 0;
      job.slow = 0;
      job.quickSpent = false;
    };
    job.progress = function (bytes) {
      var value = percent(bytes, job.blob.size);
      item.node.classList.remove("is-retrying");
      item.bar.value = value;
      item.status.textContent = "上传中 " + value + "%";
    };
    job.waiting = function (ms, tries) {
      item.node.classList.add("is-retrying");
      item.status.textContent = "网络中断，" + Math.max(1, Math.round(ms / 1000)) + " 秒后自动重试（第 " + tries + " 次）";
      if (tries >= QUICK_RETRIES) job.quickSpent = true;
    };
    job.resume = function () {
      item.node.classList.remove("is-retrying", "is-paused");
      if (item.button) item.button.hidden = true;
    };
    job.paused = function (ms) {
      item.node.classList.add("is-retrying", "is-paused");
      var seconds = Math.round(ms / 1000);
      var when = seconds >= 60 ? Math.round(seconds / 60) + " 分钟" : seconds + " 秒";
      item.status.textContent = "网络中断，已暂停，" + when + "后自动重试。";
      if (!item.button) {  // shown while paused, hidden while an attempt runs
        item.button = document.createElement("button");
        item.button.type = "button";
        item.button.className = "button upload-retry";
        item.button.textContent = "重试";
        item.button.addEventListener("click", function () { if (job.retryNow) job.retryNow(); });
        item.node.appendChild(item.button);
      }
      item.button.hidden = false;
    };
    job.stopWaiting = function () {
      item.node.classList.remove("is-retrying", "is-paused");
      if (item.button) item.button.remove();
      item.button = null;
    };
    return job;
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
        return !node.classList.contains("is-failed") && !node.classList.contains("is-done");
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

  // Photos are shrunk and their capture time read by photo-prep.js; files go as they are.
  function prepare(file, limit) {
    if (!limit || !window.qmonthPhotoPrep) return Promise.resolve({ file: file, takenAt: "" });
    return window.qmonthPhotoPrep.prepare(file, limit);
  }

  // The photo's upload route: given on the uploader, else next to the one-shot route.
  function resumableUrl(uploader, url) {
    return uploader.getAttribute("data-resumable-url") || url.replace(/\/photos$/, "/photo-uploads");
  }

  function setUp(uploader) {
    var input = uploader.querySelector("input[type=file]");
    var queue = uploader.querySelector(".upload-queue");
    var target = document.querySelector(uploader.getAttribute("data-list"));
    var url = uploader.getAttribute("data-upload-url");
    var field = uploader.getAttribute("data-field");
    var limit = parseInt(uploader.getAttribute("data-shrink") || "0", 10);
    var isPhoto = field === "photo";
    var chain = Promise.resolve();
    var jobs = [];
    dockFor(queue);
    // The script uploads the files itself: they must not also go with the form.
    input.removeAttribute("form");
    input.removeAttribute("name");

    // Back online: the paused items go at once rather than at the end of their wait.
    window.addEventListener("online", function () {
      jobs.forEach(function (job) { if (job.item.node.classList.contains("is-paused")) job.retryNow(); });
    });

    function arrived(job, body) {
      var item = job.item;
      jobs.splice(jobs.indexOf(job), 1);
      var shownAlready = body.id && document.getElementById((isPhoto ? "photo-" : "attachment-") + body.id);
      if (shownAlready) {
        // A repeat of a photo (same client id) or file (same bytes) already on the page: nothing to add.
        item.node.classList.add("is-done");
        item.bar.remove();
        item.status.textContent = "“" + job.name + "”已收到，无需重复上传。";
        setTimeout(function () { item.node.remove(); }, DONE_SHOWN_MS);
        return;
      }
      var holder = document.createElement("div");
      holder.innerHTML = body.html;
      var card = holder.firstElementChild;
      var empty = target.querySelector(".empty");
      if (empty) empty.remove();
      target.appendChild(card);
      if (window.htmx) window.htmx.process(card);
      item.node.remove();
      var count = document.querySelector(".photo-count");
      if (count && isPhoto) count.textContent = String(target.querySelectorAll(".photo-card").length);
    }

    function refused(job, error) {
      var item = job.item;
      jobs.splice(jobs.indexOf(job), 1);
      item.node.classList.add("is-failed");
      item.bar.remove();
      item.status.textContent = error && error.message ? error.message : "“" + job.name + "”上传失败，请检查网络后重新选择。";
    }

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
            var job = makeJob(item, prepared, file.name);
            if (isPhoto) {
              job.clientId = newId();  // one id per chosen photo, kept through every retry
              job.createUrl = resumableUrl(uploader, url);
            } else {
              job.url = url;
              job.field = field;
            }
            jobs.push(job);
            return keepTrying(job, isPhoto ? sendPhoto : sendFile, function (body) { arrived(job, body); },
                              function (error) { refused(job, error); });
          }, function () {
            item.node.classList.add("is-failed");
            item.bar.remove();
            item.status.textContent = "“" + file.name + "”无法读取，请重新选择。";
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
