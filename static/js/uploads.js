// Photo and file uploads for qmonth: shrink photos in the browser, send them one
// at a time with a progress bar, retry when the network drops. No dependencies.
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

  // Shrink to at most `limit` px on the long side as JPEG; HEIC and the like the
  // browser cannot decode are sent as they are (the server converts them).
  function shrink(file, limit) {
    if (!limit || !/^image\/(jpeg|png|webp)$/i.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, limit / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.type === "image/jpeg" && file.size < 1500000) {
        bitmap.close();
        return file;
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) {
            resolve(file);
          } else {
            var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
            resolve(new File([blob], name, { type: "image/jpeg" }));
          }
        }, "image/jpeg", 0.85);
      });
    }).catch(function () {
      return file;
    });
  }

  function send(url, field, file, onProgress) {
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
      data.append(field, file, file.name);
      xhr.send(data);
    });
  }

  function sendWithRetry(url, field, file, item) {
    var tries = 0;
    function attempt() {
      tries += 1;
      return send(url, field, file, function (fraction) {
        item.bar.value = Math.round(fraction * 100);
        item.status.textContent = "上传中 " + Math.round(fraction * 100) + "%";
      }).catch(function (error) {
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

  function setUp(uploader) {
    var input = uploader.querySelector("input[type=file]");
    var queue = uploader.querySelector(".upload-queue");
    var target = document.querySelector(uploader.getAttribute("data-list"));
    var url = uploader.getAttribute("data-upload-url");
    var field = uploader.getAttribute("data-field");
    var limit = parseInt(uploader.getAttribute("data-shrink") || "0", 10);
    var chain = Promise.resolve();
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
          return shrink(file, limit).then(function (prepared) {
            // Kept on the uploader so support staff (and tests) can see what was sent.
            uploader.setAttribute("data-last-bytes", String(prepared.size));
            return sendWithRetry(url, field, prepared, item);
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
