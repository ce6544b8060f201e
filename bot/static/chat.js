// The web chat: posts to the REST channel and shows replies. Text is always inserted with
// textContent, never as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const language = log.dataset.language;
  const offline = log.dataset.offline;
  const key = "hotline-sender";
  let sender = window.localStorage.getItem(key);
  if (!sender) {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    sender = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    window.localStorage.setItem(key, sender);
  }
  let counter = Date.now();

  function show(text, who, direction, buttons) {
    const bubble = document.createElement("div");
    bubble.className = "msg " + who;
    bubble.dir = direction || "auto";
    bubble.textContent = text;
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", () => send(b.payload, b.title));
        row.appendChild(button);
      }
      bubble.appendChild(row);
    }
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  function showReplies(replies) {
    for (const r of replies) {
      show(r.text, "bot", r.metadata && r.metadata.direction, r.buttons);
    }
  }

  async function send(message, shown) {
    show(shown || message, "user", "auto");
    counter += 1;
    try {
      const response = await fetch("/webhooks/rest/webhook", {
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

  async function collect() {
    try {
      const response = await fetch("/webhooks/rest/messages?sender=" + encodeURIComponent(sender));
      if (response.ok) showReplies(await response.json());
    } catch (error) { /* try again at the next tick */ }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  window.setInterval(collect, 5000);
})();
