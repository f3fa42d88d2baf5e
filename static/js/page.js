// Small helps on every page, most of all on a phone with a weak signal. No dependencies;
// without this script the pages work the same, minus these conveniences.
(function () {
  "use strict";

  // A form that came back with errors: the notice sits at the top, the flagged field may be far
  // below it. Bring the first flagged field into view and put the cursor in it.
  function focusFirstError() {
    var field = document.querySelector(".field.has-error");
    if (!field) return;
    var control = field.querySelector("input:not([type=hidden]), select, textarea");
    field.scrollIntoView({ block: "center" });
    if (control) control.focus({ preventScroll: true });
  }

  // A thumbnail that failed to load (the connection dropped mid-page) is fetched again, a few
  // times with growing pauses, and once more whenever the phone comes back online.
  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000, 30000];

  function isPhoto(img) {
    return img.tagName === "IMG" && /\/photos\/\d+\//.test(img.getAttribute("src") || "");
  }

  function reload(img) {
    var tries = parseInt(img.getAttribute("data-retries") || "0", 10) + 1;
    img.setAttribute("data-retries", String(tries));
    var src = (img.getAttribute("src") || "").replace(/([?&])retry=\d+&?/, "$1").replace(/[?&]$/, "");
    img.classList.remove("is-broken");
    img.setAttribute("src", src + (src.indexOf("?") < 0 ? "?" : "&") + "retry=" + tries);
  }

  function failed(img) {
    img.classList.add("is-broken");
    var tries = parseInt(img.getAttribute("data-retries") || "0", 10);
    if (tries < RETRY_DELAYS_MS.length) {
      setTimeout(function () { reload(img); }, RETRY_DELAYS_MS[tries]);
    }
  }

  document.addEventListener("error", function (event) {
    if (isPhoto(event.target)) failed(event.target);
  }, true);  // error does not bubble: listen in the capture phase

  // Images that failed before this (deferred) script ran.
  function failedEarlier() {
    Array.prototype.forEach.call(document.images, function (img) {
      if (isPhoto(img) && img.complete && img.naturalWidth === 0 && !img.classList.contains("is-broken")) failed(img);
    });
  }

  window.addEventListener("online", function () {
    Array.prototype.forEach.call(document.querySelectorAll("img.is-broken"), function (img) {
      img.setAttribute("data-retries", "0");
      reload(img);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    failedEarlier();
    focusFirstError();
  });
})();
