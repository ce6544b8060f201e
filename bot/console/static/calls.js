// The Calls page: the list of waiting callers follows /console/events ("call.queue") and is
// fetched again every few seconds; waits count up between fetches. Text goes in with
// textContent only.
"use strict";

(function () {
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
  const table = document.getElementById("calls");
  const rows = document.getElementById("calls-rows");
  const empty = document.getElementById("calls-empty");
  const live = document.getElementById("live");
  if (!table || !rows) return;
  const csrf = table.dataset.csrf || "";
  const canTake = table.dataset.canTake === "yes";
  const REFRESH_MS = 5000;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function waited(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return t("%(minutes)s min %(seconds)s s", { minutes: Math.floor(s / 60), seconds: String(s % 60).padStart(2, "0") });
  }

  function row(caller) {
    const tr = el("tr", { "data-call": caller.id, "data-waited": caller.waited_seconds });
    tr.append(el("td", {}, "#" + caller.id));
    const language = el("td", {}, caller.language_name);
    if (caller.language) language.append(" ", el("span", { class: "muted" }, "(" + caller.language + ")"));
    tr.append(language);
    tr.append(el("td", { class: "waited" }, waited(caller.waited_seconds)));
    const caseCell = el("td");
    if (caller.handoff_id) caseCell.append(el("a", { href: "/console/cases/" + caller.handoff_id }, "#" + caller.handoff_id));
    else caseCell.textContent = "—";
    tr.append(caseCell);
    const action = el("td");
    if (caller.taken_by) {
      action.append(el("span", { class: "muted" }, "ringing " + caller.taken_by));
    } else if (canTake) {
      const form = el("form", { method: "post", action: "/console/calls/" + caller.id + "/take", class: "inline" });
      form.append(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
      form.append(el("button", { type: "submit" }, t("Take this call")));
      action.append(form);
    }
    tr.append(action);
    return tr;
  }

  let fetchedAt = Date.now();
  async function refresh() {
    const answer = await fetch("/console/calls/waiting", {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Console-Background": "1" },
    });
    if (answer.status === 401 || answer.redirected) { window.location.reload(); return; }
    if (!answer.ok) return;
    const body = await answer.json();
    fetchedAt = Date.now();
    rows.replaceChildren(...body.waiting.map(row));
    if (empty) empty.hidden = body.waiting.length > 0;
  }

  function tick() {
    const since = (Date.now() - fetchedAt) / 1000;
    for (const tr of rows.querySelectorAll("tr[data-waited]")) {
      const cell = tr.querySelector(".waited");
      if (cell) cell.textContent = waited(Number(tr.dataset.waited) + since);
    }
  }

  let timer = null;
  function soon() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => { timer = null; refresh().catch(() => {}); }, 150);
  }

  setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  setInterval(tick, 1000);
  const source = new EventSource("/console/events");
  source.addEventListener("open", () => {
    if (live) { live.textContent = t("live"); live.classList.add("on"); }
    soon();
  });
  source.addEventListener("error", () => {
    if (live) { live.textContent = t("reconnecting…"); live.classList.remove("on"); }
  });
  source.addEventListener("call.queue", soon);
  source.addEventListener("signed-out", () => { source.close(); window.location.reload(); });
  window.addEventListener("beforeunload", () => source.close());
})();
