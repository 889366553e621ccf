/*
 * Frontdesk chat widget. One tag on any page:
 *   <script src="https://frontdesk.example/widget.js" data-key="pk_live_..."></script>
 * Optional: data-title="Clinic name", data-open="true".
 *
 * Speaks Socket.IO with the official socket.io-client (vendored in widget/vendor, bundled into this
 * one script by the server, kept out of the host page's globals), over WebSocket; falls back to
 * the REST chat endpoints when WebSocket is unavailable. Styles live in a Shadow DOM so the host
 * page and the widget never restyle each other. The resume token and the last sequence number are
 * kept in localStorage, so a reload continues the same conversation.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__frontdeskWidget) return;
  window.__frontdeskWidget = true;

  var KEY = script.getAttribute("data-key") || "";
  var TITLE = script.getAttribute("data-title") || "Chat with us";
  var BASE = new URL(script.src, location.href).origin;
  var STORE = "frontdesk:" + KEY.slice(0, 24);
  var RECONNECT_MAX_MS = 15000;
  var POLL_MS = 4000;
  var MAX_CHARS = 2000; // the input contract's limit (policy/input_limits.py)

  // ---- persisted conversation: resume token and last sequence number ----
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function save(patch) {
    var data = load();
    for (var k in patch) data[k] = patch[k];
    try { localStorage.setItem(STORE, JSON.stringify(data)); } catch (e) { /* private mode: session only */ }
  }

  // ---- DOM ----
  var host = document.createElement("div");
  host.setAttribute("data-frontdesk", "");
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launcher{position:fixed;right:16px;bottom:16px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#0f766e;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;" +
    "display:flex;align-items:center;justify-content:center;padding:0}" +
    ".launcher:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:fixed;right:16px;bottom:84px;width:min(380px,calc(100vw - 16px));height:min(600px,calc(100vh - 100px));" +
    "background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;" +
    "overflow:hidden;z-index:2147483000;color:#111827;font-size:15px}" +
    ".panel[hidden]{display:none}" +
    "@media (max-width:480px){.panel{right:8px;left:8px;width:auto;bottom:76px;height:calc(100vh - 88px)}}" +
    "header{background:#0f766e;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}" +
    "header h2{font-size:16px;margin:0;flex:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
    ".status{font-size:12px;opacity:.9;display:flex;align-items:center;gap:4px}" +
    ".dot{width:8px;height:8px;border-radius:50%;background:#fbbf24;display:inline-block}" +
    ".status[data-state=online] .dot{background:#4ade80}.status[data-state=refused] .dot{background:#f87171}" +
    ".close{background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1;padding:4px 8px}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}" +
    ".msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word;line-height:1.35}" +
    ".patient{align-self:flex-end;background:#0f766e;color:#fff;border-bottom-right-radius:4px}" +
    ".assistant{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}" +
    ".staff{align-self:flex-start;background:#ecfdf5;border:1px solid #a7f3d0;border-bottom-left-radius:4px}" +
    ".staff .author{display:block;font-size:12px;color:#047857;font-weight:600}" +
    ".system{align-self:center;background:none;color:#4b5563;font-size:13px;text-align:center}" +
    ".pending{opacity:.6}" +
    ".waiting{display:block;font-size:12px;opacity:.9}" +
    ".notice{align-self:center;font-size:13px;color:#991b1b;background:#fee2e2;padding:6px 10px;border-radius:8px}" +
    ".card{align-self:flex-start;border:1px solid #99f6e4;background:#f0fdfa;border-radius:12px;padding:10px 12px;min-width:220px}" +
    ".card h3{margin:0 0 6px;font-size:14px;color:#0f766e}.card dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:14px}" +
    ".card dt{color:#6b7280}.card dd{margin:0;font-weight:600}" +
    ".card[data-status=cancelled]{border-color:#fecaca;background:#fef2f2}.card[data-status=cancelled] h3{color:#b91c1c}" +
    ".card[data-changed]{border-color:#e5e7eb;background:#f3f4f6}.card[data-changed] h3{color:#4b5563}" +
    ".card[data-changed] dd.when{text-decoration:line-through;font-weight:400}" +
    ".card .was{text-decoration:line-through;font-weight:400}" +
    // The chips never take more than a third of the panel: the conversation keeps its room.
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f9fafb;max-height:33%;overflow-y:auto;flex:none}" +
    ".chip{border:1px solid #0f766e;color:#0f766e;background:#fff;border-radius:16px;padding:6px 12px;font-size:14px;cursor:pointer}" +
    ".chip:hover{background:#f0fdfa}" +
    ".typing{padding:0 12px 6px;font-size:13px;color:#6b7280;background:#f9fafb;min-height:20px}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}" +
    "input{flex:1;border:1px solid #d1d5db;border-radius:10px;padding:10px;font-size:15px;min-width:0}" +
    ".send{border:0;background:#0f766e;color:#fff;border-radius:10px;padding:0 14px;font-size:15px;cursor:pointer}" +
    ".send:disabled{background:#9ca3af;cursor:not-allowed}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    "</style>" +
    "<button class='launcher' type='button' aria-label='Open chat' aria-expanded='false' aria-controls='fd-panel'>" +
    // Inline SVG, not an emoji: every machine draws it, whatever fonts it has.
    "<svg class='icon' viewBox='0 0 24 24' width='28' height='28' aria-hidden='true' focusable='false'>" +
    "<path fill='currentColor' fill-rule='evenodd' d='M5 3h14a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.4l-4.7 3.8A1 1 0 0 1 3 21V5a2 2 0 0 1 2-2z" +
    "M7 9.5a1.5 1.5 0 1 0 0 .01zM12 9.5a1.5 1.5 0 1 0 0 .01zM17 9.5a1.5 1.5 0 1 0 0 .01z'/>" +
    "</svg></button>" +
    "<section class='panel' id='fd-panel' role='dialog' aria-label='Chat' hidden>" +
    "<header><h2></h2><span class='status' role='status' data-state='connecting'><span class='dot'></span><span class='status-text'>Connecting…</span></span>" +
    "<button class='close' type='button' aria-label='Close chat'>&times;</button></header>" +
    "<div class='log' role='log' aria-live='polite' aria-label='Conversation'></div>" +
    "<div class='typing' aria-live='polite'></div>" +
    "<div class='chips' role='group' aria-label='Suggested replies'></div>" +
    "<form><label class='sr' for='fd-input'>Your message</label>" +
    "<input id='fd-input' type='text' autocomplete='off' placeholder='Type a message…'>" +
    "<button class='send' type='submit' aria-label='Send message'>Send</button></form>" +
    "</section>";

  var $ = function (sel) { return root.querySelector(sel); };
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), chips = $(".chips");
  var typing = $(".typing"), form = $("form"), input = $("input"), sendButton = $(".send");
  var statusBox = $(".status"), statusText = $(".status-text");
  $("header h2").textContent = TITLE;
  panel.setAttribute("aria-label", "Chat with " + TITLE);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) { input.focus(); scrollDown(); } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  $(".close").addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });

  function setStatus(state, text) {
    statusBox.setAttribute("data-state", state);
    statusText.textContent = text;
    online = state === "online" || state === "fallback";
    // While reconnecting, messages are kept and sent on reconnecting; only a refusal stops sending.
    sendButton.disabled = state === "refused";
    Object.keys(pending).forEach(function (id) { waitingNote(pending[id].el, !online); });
  }

  function waitingNote(el, on) {
    var note = el.querySelector(".waiting");
    if (on && !note) {
      note = document.createElement("span");
      note.className = "waiting";
      note.textContent = "Not sent yet: waiting for the connection";
      el.appendChild(note);
    } else if (!on && note) {
      note.remove();
    }
  }

  // ---- rendering ----
  var seen = {};          // seq -> true
  var pending = {};       // client_message_id -> {el, text, choice}
  var lastSeq = 0;
  var online = false;

  // The newest message is kept in view whatever changes the room the log has (chips, the typing
  // line, a card, the panel opening): after every render, and whenever the log itself is resized.
  // A message taller than the log shows from its start.
  function scrollDown() {
    var newest = log.lastElementChild;
    if (!newest || panel.hidden) return;
    var room = log.getBoundingClientRect(), box = newest.getBoundingClientRect(), gap = 12;
    log.scrollTop += box.height + 2 * gap > room.height ? box.top - room.top - gap : box.bottom - room.bottom + gap;
  }
  if (window.ResizeObserver) new ResizeObserver(scrollDown).observe(log);

  function bubble(role, text, extraClass) {
    var el = document.createElement("div");
    el.className = "msg " + role + (extraClass ? " " + extraClass : "");
    el.textContent = text;
    log.appendChild(el);
    scrollDown();
    return el;
  }

  function setTyping(on) {
    typing.textContent = on ? TITLE + " is typing…" : "";
    scrollDown();
  }

  // A booking's cards in this conversation, by reference: a later card says what changed (moved
  // from, cancelled) and the earlier ones say they no longer hold.
  var cards = {};

  function cardTitle(data, before) {
    if (data.status === "cancelled") return "Appointment cancelled";
    if (before && before.starts_at !== data.starts_at) return "Appointment moved";
    return before ? "Your appointment" : "Appointment booked";
  }

  function row(dl, term, value, className) {
    if (!value) return;
    var dt = document.createElement("dt"); dt.textContent = term;
    var dd = document.createElement("dd"); dd.textContent = value;
    if (className) dd.className = className;
    dl.appendChild(dt); dl.appendChild(dd);
  }

  function supersede(earlier, data) {
    if (earlier.el.hasAttribute("data-changed")) return;
    var news = data.status === "cancelled" ? "Cancelled since"
      : earlier.data.starts_at !== data.starts_at ? "Moved to " + data.when : null;
    if (!news) return;
    earlier.el.setAttribute("data-changed", "");
    earlier.el.querySelector("h3").textContent = news;
    earlier.el.setAttribute("aria-label", "Appointment no longer as shown: " + news);
  }

  function card(data) {
    var earlier = data.reference && cards[data.reference];
    var before = earlier && earlier[earlier.length - 1].data;
    var title = cardTitle(data, before);
    var el = document.createElement("div");
    el.className = "card";
    el.setAttribute("data-status", data.status || "");
    el.setAttribute("role", "group");
    el.setAttribute("aria-label", title);
    var h = document.createElement("h3"); h.textContent = title; el.appendChild(h);
    var dl = document.createElement("dl");
    row(dl, "What", data.service);
    row(dl, "When", data.when, "when");
    if (title === "Appointment moved") row(dl, "Was", before.when, "was");
    row(dl, "With", data.provider);
    row(dl, "Reference", data.reference);
    el.appendChild(dl);
    (earlier || []).forEach(function (e) { supersede(e, data); });
    if (data.reference) (cards[data.reference] = earlier || []).push({ el: el, data: data });
    log.appendChild(el);
    scrollDown();
  }

  function showChips(list) {
    chips.innerHTML = "";
    (list || []).forEach(function (q) {
      var b = document.createElement("button");
      b.type = "button"; b.className = "chip"; b.textContent = q.label;
      b.addEventListener("click", function () { send(q.label, q.value); input.focus(); });
      chips.appendChild(b);
    });
    scrollDown();
  }

  function render(m) {
    if (seen[m.seq]) return;
    seen[m.seq] = true;
    if (m.seq > lastSeq) { lastSeq = m.seq; save({ lastSeq: lastSeq }); }
    var mine = m.client_message_id && pending[m.client_message_id];
    if (mine) {
      mine.el.classList.remove("pending");
      waitingNote(mine.el, false);
      delete pending[m.client_message_id];
    } else {
      var el = bubble(m.role, m.text);
      if (m.role === "staff" && m.author) {
        var who = document.createElement("span"); who.className = "author"; who.textContent = m.author;
        el.insertBefore(who, el.firstChild);
      }
    }
    if (m.card) card(m.card);
    if (m.role === "assistant") showChips(m.quick_replies);
    else showChips([]);
  }

  function notice(text) {
    var el = document.createElement("div");
    el.className = "notice"; el.setAttribute("role", "alert"); el.textContent = text;
    log.appendChild(el); scrollDown();
  }

  // ---- sending ----
  function newId() {
    return "m_" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  // Whether the message was taken (shown, and sent now or on reconnecting).
  function send(text, choice) {
    text = (text || "").trim();
    if (!text) return false;
    if (sendButton.disabled || !transport) {
      notice("Not sent: the chat is unavailable right now.");
      return false;
    }
    var id = newId();
    pending[id] = { el: bubble("patient", text, "pending"), text: text, choice: choice || null };
    waitingNote(pending[id].el, !online);
    scrollDown();
    showChips([]);
    transport.send(id, pending[id]);
    return true;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (text.trim().length > MAX_CHARS) {
      // Kept in the box, so the patient can shorten it; a pasted text is never cut without a word.
      notice("That message is too long for me to read in one go: please keep it under 2,000 " +
        "characters, or send it in parts.");
      return;
    }
    if (send(text, null)) input.value = "";
  });
  // A disabled Send button blocks the form's own Enter: say why instead of doing nothing.
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && sendButton.disabled) { e.preventDefault(); send(input.value, null); }
  });

  function resendPending() {
    Object.keys(pending).forEach(function (id) { transport.send(id, pending[id]); });
  }

  // ---- Socket.IO (the official client, bundled into this script by the server) ----
  function SocketTransport() {
    var socket = null, everConnected = false, failures = 0;

    function onConnected() {
      everConnected = true;
      setStatus("online", "Online");
      // After a reload the log is empty: ask for everything; after a reconnect, what was missed.
      socket.emit("hello", { last_seq: lastSeq }, function (reply) {
        if (reply && reply.token) save({ token: reply.token });
        (reply && reply.messages || []).forEach(render);
        if (reply && reply.greeting && lastSeq === 0) greet(reply.greeting);
        resendPending();
      });
    }

    this.start = function () {
      // WebSocket only: long-polling would need sticky sessions across API processes; a browser
      // without WebSocket uses the stateless REST fallback instead.
      socket = io(BASE, {
        transports: ["websocket"],
        reconnectionDelayMax: RECONNECT_MAX_MS,
        auth: function (give) { give({ key: KEY, token: load().token || null }); }
      });
      socket.on("connect", onConnected);
      socket.on("disconnect", function () { setStatus("connecting", "Reconnecting…"); });
      socket.on("connect_error", function (error) {
        if (!socket.active) { // the server refused us: say why, and stop (or wait as long as it says)
          setStatus("refused", "Unavailable");
          notice("Chat unavailable: " + error.message);
          var wait = retryAfter(error.data);
          if (wait) setTimeout(function () { socket.connect(); }, wait * 1000);
          return;
        }
        failures += 1;
        if (!everConnected && failures >= 2) { socket.close(); useFallback(); return; }
        setStatus("connecting", "Reconnecting…");
      });
      socket.on("message", render);
      socket.on("typing", function (data) { setTyping(data && data.on); });
    };
    this.send = function (id, msg) {
      if (!socket || !socket.connected) return; // resent after reconnecting
      socket.emit("message", { text: msg.text, choice: msg.choice, client_message_id: id }, function (reply) {
        if (reply && reply.ok === false && !resendLater(id, reply.error)) failed(id, reply.error);
      });
    };
  }

  // ---- REST fallback (no WebSocket) ----
  function RestTransport() {
    var token = load().token || null, polling = null;
    function call(method, path, body) {
      var headers = { "X-Widget-Key": KEY };
      if (token) headers["X-Conversation-Token"] = token;
      if (body) headers["Content-Type"] = "application/json";
      return fetch(BASE + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
        .then(function (r) {
          return r.json().then(function (data) {
            if (!r.ok) { var err = new Error((data.error && data.error.message) || r.statusText); err.status = r.status; throw err; }
            return data;
          });
        });
    }
    function poll() {
      call("GET", "/api/v1/chat/messages?after=" + lastSeq).then(function (data) { data.messages.forEach(render); })
        .catch(function () { /* next poll retries */ });
    }
    this.start = function () {
      call("POST", "/api/v1/chat/sessions", { token: token }).then(function (data) {
        token = data.token; save({ token: token });
        setStatus("fallback", "Online");
        data.messages.forEach(render);
        if (data.greeting) greet(data.greeting);
        resendPending();
        polling = setInterval(poll, POLL_MS);
      }).catch(function (err) {
        setStatus("refused", "Unavailable");
        notice("Chat unavailable: " + err.message);
      });
    };
    this.send = function (id, msg) {
      if (!token) return;
      setTyping(true);
      call("POST", "/api/v1/chat/messages", { token: token, text: msg.text, choice: msg.choice, client_message_id: id })
        .then(function (data) { setTyping(false); data.messages.forEach(render); })
        .catch(function (err) { setTyping(false); failed(id, { message: err.message }); });
    };
  }

  // Seconds a refusal asks us to wait (a limit that lifts), or 0.
  function retryAfter(data) {
    var wait = data && Number(data.retry_after_seconds);
    return wait > 0 ? wait : 0;
  }

  // A message refused for now (too many at once, or too many a minute) stays pending and goes
  // again when the server said it may; its id makes a resend harmless.
  function resendLater(id, error) {
    var wait = error && error.code === "RATE_LIMITED" ? retryAfter(error) : 0;
    if (!wait || wait > 60 || !pending[id]) return false;
    setTimeout(function () { if (pending[id]) transport.send(id, pending[id]); }, wait * 1000);
    return true;
  }

  function failed(id, error) {
    var msg = pending[id];
    if (!msg) return;
    delete pending[id];
    msg.el.remove();
    var said = ((error && error.message) || "please try again").replace(/^(body\.)?text: /, "");
    notice("Not sent: " + said);
  }

  function greet(greeting) {
    // Once per conversation: the server greets only a conversation with nothing stored yet, with
    // the clinic's menu as its switches allow (no Cancel where patients may not cancel).
    bubble("assistant", greeting.text);
    showChips(greeting.quick_replies);
  }

  var transport;
  function useFallback() {
    transport = new RestTransport();
    transport.start();
  }

  setStatus("connecting", "Connecting…");
  if (!KEY) {
    setStatus("refused", "Unavailable");
    notice("Chat unavailable: the script tag has no data-key");
  } else if (typeof window.WebSocket !== "function") {
    useFallback();
  } else {
    transport = new SocketTransport();
    transport.start();
  }
  if (script.getAttribute("data-open") === "true") setOpen(true);
})();
