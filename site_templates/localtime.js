// Progressive enhancement: add the reader's own time to every <time> when it differs from the
// site's zone. The page is complete without it.
(function () {
  "use strict";
  var readerZone;
  try { readerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (readerZone === document.body.getAttribute("data-timezone")) { return; }
  // dateStyle/timeStyle cannot be combined with timeZoneName, so the parts are named one by one.
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var converted = false;
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime()) || el.getAttribute("datetime").length < 16) { return; }
    var local = format.format(when);
    if (el.textContent.indexOf(local) === -1) {
      el.setAttribute("title", el.textContent);
      el.textContent = local + " (your time)";
      converted = true;
    }
  });
  // The footer says which zone times are in: with times converted, say so (the original is the title).
  var note = document.querySelector(".zone-note");
  if (converted && note) {
    note.textContent = "Times are shown in your time zone (" + readerZone + "); hover a time for " +
      document.body.getAttribute("data-timezone") + ".";
  }
})();
