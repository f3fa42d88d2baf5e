// Quick entry with the phone's outbox (outbox.js): the form is kept on the phone, with its photos
// shrunk (photo-prep.js), and sent from there; nothing waits for the network. Without this script
// (or without IndexedDB) the form posts as it always did. No dependencies.
(function () {
  "use strict";

  var outbox = window.qmonthOutbox;

  function fieldError(form, name, message) {
    var line = form.querySelector("#err-" + name);
    var box = form.querySelector("#field-" + name);
    if (line) line.textContent = message;
    if (box) box.classList.toggle("has-error", !!message);
  }

  function problems(form) {
    var found = [];
    function check(name, message) {
      fieldError(form, name, message || "");
      if (message) found.push(name);
    }
    var title = form.querySelector("#title"), kind = form.querySelector("#kind");
    var day = form.querySelector("#starts_on"), people = form.querySelector("#participants");
    check("kind", kind && !kind.value ? "请选择活动类型。" : "");
    check("title", title && !title.value.trim() ? "请填写活动名称。" : "");
    var outside = day && day.value && ((day.min && day.value < day.min) || (day.max && day.value > day.max));
    check("starts_on", day && !day.value ? "请填写活动日期。" : outside ? "活动日期须在活动期间（" + day.min + " 至 " + day.max + "）内。" : "");
    check("participants", people && people.value.trim() && !/^\d{1,7}$/.test(people.value.trim()) ? "参与人次须为整数。" : "");
    return found;
  }

  function labelOf(form, name) {
    var label = form.querySelector("label[for=" + name + "]");
    return label ? label.textContent.trim() : name;
  }

  // One notice above the form naming what to fix (the server's own notice, #form-notice, is
  // replaced, never added to): 「请填写：活动类型、活动名称。」 when fields are empty.
  function showNotice(form, flagged) {
    var notice = document.getElementById("form-notice");
    if (!flagged.length) { if (notice) notice.remove(); return; }
    var empty = flagged.every(function (name) {
      var control = form.querySelector("#" + name);
      return control && !control.value.trim();
    });
    var text = (empty ? "请填写：" : "请修改以下内容后再保存：") +
      flagged.map(function (name) { return labelOf(form, name); }).join("、") + "。";
    if (!notice) {
      notice = outbox.element("div", "alert alert-error");
      notice.id = "form-notice";
      notice.setAttribute("role", "alert");
      form.parentNode.insertBefore(notice, form);
    }
    notice.textContent = text;
  }

  function setUpQuickEntry(form) {
    var box = document.querySelector("[data-outbox-photos]");
    var input = box && box.querySelector("input[type=file]");
    var list = box && document.querySelector(box.getAttribute("data-list"));
    var limit = box ? parseInt(box.getAttribute("data-shrink") || "0", 10) : 0;
    var chosen = [];
    var preparing = Promise.resolve();
    if (input) {
      // The photos go into the outbox with the entry, not with the form.
      input.removeAttribute("form");
      input.removeAttribute("name");
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files || []);
        input.value = "";
        files.forEach(function (file) {
          var card = outbox.element("li", "photo-card is-local");
          var status = outbox.element("span", "photo-local-state muted", "压缩中");
          card.appendChild(status);
          list.appendChild(card);
          var empty = list.querySelector(".empty");
          if (empty) empty.remove();
          preparing = preparing.then(function () {
            var prep = window.qmonthPhotoPrep && limit ? window.qmonthPhotoPrep.prepare(file, limit)
              : Promise.resolve({ file: file, takenAt: "" });
            return prep.then(function (prepared) {
              chosen.push({ blob: prepared.file, name: prepared.file.name || file.name, takenAt: prepared.takenAt });
              var image = outbox.element("img");
              image.alt = file.name;
              image.src = URL.createObjectURL(prepared.file);
              card.insertBefore(image, status);
              status.textContent = "待保存";
              box.setAttribute("data-last-bytes", String(prepared.file.size));
              var count = document.querySelector(".photo-count");
              if (count) count.textContent = String(list.querySelectorAll(".photo-card").length);
            });
          });
        });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var flagged = problems(form);
      showNotice(form, flagged);
      if (flagged.length) {
        var first = form.querySelector("#" + flagged[0]);
        if (first) first.focus();
        // The notice too, where it fits on the screen with the field.
        var notice = document.getElementById("form-notice");
        if (first && notice) {
          var top = notice.getBoundingClientRect().top, bottom = first.getBoundingClientRect().bottom;
          if (top < 0 && bottom - top < window.innerHeight) window.scrollBy(0, top - 8);
        }
        return;
      }
      preparing.then(function () {
        var fields = [];
        new FormData(form).forEach(function (value, name) {
          // The token is fetched fresh when sending; the form key would make every entry of this
          // page one entry on the server (the client id identifies each one).
          if (typeof value !== "string" || /^(csrf_token|form_key|action|photos|relogin_.*)$/.test(name)) return;
          fields.push([name, value]);
        });
        var entry = {
          id: outbox.newId(), userId: outbox.userId, userName: outbox.userName, createdAt: new Date().toISOString(),
          title: (form.querySelector("#title") || {}).value || "", fields: fields, state: "local",
          photoCount: chosen.length, photosSent: 0, failures: 0
        };
        var photos = chosen.map(function (photo, index) {
          return { id: outbox.newId(), entryId: entry.id, order: index, blob: photo.blob, name: photo.name,
                   takenAt: photo.takenAt || "", done: false };
        });
        return outbox.save(entry, photos).then(function () {
          chosen = [];
          if (list) list.querySelectorAll(".photo-card.is-local").forEach(function (card) { card.remove(); });
          ["title", "address", "participants"].forEach(function (name) {
            var field = form.querySelector("#" + name);
            if (field) field.value = "";
          });
          var count = document.querySelector(".photo-count");
          if (count) count.textContent = "0";
          var saved = document.getElementById("outbox-saved");
          if (!saved) {
            saved = outbox.element("div", "alert alert-success");
            saved.id = "outbox-saved";
            saved.setAttribute("role", "status");
            outbox.panel.parentNode.insertBefore(saved, outbox.panel);
          }
          saved.textContent = "「" + entry.title + "」已保存在本机，" + (navigator.onLine ? "正在发送。" : "有信号时自动发送。");
          outbox.panel.scrollIntoView({ block: "nearest" });
          return outbox.sync();
        });
      }).catch(function () {
        var failed = outbox.element("div", "alert alert-error", "本机无法暂存该登记（存储空间不足或浏览器不允许），请在有信号时再点「保存草稿」。");
        failed.setAttribute("role", "alert");
        outbox.panel.parentNode.insertBefore(failed, outbox.panel);
        form.removeAttribute("data-outbox-form");
      });
    });
  }


  function start() {
    var form = document.querySelector("form[data-outbox-form]");
    if (!outbox || !form || !outbox.panel || !outbox.userId) return;
    outbox.ready().then(function () { setUpQuickEntry(form); }, function () {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
