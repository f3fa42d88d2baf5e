// Resumable photo uploads (qmonth/photos/resumable.py), written once for both senders: the
// activity form's uploader (uploads.js, over XHR so that it can show how far a piece has gone)
// and quick entry's outbox (outbox.js, over fetch). Each brings its own transport, a function
// request(method, url, options) that resolves with the JSON answer (also a 409 that tells the
// offset, and {missing: true} for a 404 when options.missing is set) and rejects with a Stop:
// "transient" (network, 5xx: tried again) or anything else (refused, session gone: passed on).
// options: body, headers, missing, onProgress(loaded) (used where the transport can tell).
// Loaded before both on every page (templates/base.html) and kept in the service worker's shell
// (qmonth/activities/outbox.py); it runs in pages only, never in the service worker. No dependencies.
(function () {
  "use strict";

  var CHUNK_BYTES = 256 * 1024;
  var QUICK_RETRIES = 5;       // a cut is tried again after 1, 2, 4, 8 and 16 s without progress...
  var QUICK_RETRY_MS = 1000;   // ...then left to the sender's own slower timer (30 s, doubling)
  var CHUNK_TYPE = "application/offset+octet-stream";

  function Stop(kind, message) { this.kind = kind; this.message = message || ""; }

  function isTransient(stop) {
    return stop instanceof Stop && stop.kind === "transient";
  }

  function pause(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function sha256(blob) {
    if (!(window.crypto && crypto.subtle)) return Promise.resolve("");  // plain HTTP: the length still checks
    return blob.arrayBuffer().then(function (buffer) { return crypto.subtle.digest("SHA-256", buffer); })
      .then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
      }).catch(function () { return ""; });
  }

  // An upload: { request, headers (sent with every write, e.g. the CSRF token), blob, clientId,
  // name, takenAt, createUrl, uploadUrl, hash (kept once computed), and, all optional,
  // progress(bytes), waiting(ms, tries) (a quick retry is due) and advanced() (a piece was
  // acknowledged) }.

  // Create the upload, or find where it stands: the same client id again is the same upload
  // (or, once the photo is made, the photo itself, "already received").
  function create(upload) {
    var hashed = upload.hash !== undefined ? Promise.resolve(upload.hash) : sha256(upload.blob);
    return hashed.then(function (hash) {
      upload.hash = hash;
      var data = new FormData();
      data.append("length", String(upload.blob.size));
      data.append("client_id", upload.clientId);
      data.append("filename", upload.name);
      if (hash) data.append("sha256", hash);
      if (upload.takenAt) data.append("taken_at", upload.takenAt);
      return upload.request("POST", upload.createUrl, { body: data, headers: upload.headers || {} });
    });
  }

  // The rest of the photo from `offset`, a piece at a time; each piece the server acknowledges
  // stays acknowledged, so a cut resumes from there. A cut (or a server still reading the cut
  // piece: 409 at the same offset) is tried again within seconds, from the offset the server
  // reports; `tries` counts attempts without progress, and starts again after each acknowledged piece.
  function sendFrom(upload, offset, tries) {
    tries = tries || 0;
    if (offset >= upload.blob.size) return upload.request("GET", upload.uploadUrl, {});
    var piece = upload.blob.slice(offset, Math.min(upload.blob.size, offset + CHUNK_BYTES));
    if (upload.progress) upload.progress(offset);
    return upload.request("PATCH", upload.uploadUrl, {
      body: piece,
      headers: Object.assign({}, upload.headers || {}, { "Upload-Offset": String(offset), "Content-Type": CHUNK_TYPE }),
      onProgress: function (loaded) { if (upload.progress) upload.progress(offset + Math.min(loaded, piece.size)); }
    }).then(function (answer) {
      if (answer.complete) return answer;
      if (answer.offset > offset) {
        if (upload.advanced) upload.advanced();
        return sendFrom(upload, answer.offset, 0);
      }
      if (tries >= QUICK_RETRIES) throw new Stop("transient", "服务器暂时无法接收");
      var wait = QUICK_RETRY_MS * Math.pow(2, tries);
      if (upload.waiting) upload.waiting(wait, tries + 1);
      return pause(wait).then(function () {
        return sendFrom(upload, answer.offset, tries + 1);
      });
    }, function (stop) {
      if (!isTransient(stop)) throw stop;
      return resumeAfterCut(upload, offset, tries + 1, stop);
    });
  }

  // After a cut: wait, ask the server what it holds, go on from there.
  function resumeAfterCut(upload, offset, tries, stop) {
    if (tries > QUICK_RETRIES) return Promise.reject(stop);
    var wait = QUICK_RETRY_MS * Math.pow(2, tries - 1);
    if (upload.waiting) upload.waiting(wait, tries);
    return pause(wait).then(function () {
      return upload.request("GET", upload.uploadUrl, { missing: true });
    }).then(function (status) {
      if (status.missing) throw new Stop("transient", "网络不通");  // expired: the next attempt creates it again
      if (status.complete) return status;
      var reached = status.offset || 0;
      return sendFrom(upload, reached, reached > offset ? 0 : tries);
    }, function (again) {
      if (!isTransient(again)) throw again;
      return resumeAfterCut(upload, offset, tries + 1, again);
    });
  }

  window.qmonthResumable = {
    Stop: Stop, isTransient: isTransient, pause: pause, sha256: sha256, create: create,
    sendFrom: function (upload, offset) { return sendFrom(upload, offset || 0, 0); },
    QUICK_RETRIES: QUICK_RETRIES, QUICK_RETRY_MS: QUICK_RETRY_MS
  };
})();
