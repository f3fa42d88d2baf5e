// qmonth's service worker: keeps the shell of quick entry (the page, its styles and scripts) so
// that it opens on a site with no network. Served at /sw.js (scope: the whole site) by
// qmonth/activities/outbox.py, which fills in VERSION and SHELL; a deploy that changes the shell
// changes VERSION, and the new worker replaces the old cache.
//
// Entries waiting to be sent are never kept here: they live in IndexedDB (static/js/outbox.js),
// which a new worker does not touch. Only GET requests for the shell are answered; every other
// request, and every write, goes to the network untouched.
"use strict";

var VERSION = "__QMONTH_VERSION__";
// The quick-entry page, then its static files under their fingerprinted URLs (?v=…).
var SHELL = ["__QMONTH_SHELL__"];
// Kept and looked up by path: a static file's ?v= only keeps the browser's own cache fresh, and a
// page kept by an earlier version asks for the same path under the earlier fingerprint.
var PATHS = SHELL.map(function (url) { return new URL(url, self.location.href).pathname; });
var FINGERPRINT = /^\?v=[0-9a-f]+$/;
var CACHE = "qmonth-shell-" + VERSION;
var PREFIX = "qmonth-shell-";
var NETWORK_WAIT_MS = 4000;  // a weak link: the kept page after this long, the network's if it comes

// The shell from the network (a fingerprinted static file through the browser's cache, so at most
// a revalidation: its URL changes with its content); what cannot be fetched now (offline during an
// update) is copied from the previous version's cache, so an update never loses the offline page.
function fill(cache) {
  return Promise.all(SHELL.map(function (url, index) {
    var path = PATHS[index];
    var fresh = FINGERPRINT.test(new URL(url, self.location.href).search) ? "default" : "no-store";
    return fetch(url, { credentials: "same-origin", cache: fresh }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("not the page");
      return cache.put(path, response);
    }).catch(function () {
      return caches.match(path, { ignoreVary: true }).then(function (kept) {
        if (kept) return cache.put(path, kept);
      });
    });
  }));
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(fill).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromNetworkOrKept(request, key) {
  return caches.open(CACHE).then(function (cache) {
    return new Promise(function (resolve) {
      var settled = false;
      function settle(response) {
        if (!settled && response) { settled = true; resolve(response); }
      }
      function kept() {
        return cache.match(key, { ignoreVary: true });
      }
      var timer = setTimeout(function () { kept().then(settle); }, NETWORK_WAIT_MS);
      fetch(request).then(function (response) {
        if (response.ok && response.type === "basic" && !response.redirected) {
          cache.put(key, response.clone());
        }
        clearTimeout(timer);
        settle(response);
      }, function () {
        clearTimeout(timer);
        kept().then(function (response) { settle(response || Response.error()); });
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var index = PATHS.indexOf(url.pathname);
  if (index < 0) return;
  // The page only as a navigation without a query; a static file bare or fingerprinted.
  if (index === 0 ? (request.mode !== "navigate" || url.search) : (url.search && !FINGERPRINT.test(url.search))) return;
  event.respondWith(fromNetworkOrKept(request, url.pathname));
});
