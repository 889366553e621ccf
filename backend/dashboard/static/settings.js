// Settings: a template's preview and SMS segment count follow the wording as it is typed.
(function () {
  "use strict";
  var F = window.Frontdesk;
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var box = form.querySelector("textarea"), preview = form.querySelector(".preview"), segments = form.querySelector(".segments");
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!box.value.trim()) return;
        F.api("POST", form.dataset.preview, { source: box.value }).then(function (result) {
          if (!result.ok) { F.say(form, F.describe(result.status, result.data)); return; }
          F.say(form, "");
          preview.textContent = result.data.preview;
          if (result.data.segments) segments.textContent = result.data.segments.segments + " segment(s), " + result.data.segments.encoding;
        });
      }, 250);
    });
  });
})();
