// Live updates for the console: the queue and a case page follow /console/events.
// Events carry kinds and ids only; the records are fetched from /api/v1 with this session.
// Everything a person wrote is put into the page with textContent, never as HTML.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const live = document.getElementById("live");
  const queue = document.getElementById("queue");
  const casePage = document.getElementById("case");
  if (!queue && !casePage) return;

  // the page's language: its texts come translated in <body data-strings> (English: none)
  let strings = {};
  try { strings = JSON.parse(document.body.dataset.strings || "{}"); } catch (error) { strings = {}; }
  function t(text, values) {
    let result = strings[text] || text;
    for (const [name, value] of Object.entries(values || {})) {
      result = result.split("%(" + name + ")s").join(String(value));
    }
    return result;
  }
  // a stored value ("open", "callback_done") as the page shows it
  function term(value) {
    return value ? t(String(value).split("_").join(" ")) : "";
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== "") node.setAttribute(name, value);
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function getJSON(url) {
    // a background refresh: it does not count as the operator's activity (idle sign-out)
    const answer = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Console-Background": "1" },
    });
    if (answer.status === 401 || answer.redirected) { window.location.reload(); return null; }
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    return answer.json();
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
  }

  function debounce(fn, wait) {
    let timer = null;
    return function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => { timer = null; fn(); }, wait);
    };
  }

  // times in the operators' time zone, as the server writes them ("21 Nov, 13:49"), with the
  // month in the page's language and Western digits
  const timeZone = document.body.dataset.timezone || undefined;
  const pageLanguage = document.documentElement.lang || "en";
  const dateLocale = { ar: "ar-LY-u-nu-latn", fr: "fr-FR" }[pageLanguage] || "en-GB";
  function when(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(dateLocale, {
      day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone,
    });
  }

  // -- the queue ---------------------------------------------------------------------------
  function queueRow(row) {
    const tr = el("tr", { "data-case": row.id, class: row.escalation_level ? "escalated" : "" });
    const priority = el("td");
    priority.appendChild(el("span", { class: "badge " + row.priority }, term(row.priority)));
    tr.appendChild(priority);
    const link = el("td");
    link.appendChild(el("a", { href: "/console/cases/" + row.id }, "#" + row.id));
    link.appendChild(document.createTextNode(" "));
    link.appendChild(el("span", { class: "muted" }, term(row.reason)));
    tr.appendChild(link);
    tr.appendChild(el("td", {}, term(row.status) + (row.escalation_level ? " · " + t("escalated") : "")));
    tr.appendChild(el("td", {}, row.waiting_minutes === null ? "—" : t("%(minutes)s min", { minutes: row.waiting_minutes })));
    tr.appendChild(el("td", {}, t(row.channel_label || row.channel)));
    tr.appendChild(el("td", {}, row.language || "—"));
    tr.appendChild(el("td", {}, term(row.city) || "—"));
    tr.appendChild(el("td", { dir: "auto" }, row.preview || ""));  // the text decides: Arabizi is left to right
    tr.appendChild(el("td", {}, row.assigned_to_name || "—"));
    const actions = el("td");
    if (row.status === "open") {
      const form = el("form", { method: "post", action: "/console/cases/" + row.id + "/claim", class: "inline" });
      form.appendChild(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
      form.appendChild(el("button", { type: "submit" }, t("Take")));
      actions.appendChild(form);
    }
    tr.appendChild(actions);
    return tr;
  }

  async function refreshQueue() {
    const query = queue.dataset.query || "";
    const rows = await getJSON("/api/v1/cases" + (query ? "?" + query : ""));
    if (rows === null) return;
    const body = document.getElementById("queue-rows");
    const fresh = document.createDocumentFragment();
    if (rows.length === 0) {
      const empty = el("tr", { class: "empty" });
      empty.appendChild(el("td", { colspan: "10", class: "muted" }, t("No cases here.")));
      fresh.appendChild(empty);
    }
    for (const row of rows) fresh.appendChild(queueRow(row));
    body.replaceChildren(fresh);
  }

  // -- a case ------------------------------------------------------------------------------
  const caseId = casePage ? Number(casePage.dataset.case) : null;
  const me = Number((casePage || queue).dataset.me);
  const conversation = document.getElementById("conversation");
  const typingLine = document.getElementById("typing");
  let typingTimer = null;

  function messageItem(message) {
    const classes = ["msg", message.direction];
    if (message.operator_id) classes.push("by-operator");
    const li = el("li", { class: classes.join(" "), "data-id": message.id });
    li.appendChild(el("span", { class: "text", dir: "auto", lang: message.language || "" }, message.text));
    const author = message.author === "person" ? t("the person")
      : (message.author === "bot" || message.author === "broadcast") ? term(message.author) : message.author;
    let meta = author + " · " + when(message.created_at);
    if (message.direction === "out") {
      meta += " · " + term(message.status) + (message.error ? " (" + message.error + ")" : "");
    }
    li.appendChild(el("span", { class: "meta" }, meta));
    return li;
  }

  async function refreshMessages() {
    const messages = await getJSON("/api/v1/cases/" + caseId + "/messages");
    if (messages === null) return;
    const atBottom = conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 40;
    const fresh = document.createDocumentFragment();
    for (const message of messages) fresh.appendChild(messageItem(message));
    conversation.replaceChildren(fresh);
    if (atBottom) conversation.scrollTop = conversation.scrollHeight;
  }

  async function refreshCase() {
    const detail = await getJSON("/api/v1/cases/" + caseId);
    if (detail === null) return;
    const status = document.getElementById("case-status");
    const priority = document.getElementById("case-priority");
    const assigned = document.getElementById("case-assigned");
    if (status) status.textContent = term(detail.status);
    if (priority) { priority.textContent = term(detail.priority); priority.className = "badge " + detail.priority; }
    if (assigned) assigned.textContent = detail.assigned_to_name || t("nobody");
    const notes = document.getElementById("notes");
    if (notes) {
      const fresh = document.createDocumentFragment();
      for (const note of detail.notes) {
        const li = el("li");
        li.appendChild(el("span", { dir: "auto" }, note.text));
        li.appendChild(el("br"));
        li.appendChild(el("span", { class: "muted" }, note.author + " · " + when(note.created_at)));
        fresh.appendChild(li);
      }
      if (detail.notes.length === 0) fresh.appendChild(el("li", { class: "muted" }, t("No notes.")));
      notes.replaceChildren(fresh);
    }
  }

  function showTyping(name) {
    if (!typingLine) return;
    typingLine.textContent = t("%(name)s is typing…", { name });
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 4000);
  }

  if (casePage) {
    conversation.scrollTop = conversation.scrollHeight;
    const reply = document.getElementById("reply-text");
    let lastTyping = 0;
    if (reply) {
      reply.addEventListener("input", () => {
        const now = Date.now();
        if (now - lastTyping < 2500) return; // throttled: one notice every few seconds
        lastTyping = now;
        postJSON("/api/v1/cases/" + caseId + "/typing").catch(() => {});
      });
    }
  }

  // -- the event stream ----------------------------------------------------------------------
  const queueSoon = queue ? debounce(() => refreshQueue().catch(() => {}), 150) : null;
  const messagesSoon = casePage ? debounce(() => refreshMessages().catch(() => {}), 100) : null;
  const caseSoon = casePage ? debounce(() => refreshCase().catch(() => {}), 100) : null;

  function handle(kind, data) {
    if (queueSoon && (kind.startsWith("handoff.") || kind === "message")) queueSoon();
    if (!casePage || Number(data.handoff_id) !== caseId) return;
    if (kind === "message") messagesSoon();
    else if (kind === "typing") { if (Number(data.operator_id) !== me) showTyping(data.name || t("Someone")); }
    else if (kind.startsWith("handoff.")) { caseSoon(); messagesSoon(); }
  }

  const source = new EventSource("/console/events");
  source.addEventListener("open", () => {
    if (live) { live.textContent = t("live"); live.classList.add("on"); }
    // catch up with whatever happened while connecting
    if (queueSoon) queueSoon();
    if (messagesSoon) { messagesSoon(); caseSoon(); }
  });
  source.addEventListener("error", () => {
    if (live) { live.textContent = t("reconnecting…"); live.classList.remove("on"); }
  });
  for (const kind of ["handoff.opened", "handoff.updated", "handoff.closed", "handoff.escalated",
                      "handoff.note", "message", "typing"]) {
    source.addEventListener(kind, (event) => {
      let payload = {};
      try { payload = JSON.parse(event.data); } catch (error) { return; }
      handle(kind, payload.data || {});
    });
  }
  source.addEventListener("signed-out", () => { source.close(); window.location.reload(); });
  window.addEventListener("beforeunload", () => source.close());
})();
