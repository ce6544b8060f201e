// The web chat: posts to its own channel ("web") and shows replies. Text is always inserted
// with textContent, never as HTML. The conversation stays in this browser's localStorage, so a
// reload redraws it; "clear" forgets it (and the sender id) on a shared phone.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const clear = document.getElementById("clear");
  const language = log.dataset.language;
  const offline = log.dataset.offline;
  const operatorLabel = log.dataset.operator;
  const clearConfirm = log.dataset.clearConfirm;
  const path = log.dataset.path;
  const senderKey = "hotline-sender";
  const transcriptKey = "hotline-transcript";
  const kept = 200; // messages redrawn after a reload
  let sender = window.localStorage.getItem(senderKey);
  let transcript = load();
  let counter = Date.now();

  function load() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(transcriptKey) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function save() {
    transcript = transcript.slice(-kept);
    try {
      window.localStorage.setItem(transcriptKey, JSON.stringify(transcript));
    } catch (error) { /* storage full or off: the page still works, without memory */ }
  }

  function newSender() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    const id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    window.localStorage.setItem(senderKey, id);
    return id;
  }

  // Every message is its own bidi isolate with dir="auto": a reply's numbers, phone numbers
  // and references keep their order whatever the page's or the neighbours' direction.
  function draw(entry) {
    const bubble = document.createElement("div");
    bubble.className = "msg " + entry.who + (entry.author === "operator" ? " operator" : "");
    bubble.dir = "auto";
    if (entry.lang) bubble.lang = entry.lang;
    if (entry.author === "operator") {
      const label = document.createElement("div");
      label.className = "author";
      label.dir = "auto";
      label.textContent = operatorLabel;
      bubble.appendChild(label);
    }
    const text = document.createElement("div");
    text.className = "text"; // no dir of its own: the bubble's "auto" is decided by this text
    text.textContent = entry.text;
    bubble.appendChild(text);
    if (entry.buttons && entry.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of entry.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.dir = "auto";
        button.textContent = b.title;
        button.addEventListener("click", () => send(b.payload, b.title));
        row.appendChild(button);
      }
      bubble.appendChild(row);
    }
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  function show(entry) {
    transcript.push(entry);
    save();
    draw(entry);
  }

  function showReplies(replies) {
    for (const r of replies) {
      show({
        text: r.text,
        who: "bot",
        author: r.author === "operator" ? "operator" : "bot",
        lang: r.metadata && r.metadata.language,
        buttons: (r.buttons || []).map((b) => ({ title: b.title, payload: b.payload })),
      });
    }
  }

  async function send(message, shown) {
    if (!sender) sender = newSender();
    show({ text: shown || message, who: "user" });
    counter += 1;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender, message, metadata: { language, message_id: sender + "-" + counter } }),
      });
      if (!response.ok) throw new Error(String(response.status));
      showReplies(await response.json());
    } catch (error) {
      const note = document.createElement("div");
      note.className = "notice";
      note.textContent = offline;
      log.appendChild(note);
    }
  }

  // Later messages (an operator's replies, broadcasts); only once this page has a sender.
  async function collect() {
    if (!sender) return;
    const asked = sender;
    try {
      const response = await fetch(path + "?sender=" + encodeURIComponent(asked));
      if (response.ok) {
        const replies = await response.json();
        if (asked === sender) showReplies(replies);
      }
    } catch (error) { /* try again at the next tick */ }
  }

  clear.addEventListener("click", () => {
    if (!window.confirm(clearConfirm)) return;
    window.localStorage.removeItem(senderKey);
    window.localStorage.removeItem(transcriptKey);
    sender = null;
    transcript = [];
    for (const node of Array.from(log.querySelectorAll(".msg, .notice"))) node.remove();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  for (const entry of transcript) draw(entry);
  collect();
  window.setInterval(collect, 5000);
})();
