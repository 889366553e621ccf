// The schedule's dialogs: an appointment's actions, booking at the time clicked, free times.
(function () {
  "use strict";
  var F = window.Frontdesk;
  var book = document.getElementById("book-dialog");
  var details = document.getElementById("appointment-dialog");

  function fill(form, selector, value) { var f = form.querySelector(selector); if (f) f.value = value; }

  document.addEventListener("click", function (event) {
    var block = event.target.closest("[data-appointment]");
    if (block) {
      var id = block.dataset.appointment;
      details.querySelector("h2").textContent = block.dataset.patient + " · " + block.dataset.reference;
      details.querySelector(".appointment-summary").textContent =
        block.dataset.service + ", " + block.dataset.starts.replace("T", " at ") + " (" + block.dataset.status.replace("_", " ") + "), from " + block.dataset.source;
      details.querySelectorAll("[data-api]").forEach(function (el) {
        el.dataset.apiTemplate = el.dataset.apiTemplate || el.dataset.api;
        el.dataset.api = el.dataset.apiTemplate.replace("{id}", id);
      });
      var move = details.querySelector("form");
      fill(move, "[data-zoned-date]", block.dataset.starts.slice(0, 10));
      fill(move, "[data-zoned-time]", block.dataset.starts.slice(11, 16));
      details.querySelectorAll("[role=alert]").forEach(function (a) { a.hidden = true; });
      details.showModal();
      return;
    }
    var track = event.target.closest(".track");
    if (track && event.target === track || (event.target.classList && event.target.classList.contains("open"))) {
      var column = event.target.closest(".column");
      var rect = column.querySelector(".track").getBoundingClientRect();
      var first = Number(column.dataset.firstHour), last = Number(column.dataset.lastHour);
      var minutes = Math.round(((event.clientY - rect.top) / rect.height) * (last - first) * 60 / 15) * 15 + first * 60;
      var form = book.querySelector("form");
      fill(form, "[name=provider_id]", column.dataset.provider);
      fill(form, "[data-zoned-date]", column.dataset.day);
      fill(form, "[data-zoned-time]", String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0"));
      book.showModal();
    }
  });

  var finder = book && book.querySelector("[data-free-times]");
  if (finder) finder.addEventListener("click", function () {
    var form = book.querySelector("form"), out = book.querySelector(".free-times");
    var day = form.querySelector("[data-zoned-date]").value;
    var params = new URLSearchParams({ service_id: form.service_id.value, from: day, limit: "24" });
    if (form.provider_id.value) params.set("provider_id", form.provider_id.value);
    out.textContent = "Looking…";
    F.api("GET", "/api/v1/availability?" + params).then(function (result) {
      out.textContent = "";
      if (!result.ok) { out.textContent = F.describe(result.status, result.data); return; }
      if (!result.data.slots.length) { out.textContent = "No free times that day."; return; }
      result.data.slots.forEach(function (slot) {
        var chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = slot.local_time + " " + slot.provider_name;
        chip.addEventListener("click", function () {
          fill(form, "[data-zoned-time]", slot.local_time);
          fill(form, "[name=provider_id]", slot.provider_id);
        });
        out.appendChild(chip);
      });
    });
  });
})();
