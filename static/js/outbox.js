// The phone's outbox: quick entry keeps each entry and its (already shrunk) photos in IndexedDB
// first, then sends them: the entry with its client id, then each photo as a resumable upload
// (resumable.js, shared with the form's uploads.js). Closing the tab, locking the phone or
// killing the browser loses nothing; a repeat is harmless, since the server knows every client
// id. Sending starts on page load, when the phone comes back online or to the screen, on a timer
// and from 「立即发送」. An entry is sent only while the account that made it is signed in (site
// phones are shared). Needs resumable.js (loaded before it); the data lives in IndexedDB, never
// in the service worker's cache (sw.js), so a new service worker strands nothing.
(function () {
  "use strict";

  var resumable = window.qmonthResumable;
  var Stop = resumable.Stop;
  var pause = resumable.pause;
  var DB_NAME = "qmonth-outbox";
  var TIMER_MS = 30000;
  var MAX_TIMER_MS = 5 * 60 * 1000;
  var WARN_AFTER_FAILURES = 3;
  var KEEP_DELIVERED_MS = 7 * 24 * 3600 * 1000;
  var OUTBOX_HEADER = "qmonth-upload";
  var REQUEST_TIMEOUT_MS = 120000;
  var QUICK_RETRIES = resumable.QUICK_RETRIES;    // a cut photo or entry is tried again after 1, 2,
  var QUICK_RETRY_MS = resumable.QUICK_RETRY_MS;  // 4, 8 and 16 s, then left to the timer (TIMER_MS)
  var RELOGIN = "登录已过期，重新登录后自动继续发送";
  var LATE_LABEL = "截止前记录、截止后送达";

  var body = document.body;
  var userId = body.getAttribute("data-outbox-user") || "";
  var userName = body.getAttribute("data-outbox-name") || "";
  var quickUrl = body.getAttribute("data-outbox-quick") || "/activities/quick";
  // failures: runs in a row that sent nothing (the warning counts them, a tap on 「立即发送」 too);
  // backoff: the same, but a tap starts the timer's doubling again.
  var state = { needsLogin: false, failures: 0, backoff: 0, syncing: null, again: false, timer: null, lastError: "" };

  // IndexedDB -----------------------------------------------------------------------------------

  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("entries", { keyPath: "id" });
        db.createObjectStore("photos", { keyPath: "id" }).createIndex("entry", "entryId");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return dbPromise;
  }

  // One transaction; resolves with what `work` returned once the data is durably written.
  function transact(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(["entries", "photos"], mode, { durability: "strict" });
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
        result = work(tx.objectStore("entries"), tx.objectStore("photos"));
      });
    });
  }

  function requestResult(request, into, key) {
    request.onsuccess = function () { into[key] = request.result; };
  }

  function allEntries() {
    var out = {};
    return transact("readonly", function (entries) { requestResult(entries.getAll(), out, "list"); })
      .then(function () { return (out.list || []).sort(function (a, b) { return a.createdAt < b.createdAt ? -1 : 1; }); });
  }

  function photosOf(entryId) {
    var out = {};
    return transact("readonly", function (_entries, photos) {
      requestResult(photos.index("entry").getAll(entryId), out, "list");
    }).then(function () { return (out.list || []).sort(function (a, b) { return a.order - b.order; }); });
  }

  function saveEntry(entry, photos) {
    return transact("readwrite", function (entries, photoStore) {
      entries.put(entry);
      (photos || []).forEach(function (photo) { photoStore.put(photo); });
    });
  }

  function dropEntry(entry) {
    return photosOf(entry.id).then(function (photos) {
      return transact("readwrite", function (entries, photoStore) {
        entries.delete(entry.id);
        photos.forEach(function (photo) { photoStore.delete(photo.id); });
      });
    });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));  // plain HTTP has no randomUUID
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Talking to the server -----------------------------------------------------------------------

  function isLoginPage(response) {
    try { return /\/login$/.test(new URL(response.url).pathname); } catch (e) { return false; }
  }

  // Every answer sorted into: JSON body (success), or Stop "relogin" (session gone: a 401, the
  // server's relogin flag, a CSRF failure, a redirect to the login page), "final" (refused: the
  // message is shown, the data kept) or "transient" (network, 5xx: tried again later).
  function call(method, url, options) {
    var headers = Object.assign({ "X-Requested-With": OUTBOX_HEADER }, options.headers || {});
    // A stalled link must not hold the outbox for ever: give up on this request, try later.
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, REQUEST_TIMEOUT_MS);
    return fetch(url, { method: method, body: options.body, headers: headers, credentials: "same-origin",
                        cache: "no-store", redirect: "follow", signal: abort ? abort.signal : undefined })
      .catch(function () { clearTimeout(timer); throw new Stop("transient", "网络不通"); })
      .then(function (response) {
        clearTimeout(timer);
        if (response.redirected && isLoginPage(response)) throw new Stop("relogin");
        return response.text().then(function (text) {
          var answer = null;
          try { answer = JSON.parse(text); } catch (e) { answer = null; }
          if (response.status === 401 || (answer && answer.relogin)) throw new Stop("relogin");
          if (response.ok && answer && answer.ok) return answer;
          if (response.status === 409 && answer && typeof answer.offset === "number") return answer;
          if (response.status === 404 && options.missing) return { missing: true };
          if (!answer && response.status < 500 && /id="username"/.test(text)) throw new Stop("relogin");
          if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
            throw new Stop("final", (answer && answer.error) || "服务器拒绝了该登记（" + response.status + "）。");
          }
          throw new Stop("transient", "服务器暂时无法接收（" + response.status + "）");
        });
      });
  }

  function askSession() {
    return call("GET", "/activities/outbox/session", {});
  }

  function postEntry(entry, token) {
    var data = new FormData();
    entry.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    data.append("csrf_token", token);
    data.append("action", "save");
    data.append("client_id", entry.id);
    data.append("captured_at", entry.createdAt);
    return call("POST", quickUrl, { body: data, headers: { "X-CSRFToken": token } });
  }

  // A photo as a resumable upload (resumable.js, over fetch: call() is its transport). Started
  // before (the upload's address is kept with the photo), it goes on from what the server holds.
  function sendPhoto(entry, photo, token) {
    var upload = { request: call, headers: { "X-CSRFToken": token }, blob: photo.blob, clientId: photo.id,
                   name: photo.name, takenAt: photo.takenAt, createUrl: entry.serverUrl + "/photo-uploads",
                   uploadUrl: photo.uploadUrl };
    var started = photo.uploadUrl ? call("GET", photo.uploadUrl, { missing: true }) : Promise.resolve({ missing: true });
    return started.then(function (status) {
      if (!status.missing) return status;
      return resumable.create(upload).then(function (answer) {
        if (answer.complete) return answer;
        photo.uploadUrl = upload.uploadUrl = answer.url;
        return saveEntry(entry, [photo]).then(function () { return answer; });
      });
    }).then(function (status) {
      return status.complete ? status : resumable.sendFrom(upload, status.offset || 0);
    });
  }

  // The entry's POST, tried again within seconds after a cut or a lost answer (the client id makes
  // a repeat harmless: the server answers "already received" with the same entry).
  function postEntryRetrying(entry, token, tries) {
    tries = tries || 0;
    return postEntry(entry, token).catch(function (stop) {
      if (!(stop instanceof Stop) || stop.kind !== "transient" || tries >= QUICK_RETRIES) throw stop;
      return pause(QUICK_RETRY_MS * Math.pow(2, tries)).then(function () {
        return postEntryRetrying(entry, token, tries + 1);
      });
    });
  }

  function sendEntry(entry, token) {
    var created = entry.serverId ? Promise.resolve() : postEntryRetrying(entry, token).then(function (answer) {
      entry.serverId = answer.id;
      entry.serverUrl = answer.url;
      entry.receivedAt = answer.received_at;
      entry.late = !!answer.arrived_late;
      entry.notice = answer.notice || "";
      return saveEntry(entry);
    });
    return created.then(function () { return photosOf(entry.id); }).then(function (photos) {
      var chain = Promise.resolve();
      photos.forEach(function (photo) {
        if (photo.done) return;
        chain = chain.then(function () {
          render();
          return sendPhoto(entry, photo, token);
        }).then(function () {
          photo.done = true;
          photo.blob = null;  // the server has it: give the space back
          entry.photosSent = (entry.photosSent || 0) + 1;
          return saveEntry(entry, [photo]);
        });
      });
      return chain;
    }).then(function () {
      entry.state = "delivered";
      entry.error = "";
      entry.deliveredAt = new Date().toISOString();
      return saveEntry(entry).then(function () { return photosOf(entry.id); }).then(function (photos) {
        return transact("readwrite", function (_entries, photoStore) {
          photos.forEach(function (photo) { photoStore.delete(photo.id); });
        });
      });
    });
  }

  function withLock(work) {
    // One sender at a time, across the phone's tabs where the browser can tell (HTTPS).
    if (navigator.locks && navigator.locks.request) return navigator.locks.request("qmonth-outbox", work);
    return work();
  }

  function runSync() {
    return allEntries().then(function (entries) {
      var waiting = entries.filter(function (entry) { return entry.state !== "delivered"; });
      if (!waiting.length) return;
      return askSession().then(function (session) {
        state.needsLogin = false;
        // The server says who is signed in: only that account's entries go.
        var mine = waiting.filter(function (entry) { return String(entry.userId) === String(session.user_id); });
        var chain = Promise.resolve();
        mine.forEach(function (entry) {
          chain = chain.then(function () {
            return sendEntry(entry, session.csrf).catch(function (stop) {
              if (!(stop instanceof Stop) || stop.kind === "relogin") throw stop;
              entry.error = stop.kind === "final" ? stop.message : "网络不通，稍后自动重试。";
              entry.refused = stop.kind === "final";
              entry.failures = (entry.failures || 0) + 1;
              state.lastError = stop.kind;
              return saveEntry(entry);
            });
          });
        });
        return chain;
      });
    });
  }

  function sync() {
    if (!userId) { render(); return Promise.resolve(); }
    if (state.syncing) { state.again = true; return state.syncing; }
    state.syncing = withLock(runSync).then(function () {
      return allEntries();
    }).then(function (entries) {
      var stuck = entries.some(function (entry) { return entry.state !== "delivered" && entry.failures; });
      state.failures = stuck ? state.failures + 1 : 0;
      state.backoff = stuck ? state.backoff + 1 : 0;
    }, function (stop) {
      if (stop instanceof Stop && stop.kind === "relogin") {
        state.needsLogin = true;
      } else {
        state.failures += 1;  // no answer even to "who is signed in": the network is down
        state.backoff += 1;
      }
    }).then(function () {
      state.syncing = null;
      render();
      schedule();
      if (state.again) { state.again = false; return sync(); }
    });
    render();
    return state.syncing;
  }

  function schedule() {
    clearTimeout(state.timer);
    allEntries().then(function (entries) {
      var waiting = entries.some(function (entry) { return entry.state !== "delivered" && String(entry.userId) === userId; });
      if (!waiting || state.needsLogin) return;
      var wait = Math.min(MAX_TIMER_MS, TIMER_MS * Math.pow(2, Math.min(state.backoff, 4)));
      state.timer = setTimeout(sync, wait);
    });
  }

  // What the user sees --------------------------------------------------------------------------

  var panel = document.querySelector("[data-outbox-panel]");

  function serverTime(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric",
                                                     hour: "2-digit", minute: "2-digit", hour12: false });
    } catch (e) {
      return iso;
    }
  }

  function describe(entry) {
    if (entry.state === "delivered") return "已送达（" + serverTime(entry.receivedAt) + "）";
    if (!entry.serverId) return "仅在本机";
    return "上传中 " + (entry.photosSent || 0) + "/" + entry.photoCount;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function entryItem(entry) {
    var item = element("li", "outbox-entry");
    item.setAttribute("data-client-id", entry.id);
    item.setAttribute("data-state", entry.state === "delivered" ? "delivered" : entry.serverId ? "sending" : "local");
    var title = element(entry.serverUrl ? "a" : "span", "outbox-entry-title", entry.title || "（未命名）");
    if (entry.serverUrl) title.href = entry.serverUrl;
    item.appendChild(title);
    var status = element("span", "outbox-entry-state", describe(entry));
    item.appendChild(status);
    if (entry.late) item.appendChild(element("span", "badge badge-late", LATE_LABEL));
    if (String(entry.userId) !== userId) {
      item.appendChild(element("p", "outbox-entry-note", "由" + (entry.userName || "其他账号") + "登记，该账号登录后发送。"));
    } else if (entry.notice) {
      item.appendChild(element("p", "outbox-entry-note", entry.notice));
    } else if (entry.state !== "delivered" && entry.error) {
      item.appendChild(element("p", "outbox-entry-note" + (entry.refused ? " is-refused" : ""), entry.error));
    }
    return item;
  }

  function alertText(waitingMine) {
    if (state.needsLogin && waitingMine) return RELOGIN;
    if (state.failures >= WARN_AFTER_FAILURES && waitingMine) {
      return "已多次发送未成功，登记仍保存在本机，有信号时会自动继续发送，也可点击「立即发送」。";
    }
    return "";
  }

  function renderPanel(entries, waitingMine) {
    panel.hidden = false;
    var list = panel.querySelector("#outbox-list");
    list.textContent = "";
    entries.forEach(function (entry) { list.appendChild(entryItem(entry)); });
    if (!entries.length) list.appendChild(element("li", "outbox-empty muted", "本机没有待发送的登记。"));
    var alertBox = panel.querySelector("#outbox-alert");
    var text = alertText(waitingMine);
    alertBox.hidden = !text;
    alertBox.textContent = text;
    if (state.needsLogin && waitingMine) {
      var link = element("a", "", "重新登录");
      link.href = "/login?next=" + encodeURIComponent(quickUrl);
      alertBox.appendChild(document.createTextNode(" "));
      alertBox.appendChild(link);
    }
    var button = panel.querySelector("[data-outbox-send]");
    button.hidden = !waitingMine;
    button.disabled = !!state.syncing;
    button.textContent = state.syncing ? "正在发送…" : "立即发送";
  }

  // Other pages: one line saying what waits, so a reporter back in signal knows it is moving.
  function renderBanner(waitingMine, waitingAll) {
    var alerts = document.getElementById("alerts");
    if (!alerts) return;
    var banner = document.getElementById("outbox-banner");
    var text = "";
    if (!userId && waitingAll) text = "本机有 " + waitingAll + " 条现场登记尚未发送，登录后自动继续发送。";
    else if (waitingMine) text = alertText(waitingMine) || "本机有 " + waitingMine + " 条现场登记正在发送。";
    if (!text) { if (banner) banner.remove(); return; }
    if (!banner) {
      banner = element("div", "alert alert-info");
      banner.id = "outbox-banner";
      banner.setAttribute("role", "status");
      alerts.appendChild(banner);
    }
    banner.textContent = text;
  }

  function render() {
    return allEntries().then(function (entries) {
      var now = Date.now();
      var shown = entries.filter(function (entry) {
        return entry.state !== "delivered" || now - Date.parse(entry.deliveredAt || entry.createdAt) < KEEP_DELIVERED_MS;
      });
      var waiting = entries.filter(function (entry) { return entry.state !== "delivered"; });
      var waitingMine = waiting.filter(function (entry) { return String(entry.userId) === userId; }).length;
      if (panel) renderPanel(shown, waitingMine);
      else renderBanner(waitingMine, waiting.length);
    }).catch(function () {});
  }

  function cleanUp() {
    allEntries().then(function (entries) {
      var now = Date.now();
      entries.forEach(function (entry) {
        if (entry.state === "delivered" && now - Date.parse(entry.deliveredAt || entry.createdAt) > KEEP_DELIVERED_MS) {
          dropEntry(entry);
        }
      });
    }).catch(function () {});
  }

  // Where the browser may drop what it keeps, or cannot open the page offline: say so.
  function note(text, name) {
    var notes = panel && panel.querySelector("#outbox-notes");
    if (!notes) return;
    var item = element("li", "", text);
    item.setAttribute("data-note", name);
    notes.appendChild(item);
  }

  function checkStorage() {
    if (/MicroMessenger/i.test(navigator.userAgent)) {
      note("在微信中打开时，本机暂存的登记可能被清除。请点击右上角「…」，选择「在浏览器打开」，用手机自带的浏览器登记。", "in-app");
      return;
    }
    if (!(navigator.storage && navigator.storage.persist)) return;  // plain HTTP: said below
    navigator.storage.persisted().then(function (already) {
      return already || navigator.storage.persist();
    }).then(function (granted) {
      if (panel) panel.setAttribute("data-persisted", granted ? "yes" : "no");
      if (!granted) {
        note("浏览器未承诺长期保留本机暂存的登记，存储空间紧张时可能清除，请有信号时及时发送；建议用手机自带的浏览器打开本站。", "not-persisted");
      }
    }).catch(function () {});
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) {
      if (panel) {
        panel.setAttribute("data-offline-open", "no");
        note("当前不是 HTTPS 连接，断网时无法打开本页；已打开的本页断网时仍可登记，联网后自动发送，下次打开本站时也会继续发送。", "no-https");
      }
      return;
    }
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      if (panel) {
        panel.setAttribute("data-offline-open", "yes");
        note("本页已存入本机，断网时也能打开登记。", "offline-ready");
      }
    }).catch(function () {
      if (panel) note("本页未能存入本机，断网时可能无法打开；已打开的本页断网时仍可登记。", "no-worker");
    });
  }

  // Signed out (a shared phone): the page kept for offline use was the last account's; drop it.
  function forgetKeptPage() {
    if (!window.caches) return;
    caches.keys().then(function (names) {
      names.forEach(function (name) {
        if (name.indexOf("qmonth-shell-") === 0) caches.open(name).then(function (cache) { cache.delete(quickUrl); });
      });
    }).catch(function () {});
  }

  function start() {
    openDb().then(function () {
      if (panel) { checkStorage(); }
      if (userId) registerWorker();
      else forgetKeptPage();
      cleanUp();
      render();
      sync();
    }).catch(function () {
      // No IndexedDB (a private window of some browsers): the form posts as it always did.
      if (panel) {
        panel.hidden = false;
        note("本浏览器不能在本机暂存登记，请在有信号时保存。", "no-storage");
      }
    });
    window.addEventListener("online", function () { sync(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") sync();
    });
    if (panel) {
      panel.querySelector("[data-outbox-send]").addEventListener("click", function () {
        state.backoff = 0;  // a tap tries now and restarts the timer's doubling; the warning stays until one gets through
        sync();
      });
    }
  }

  // For quick entry (outbox-entry.js): keep an entry, then send it; client ids for uploads.js too.
  window.qmonthOutbox = {
    ready: function () { return openDb(); }, save: saveEntry, sync: sync, newId: newId, element: element,
    panel: panel, userId: userId, userName: userName
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
