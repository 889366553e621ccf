// The inbox: the list and the open thread come from the conversations API and stay live through
// the clinic's Socket.IO room; taking over, replying and handing back call the API. Conversations
// triage flagged (emergencies, urgent problems) sit in Alerts at the top until someone acknowledges.
(function () {
  "use strict";
  var F = window.Frontdesk, config = window.FRONTDESK;
  var root = document.querySelector(".inbox");
  var list = root.querySelector(".conversations"), more = document.getElementById("more-conversations");
  var filters = document.getElementById("inbox-filters");
  var thread = root.querySelector(".messages"), reply = document.getElementById("reply");
  var takeOver = document.getElementById("take-over"), handBack = document.getElementById("hand-back");
  var acknowledge = document.getElementById("acknowledge"), enable = document.getElementById("enable-alerts");
  var alerts = document.getElementById("alerts"), alertList = alerts.querySelector(".alert-list");
  var current = null, shown = {}, nextCursor = null;
  var CHANNELS = { web: "Web chat", sms: "Text", voice: "Phone" };
  var BANDS = { emergency: "Emergency", urgent: "Urgent" };

  function flagLabel(triage) { return BANDS[triage.band] + " · " + triage.category.replace(/_/g, " "); }

  function flagBadge(triage) {
    var badge = document.createElement("span");
    badge.className = "badge alert";
    badge.textContent = flagLabel(triage);
    return badge;
  }

  // A patient who said they are running late for the visit the conversation is about.
  function lateLabel(late) { return "running late" + (late.minutes ? " " + late.minutes + " min" : ""); }

  function lateBadge(late) {
    var badge = document.createElement("span");
    badge.className = "badge late";
    badge.textContent = lateLabel(late);
    return badge;
  }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = label;
    b.addEventListener("click", function () { onClick(b); });
    return b;
  }

  function query(cursor) {
    var params = new URLSearchParams({ limit: "40" });
    var data = new FormData(filters);
    if (data.get("status")) params.set("status", data.get("status"));
    if (data.get("channel")) params.set("channel", data.get("channel"));
    if (data.get("today")) params.set("today", "true");
    if (cursor) params.set("cursor", cursor);
    return "/api/v1/conversations?" + params;
  }

  function item(c) {
    var li = document.createElement("li"), b = document.createElement("button");
    b.type = "button";
    b.dataset.id = c.id;
    if (current && current.id === c.id) b.setAttribute("aria-current", "true");
    var top = document.createElement("strong"); top.textContent = c.patient;
    var tag = document.createElement("span"); tag.className = "status " + c.status;
    tag.textContent = c.status === "needs_human" ? "needs a person" : c.status;
    var meta = document.createElement("small"); meta.className = "muted";
    meta.textContent = " " + CHANNELS[c.channel] + (c.handler === "staff" ? " · with staff" : "") + " · " + F.clinicTime(c.updated_at, true);
    var last = document.createElement("div"); last.className = "muted"; last.textContent = c.last_text;
    b.append(top, " ", tag, meta, last);
    if (c.triage) b.insertBefore(flagBadge(c.triage), tag);
    if (c.running_late) b.insertBefore(lateBadge(c.running_late), tag);
    b.addEventListener("click", function () { open(c.id); });
    li.appendChild(b);
    return li;
  }

  function load(append) {
    F.api("GET", query(append ? nextCursor : null)).then(function (result) {
      if (!result.ok) { F.toast(F.describe(result.status, result.data)); return; }
      if (!append) list.innerHTML = "";
      if (!result.data.items.length && !append) {
        var empty = document.createElement("li"); empty.className = "muted"; empty.style.padding = "10px";
        empty.textContent = "No conversations match."; list.appendChild(empty);
      }
      result.data.items.forEach(function (c) { list.appendChild(item(c)); });
      nextCursor = result.data.next_cursor;
      more.hidden = !nextCursor;
    });
  }

  function loadAlerts() {
    F.api("GET", "/api/v1/conversations?triage=any&acknowledged=false&limit=20").then(function (result) {
      if (!result.ok) return;
      alertList.innerHTML = "";
      result.data.items.forEach(function (c) {
        var li = document.createElement("li");
        var who = document.createElement("strong"); who.textContent = c.patient;
        var when = document.createElement("span"); when.className = "muted";
        when.textContent = CHANNELS[c.channel] + " · flagged " + F.clinicTime(c.triage.at);
        li.append(flagBadge(c.triage), who, when,
          button("Open", function () { open(c.id); }),
          button("Acknowledge", function (b) { act(c.id, "acknowledge", b); }));
        alertList.appendChild(li);
      });
      alerts.hidden = !result.data.items.length;
    });
  }

  function bubble(m) {
    if (shown[m.seq]) return;
    shown[m.seq] = true;
    var el = document.createElement("div");
    el.className = "msg " + m.role;
    var who = document.createElement("small");
    who.textContent = ({ patient: "Patient", assistant: "Receptionist", staff: m.author || "Staff", system: "Note" })[m.role] + " · " + F.clinicTime(m.at);
    el.appendChild(who);
    el.appendChild(document.createTextNode(m.text));
    if (m.card) {
      var card = document.createElement("div"); card.className = "card";
      card.setAttribute("role", "group");
      card.setAttribute("aria-label", m.card.status === "cancelled" ? "Appointment cancelled" : "Appointment booked");
      card.textContent = [m.card.service, m.card.when, m.card.provider, m.card.reference].filter(Boolean).join(" · ");
      el.appendChild(card);
    }
    thread.appendChild(el);
    thread.scrollTop = thread.scrollHeight;
  }

  function show(c) {
    current = c;
    document.getElementById("thread-title").textContent = c.patient + " · " + CHANNELS[c.channel];
    var status = document.getElementById("thread-status");
    status.hidden = false; status.className = "status " + c.status;
    status.textContent = c.status === "needs_human" ? "needs a person" : c.status;
    var flag = document.getElementById("thread-alert");
    flag.hidden = !c.triage;
    if (c.triage) flag.textContent = flagLabel(c.triage) + (c.triage.acknowledged_at ? " (acknowledged)" : "");
    acknowledge.hidden = !(c.triage && !c.triage.acknowledged_at);
    var late = document.getElementById("thread-late");
    late.hidden = !c.running_late;
    if (c.running_late) late.textContent = lateLabel(c.running_late);
    var mine = c.handler === "staff" && c.staff_id === config.staffId;
    document.getElementById("thread-handler").textContent =
      c.handler === "staff" ? (mine ? "You are answering" : "A colleague is answering") : "The receptionist is answering";
    takeOver.hidden = c.handler === "staff";
    handBack.hidden = c.handler !== "staff";
    reply.hidden = !mine;
    document.getElementById("urgent-label").hidden = c.channel === "web";
    list.querySelectorAll("button[data-id]").forEach(function (b) {
      if (b.dataset.id === c.id) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
    });
  }

  function open(id) {
    F.api("GET", "/api/v1/conversations/" + id).then(function (result) {
      if (!result.ok) {
        F.say(root.querySelector(".thread"), result.status === 404
          ? "That conversation was not found: it may have been erased, or the link is for another clinic. Choose one from the list."
          : F.describe(result.status, result.data));
        return;
      }
      F.say(root.querySelector(".thread"), "");
      thread.innerHTML = ""; shown = {};
      show(result.data);
      result.data.messages.forEach(bubble);
      history.replaceState(null, "", "/app/inbox?open=" + id);
      if (!reply.hidden) reply.text.focus({ preventScroll: true });
    });
  }

  function act(id, path, control) {
    control.disabled = true;
    F.api("POST", "/api/v1/conversations/" + id + "/" + path, undefined,
      crypto.randomUUID ? crypto.randomUUID() : String(Math.random())).then(function (result) {
      control.disabled = false;
      if (!result.ok) { F.say(root.querySelector(".thread"), F.describe(result.status, result.data)); return; }
      F.say(root.querySelector(".thread"), "");
      if (current && current.id === id) {
        show(result.data);
        result.data.messages.forEach(bubble);
      }
      load(false);
      loadAlerts();
    });
  }
  takeOver.addEventListener("click", function () { if (current) act(current.id, "takeover", takeOver); });
  handBack.addEventListener("click", function () { if (current) act(current.id, "handback", handBack); });
  acknowledge.addEventListener("click", function () { if (current) act(current.id, "acknowledge", acknowledge); });
  enable.hidden = !("Notification" in window && Notification.permission === "default");
  enable.addEventListener("click", function () {
    F.enableAlerts().then(function () { enable.hidden = true; F.toast("Alerts will sound and notify on this computer."); });
  });

  reply.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = reply.text.value.trim();
    if (!text || !current) return;
    var button = reply.querySelector("button");
    button.disabled = true;
    var url = "/api/v1/conversations/" + current.id + "/messages", body = { text: text, urgent: reply.urgent.checked };
    F.api("POST", url, body, F.keyFor(reply, url, body))
      .then(function (result) {
        button.disabled = false;
        if (!result.ok) { F.say(root.querySelector(".thread"), F.describe(result.status, result.data)); return; }
        F.forgetKey(reply);
        F.say(root.querySelector(".thread"), "");
        reply.text.value = "";
        bubble(result.data.message);
      }, function () { button.disabled = false; F.say(root.querySelector(".thread"), "Not sent: the server could not be reached. Your text is still here."); });
  });
  reply.text.addEventListener("input", function () {
    var n = reply.text.value.length, gsm = /^[\x20-\x7E\n\r£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà]*$/.test(reply.text.value);
    var per = gsm ? (n > 160 ? 153 : 160) : (n > 70 ? 67 : 70);
    document.getElementById("segments").textContent = current && current.channel !== "web" && n ? Math.ceil(n / per) + " text message(s)" : "";
  });
  reply.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) reply.requestSubmit();
  });

  filters.addEventListener("change", function () { load(false); });
  more.addEventListener("click", function () { load(true); });

  var socket = config.socket, timer = null;
  if (socket) {
    socket.on("conversation.message", function (event) {
      if (current && event.conversation_id === current.id) bubble(event.message);
      clearTimeout(timer); timer = setTimeout(function () { load(false); }, 300);
    });
    socket.on("conversation.updated", function (event) {
      if (current && event.conversation_id === current.id) {
        current.handler = event.handler; current.staff_id = event.staff_id; current.status = event.status;
        show(current);
      }
      clearTimeout(timer); timer = setTimeout(function () { load(false); loadAlerts(); }, 300);
    });
    socket.on("conversation.alert", function (event) {
      loadAlerts();
      load(false);
      if (current && event.conversation_id === current.id) open(current.id);
    });
    // After a reconnect, catch up on what the open thread missed.
    socket.on("connect", function () { if (current) open(current.id); load(false); loadAlerts(); });
  }
  load(false);
  loadAlerts();
  if (root.dataset.open) open(root.dataset.open);
})();
