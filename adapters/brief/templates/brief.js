// The countdowns in the viewer's own zone; without script the page shows each deadline's zone.
(function () {
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("[data-due]").forEach(function (item) {
    var due = new Date(item.getAttribute("data-due"));
    var local = item.querySelector(".viewer");
    if (local && !isNaN(due)) {
      local.textContent = "Your time (" + zone + "): " + format.format(due);
      local.hidden = false;
    }
  });
})();
