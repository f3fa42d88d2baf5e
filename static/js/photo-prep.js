// Photos made ready on the phone before they are sent: the capture time read from the original's
// EXIF (a canvas drops EXIF, so this comes first), then the picture shrunk to what the server keeps
// (1600 px on the long side, JPEG) and to at most 350 KB. No dependencies.
// window.qmonthPhotoPrep.prepare(file, longSide) -> Promise<{file, takenAt}>; takenAt is local
// camera time "YYYY-MM-DDTHH:MM:SS" or "" when the original carries none (WeChat forwards, screenshots).
(function () {
  "use strict";

  var TARGET_BYTES = 350 * 1024;
  var QUALITIES = [0.82, 0.74, 0.66, 0.58];  // tried in turn until the JPEG fits TARGET_BYTES
  var EXIF_SCAN_BYTES = 512 * 1024;
  var TAG_EXIF_IFD = 0x8769;
  var TAG_DATE_TIME_ORIGINAL = 0x9003;

  function readBytes(blob) {
    if (blob.arrayBuffer) return blob.arrayBuffer();
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(blob);
    });
  }

  // Where "Exif\0\0" is followed by a TIFF header ("II*\0" or "MM\0*"): in a JPEG's APP1 segment,
  // and in the Exif item of a HEIC alike. Returns the TIFF header's offset or -1.
  function findTiff(bytes) {
    for (var i = 0; i + 10 <= bytes.length; i++) {
      if (bytes[i] === 0x45 && bytes[i + 1] === 0x78 && bytes[i + 2] === 0x69 && bytes[i + 3] === 0x66 &&
          bytes[i + 4] === 0 && bytes[i + 5] === 0) {
        var a = bytes[i + 6], b = bytes[i + 7], c = bytes[i + 8], d = bytes[i + 9];
        if ((a === 0x49 && b === 0x49 && c === 0x2a && d === 0) || (a === 0x4d && b === 0x4d && c === 0 && d === 0x2a)) {
          return i + 6;
        }
      }
    }
    return -1;
  }

  // The value of `tag` in the IFD at `ifd` (offsets from the TIFF header): {type, count, at}.
  function entry(view, tiff, ifd, tag, little) {
    var count = view.getUint16(tiff + ifd, little);
    for (var n = 0; n < count; n++) {
      var at = tiff + ifd + 2 + n * 12;
      if (view.getUint16(at, little) === tag) {
        return { type: view.getUint16(at + 2, little), count: view.getUint32(at + 4, little), at: at + 8 };
      }
    }
    return null;
  }

  function dateTimeOriginal(buffer) {
    var bytes = new Uint8Array(buffer);
    var tiff = findTiff(bytes);
    if (tiff < 0) return "";
    try {
      var view = new DataView(buffer);
      var little = bytes[tiff] === 0x49;
      var ifd0 = view.getUint32(tiff + 4, little);
      var pointer = entry(view, tiff, ifd0, TAG_EXIF_IFD, little);
      if (!pointer) return "";
      var found = entry(view, tiff, view.getUint32(pointer.at, little), TAG_DATE_TIME_ORIGINAL, little);
      if (!found || found.type !== 2 || found.count < 19) return "";
      var start = tiff + view.getUint32(found.at, little);
      var text = String.fromCharCode.apply(null, bytes.subarray(start, start + 19));
      // "2024:09:18 10:12:33"; cameras without a clock write zeros or blanks.
      var m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text);
      if (!m || m[1] === "0000" || +m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31 || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) {
        return "";
      }
      return m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4] + ":" + m[5] + ":" + m[6];
    } catch (e) {
      return "";  // a truncated or malformed block: the time is simply unknown
    }
  }

  function captureTime(file) {
    return readBytes(file.slice(0, EXIF_SCAN_BYTES)).then(function (head) {
      var found = dateTimeOriginal(head);
      if (found || file.size <= EXIF_SCAN_BYTES || /jpe?g$/i.test(file.type)) return found;
      // A HEIC may keep its Exif item after the picture data.
      return readBytes(file.slice(Math.max(0, file.size - EXIF_SCAN_BYTES))).then(dateTimeOriginal);
    }).catch(function () { return ""; });
  }

  function toJpeg(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  function encodeWithin(canvas, index) {
    return toJpeg(canvas, QUALITIES[index]).then(function (blob) {
      if (!blob || blob.size <= TARGET_BYTES || index + 1 >= QUALITIES.length) return blob;
      return encodeWithin(canvas, index + 1);
    });
  }

  // Shrink to at most `limit` px on the long side as JPEG. What the browser cannot decode (some
  // HEIC, an animated GIF we must not flatten) is sent as it is; the server converts it.
  function shrink(file, limit) {
    if (!limit || !window.createImageBitmap || !/^image\//i.test(file.type) || /gif|svg/i.test(file.type)) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, limit / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && /^image\/jpeg$/i.test(file.type) && file.size <= TARGET_BYTES) {
        bitmap.close();
        return file;
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.imageSmoothingQuality = "high";
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return encodeWithin(canvas, 0).then(function (blob) {
        canvas.width = canvas.height = 0;  // give the memory back at once (phones run out)
        if (!blob || blob.size >= file.size) return file;
        return new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
      });
    }).catch(function () {
      return file;
    });
  }

  function prepare(file, limit) {
    return captureTime(file).then(function (takenAt) {
      return shrink(file, limit).then(function (prepared) {
        return { file: prepared, takenAt: takenAt };
      });
    });
  }

  window.qmonthPhotoPrep = { prepare: prepare, dateTimeOriginal: dateTimeOriginal };
})();
