// The workspace's forms call the JSON API with the session's CSRF token. A form or button with
// data-api="URL" (and data-method) sends its fields as JSON: names with dots nest ("customer.name"),
// data-type says how to read a field (int, bool, list, lines, hours, json; nullable: empty is null),
// data-optional leaves an empty field out, data-zoned-date/-time pairs become one timestamp in the
// clinic's timezone.
// Errors show the API's message next to the form; nothing is lost from the fields.
(function () {
  "use strict";
  var config = window.FRONTDESK || {};

  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  // The UTC offset (minutes) of a time zone at an instant, from the browser's own tz database.
  function offsetAt(timeZone, instant) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(instant).forEach(function (p) { parts[p.type] = p.value; });
    var asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
    return Math.round((asUtc - instant.getTime()) / 60000);
  }

  // "2026-12-03" + "14:30" on the clinic's wall clock -> "2026-12-03T14:30:00-05:00".
  function zoned(day, clock, timeZone) {
    var naive = Date.parse(day + "T" + clock + ":00Z");
    var offset = offsetAt(timeZone, new Date(naive));
    offset = offsetAt(timeZone, new Date(naive - offset * 60000));
    var sign = offset < 0 ? "-" : "+", abs = Math.abs(offset);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return day + "T" + clock + ":00" + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  // An instant on the clinic's wall clock, as the server-rendered pages show it: "14:05", or with
  // the day, "Thu 03 Dec 14:05". Never the browser's own time zone: staff may be elsewhere.
  function clinicTime(instant, withDay) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: config.timezone, hourCycle: "h23", weekday: "short", day: "2-digit", month: "short",
      hour: "2-digit", minute: "2-digit"
    }).formatToParts(new Date(instant)).forEach(function (p) { parts[p.type] = p.value; });
    var time = parts.hour + ":" + parts.minute;
    return withDay ? parts.weekday + " " + parts.day + " " + parts.month + " " + time : time;
  }

  // A field's value that cannot be read: the message names the part, and nothing is sent.
  function FieldProblem(field, message, whole) { this.field = field; this.message = message; this.whole = whole; }

  function clock(text) {
    var t = text.match(/^(\d{1,2}):(\d{2})$/);
    return t && Number(t[1]) <= 24 && Number(t[2]) < 60 ? (t[1].length === 1 ? "0" : "") + t[1] + ":" + t[2] : null;
  }

  function parseHours(text, field) {
    // One line per day: "mon 09:00-12:00, 13:00-17:00"; the gap between intervals is a break; a day
    // alone is closed. Anything else is refused by name rather than dropped, so no hours are lost.
    var hours = [];
    text.split("\n").forEach(function (raw) {
      var line = raw.trim();
      if (!line) return;
      var m = line.match(/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b\s*(.*)$/i);
      if (!m) throw new FieldProblem(field, "\u201c" + line + "\u201d does not start with a day (mon, tue, wed, thu, fri, sat, sun)");
      if (!m[2].trim()) return;
      m[2].split(",").forEach(function (span) {
        var part = span.trim();
        var t = part.match(/^(\S+)\s*[-–]\s*(\S+)$/);
        var opens = t && clock(t[1]), closes = t && clock(t[2]);
        if (!opens || !closes) throw new FieldProblem(field, m[1] + ": \u201c" + part + "\u201d is not a time range like 09:00-12:00");
        if (opens >= closes) throw new FieldProblem(field, m[1] + ": \u201c" + part + "\u201d closes before it opens");
        hours.push({ weekday: m[1].toLowerCase(), opens_at: opens, closes_at: closes });
      });
    });
    return hours;
  }

  function read(field) {
    var type = field.dataset.type;
    if (field.type === "checkbox") return field.checked;
    var value = field.value;
    if (type === "int") return value === "" ? null : Number(value);
    if (type === "list") return value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (type === "ints") return value.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(Number);
    if (type === "nullable") return value === "" ? null : value;
    if (type === "lines") return value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
    if (type === "hours") return parseHours(value, field);
    if (type === "json") return value ? JSON.parse(value) : null;
    if (type === "multi") return Array.prototype.filter.call(field.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    return value;
  }

  function put(target, path, value) {
    var keys = path.split("."), last = keys.pop();
    keys.forEach(function (k) { target = target[k] = target[k] || {}; });
    target[last] = value;
  }

  function body(form) {
    var data = {}, zones = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.name === "csrf_token") return;
      if ("zonedDate" in field.dataset || "zonedTime" in field.dataset) {
        var entry = zones[field.name] = zones[field.name] || {};
        entry["zonedDate" in field.dataset ? "day" : "clock"] =
          "throughDay" in field.dataset && field.value ? dayAfter(field.value) : field.value;
        return;
      }
      var value = read(field);
      if ("optional" in field.dataset && (value === "" || value === null || (Array.isArray(value) && !value.length && field.dataset.type !== "multi"))) return;
      put(data, field.name, value);
    });
    Object.keys(zones).forEach(function (name) {
      if (zones[name].day && zones[name].clock) put(data, name, zoned(zones[name].day, zones[name].clock, config.timezone));
    });
    // A fieldset of alternatives (phone or e-mail) needs at least one of them.
    Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-one-of]"), function (group) {
      var filled = Array.prototype.some.call(group.querySelectorAll("input"), function (f) { return f.value.trim(); });
      if (!filled) throw new FieldProblem(group.querySelector("input"), group.dataset.oneOf, true);
    });
    return data;
  }

  // "2026-12-24" -> "2026-12-25": a last day people name, as the exclusive end the API takes.
  function dayAfter(day) {
    var next = new Date(Date.parse(day + "T00:00:00Z") + 86400000);
    return next.toISOString().slice(0, 10);
  }

  function say(scope, problem, fields) {
    if (scope.querySelectorAll) {
      Array.prototype.forEach.call(scope.querySelectorAll("[aria-invalid]"), function (f) { f.removeAttribute("aria-invalid"); });
    }
    (fields || []).forEach(function (f) { f.setAttribute("aria-invalid", "true"); });
    var box = scope.querySelector("[role=alert]") || (scope.closest("dialog, section, main") || document).querySelector("[role=alert]");
    if (!box) { if (problem) toast(problem); return; }
    if (!problem) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = problem;
    box.hidden = false;
    box.focus && box.setAttribute("tabindex", "-1");
  }

  function capital(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  // The words a person reads next to a field: its label without the field's own text.
  function labelOf(field) {
    var label = field.closest("label") || (field.id && document.querySelector("label[for='" + field.id + "']"));
    var group = field.closest("fieldset");
    if (!label) return group && group.querySelector("legend") ? group.querySelector("legend").textContent.trim() : field.name;
    var copy = label.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll("input, select, textarea"), function (f) { f.remove(); });
    return copy.textContent.trim();
  }

  // The form's field an API error names ("customer.phone"), if the form has one.
  function fieldNamed(form, name) {
    if (!form || !form.elements || !name) return null;
    return Array.prototype.find.call(form.elements, function (f) { return f.name === name; }) || null;
  }

  // An API error as a sentence: fields called by their labels, never by their JSON names.
  function describe(status, payload, form) {
    var error = payload && payload.error;
    if (!error) return { text: "Something went wrong (" + status + "). Nothing was changed; try again.", fields: [] };
    if (error.code === "SLOT_TAKEN" || (status === 409 && /taken|booked|available|overlap/i.test(error.message))) {
      return { text: "That time was just taken. Choose another time. (" + error.message + ")", fields: [] };
    }
    var problems = (error.details && error.details.errors) || [];
    if (!problems.length) return { text: capital(error.message), fields: [] };
    var fields = [];
    var text = problems.map(function (p) {
      var field = fieldNamed(form, p.field);
      if (field) fields.push(field);
      return field ? labelOf(field) + ": " + p.message : capital(p.message);
    }).join("; ");
    return { text: text, fields: fields };
  }

  function describeText(status, payload) { return describe(status, payload).text; }

  function api(method, url, data, key) {
    var headers = { "Content-Type": "application/json", "X-CSRF-Token": config.csrf, "Accept": "application/json" };
    if (key) headers["Idempotency-Key"] = key;
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin",
      body: data === undefined ? undefined : JSON.stringify(data)
    }).then(function (response) {
      if (response.status === 401) { location.href = "/app/login?next=" + encodeURIComponent(location.pathname + location.search); }
      return response.text().then(function (text) {
        var payload = null;
        try { payload = text ? JSON.parse(text) : null; } catch (e) { payload = null; }
        return { ok: response.ok, status: response.status, data: payload };
      });
    });
  }

  // "Saved", "Booked"…: shown on the page the action leads to, for as long as any other message.
  var KEPT_TOAST = "frontdesk:toast";
  function toastAfterLoad(text) {
    try { sessionStorage.setItem(KEPT_TOAST, text); } catch (e) { /* storage off: no message */ }
  }
  function keptToast() {
    var text = null;
    try { text = sessionStorage.getItem(KEPT_TOAST); sessionStorage.removeItem(KEPT_TOAST); } catch (e) { text = null; }
    if (text) toast(text);
  }

  function after(element, result) {
    var then = element.dataset.then || "";
    var leaving = then === "reload" || then.indexOf("go:") === 0;
    if (element.dataset.done) (leaving ? toastAfterLoad : toast)(element.dataset.done);
    if (then === "reload") location.reload();
    else if (then.indexOf("go:") === 0) location.href = then.slice(3).replace("{id}", result.data && result.data.id);
    else if (then === "secret" && result.data) showSecret(result.data);
    element.dispatchEvent(new CustomEvent("api:done", { detail: result.data, bubbles: true }));
  }

  function showSecret(data) {
    var dialog = document.getElementById("secret-dialog");
    if (!dialog) return;
    dialog.querySelector("code").textContent = data.secret || data.key || data.signing_secret || JSON.stringify(data);
    dialog.showModal();
  }

  function newKey() {
    return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // One Idempotency-Key per attempt: a retry of the same request (after a lost answer) keeps it, so
  // the work is done once; a changed request (another time after "just taken") gets a new one.
  function keyFor(element, url, data) {
    var request = url + " " + JSON.stringify(data === undefined ? null : data);
    if (element.dataset.idempotencyRequest !== request) {
      element.dataset.idempotencyRequest = request;
      element.dataset.idempotencyKey = newKey();
    }
    return element.dataset.idempotencyKey;
  }

  function forgetKey(element) {
    delete element.dataset.idempotencyKey;
    delete element.dataset.idempotencyRequest;
  }

  function send(element, method, url, data) {
    if (element.dataset.confirm && !window.confirm(element.dataset.confirm)) return;
    var busy = element.tagName === "FORM" ? element.querySelector("button:not([type=button])") : element;
    if (busy) busy.disabled = true;
    var key = method === "POST" ? keyFor(element, url, data) : null;
    api(method, url, data, key).then(function (result) {
      if (busy) busy.disabled = false;
      if (result.ok) {
        forgetKey(element);
        say(element, "");
        after(element, result);
        return;
      }
      var problem = describe(result.status, result.data, element.tagName === "FORM" ? element : null);
      say(element, problem.text, problem.fields);
    }, function () {
      if (busy) busy.disabled = false;
      say(element, "The server could not be reached. Nothing was lost: try again.");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.api) return;
    event.preventDefault();
    var data;
    try {
      data = body(form);
    } catch (e) {
      if (!(e instanceof FieldProblem)) throw e;
      say(form, e.whole ? e.message : labelOf(e.field) + ": " + e.message, [e.field]);
      e.field.focus();
      return;
    }
    send(form, form.dataset.method || "POST", form.dataset.api, data);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (button && !button.form) {
      send(button, button.dataset.method || "POST", button.dataset.api, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
      return;
    }
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog).showModal();
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  // The waiting badge and a browser notification when a patient asks for a person; the alert badge,
  // a sound and a notification that stays when triage flags an emergency or an urgent problem.
  function watchInbox() {
    if (!window.io || !document.getElementById("waiting-badge")) return;
    var socket = window.io("/staff", { transports: ["websocket", "polling"], withCredentials: true });
    window.FRONTDESK.socket = socket;
    var timer = null, later = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    // The server ends the connection when the session is signed out, the member removed or their
    // role changed: reload, to the sign-in page or as the new role.
    socket.on("disconnect", function (reason) { if (reason === "io server disconnect") location.reload(); });
    socket.on("conversation.message", later);
    socket.on("conversation.updated", later);
    socket.on("conversation.alert", function (event) { alarm(event); refresh(true); });
    socket.on("connect", function () { refresh(true); });  // the counts, without news to announce
  }

  function refresh(quiet) {
    api("GET", "/api/v1/conversations?status=needs_human&limit=1").then(function (result) {
      if (!result.ok) return;
      var badge = document.getElementById("waiting-badge"), before = Number(badge.textContent) || 0;
      badge.textContent = result.data.waiting;
      badge.hidden = !result.data.waiting;
      if (result.data.waiting > before && !quiet) notify(result.data.items[0]);
      var alerts = document.getElementById("alert-badge");
      alerts.textContent = result.data.alerts + (result.data.alerts === 1 ? " alert" : " alerts");
      alerts.hidden = !result.data.alerts;
    });
  }

  function notify(conversation) {
    toast("A patient is waiting for a person" + (conversation ? ": " + conversation.patient : ""));
    notification("A patient is waiting for a person", conversation ? conversation.patient + ": " + conversation.last_text : "",
      "frontdesk-waiting", conversation && conversation.id, false);
  }

  var CHANNEL_NAMES = { web: "web chat", sms: "text", voice: "phone call" };
  function alarm(event) {
    var what = (event.band === "emergency" ? "Emergency" : "Urgent dental problem") + " (" + event.category.replace(/_/g, " ") + ")";
    chime();
    toast(what + " flagged in a " + CHANNEL_NAMES[event.channel] + ". See Alerts in the inbox.");
    notification(what, "Flagged in a " + CHANNEL_NAMES[event.channel] + ": open it now.",
      "frontdesk-alert-" + event.conversation_id, event.conversation_id, true);
  }

  function notification(title, body, tag, conversationId, stay) {
    if (!("Notification" in window)) return;
    var show = function () {
      var note = new Notification(title, { body: body, tag: tag, requireInteraction: stay });
      note.onclick = function () { window.focus(); location.href = "/app/inbox" + (conversationId ? "?open=" + conversationId : ""); };
    };
    if (Notification.permission === "granted") show();
    else if (Notification.permission === "default") Notification.requestPermission().then(function (p) { if (p === "granted") show(); });
  }

  // Browsers let a page play sound only after someone has used it: the first click or key opens the
  // audio, so the alarm can sound later.
  var audio = null;
  function openAudio() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio && audio.state === "suspended") audio.resume();
    return audio;
  }
  document.addEventListener("pointerdown", openAudio, { once: true });
  document.addEventListener("keydown", openAudio, { once: true });
  function chime() {
    var context = openAudio();
    if (!context) return;
    [0, 0.3, 0.6].forEach(function (at) {
      var tone = context.createOscillator(), gain = context.createGain();
      tone.type = "square"; tone.frequency.value = 880; gain.gain.value = 0.08;
      tone.connect(gain); gain.connect(context.destination);
      tone.start(context.currentTime + at); tone.stop(context.currentTime + at + 0.18);
    });
  }

  function enableAlerts() {
    openAudio();
    if ("Notification" in window && Notification.permission === "default") return Notification.requestPermission();
    return Promise.resolve();
  }

  window.Frontdesk = { api: api, toast: toast, zoned: zoned, clinicTime: clinicTime, say: say, describe: describeText, enableAlerts: enableAlerts,
    keyFor: keyFor, forgetKey: forgetKey };
  keptToast();
  watchInbox();
})();
