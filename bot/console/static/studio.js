// The voice studio: record a prompt from the microphone, listen back, keep it or redo it.
// Keeping uploads the take (WebM/Ogg with Opus, as the browser records it); the server
// converts it to MP3 for the phone line. Without a microphone the upload forms still work.
"use strict";

(function () {
  const studio = document.getElementById("studio");
  if (!studio) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const canRecord = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
    window.MediaRecorder);
  const language = studio.dataset.language;
  let busy = false; // one recording at a time: one microphone

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

  function show(node, visible) { node.hidden = !visible; }

  function recordingType() {
    for (const type of ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"]) {
      if (MediaRecorder.isTypeSupported(type)) return type;
    }
    return "";
  }

  function updateProgress(answer) {
    const bar = document.getElementById("studio-progress");
    bar.max = answer.total;
    bar.value = answer.recorded;
    document.getElementById("studio-count").textContent =
      t("%(recorded)s of %(total)s recorded (%(percent)s%%)", { recorded: answer.recorded, total: answer.total, percent: answer.percent }).split("%%").join("%");
    if (answer.complete) {
      document.getElementById("studio-offered").textContent =
        t("Every prompt is recorded: callers can choose this language on the voice line.");
    }
  }

  function setUp(row) {
    const recorder = row.querySelector(".recorder");
    const record = row.querySelector("button.record");
    const stop = row.querySelector("button.stop");
    const take = row.querySelector("audio.take");
    const keep = row.querySelector("button.keep");
    const redo = row.querySelector("button.redo");
    const message = row.querySelector(".message");
    const kept = row.querySelector("audio.kept");
    const badge = row.querySelector(".state .badge");
    const when = row.querySelector(".state .when");
    let media = null;
    let blob = null;
    let chunks = [];

    show(recorder, true);

    function reset() {
      if (take.src) URL.revokeObjectURL(take.src);
      take.removeAttribute("src");
      blob = null;
      show(take, false); show(keep, false); show(redo, false); show(stop, false);
      show(record, true);
    }

    async function start() {
      if (busy) { message.textContent = t("Finish the other recording first."); return; }
      reset();
      message.textContent = "";
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        message.textContent = t("The microphone is not available: upload a file instead.");
        return;
      }
      busy = true;
      chunks = [];
      const type = recordingType();
      media = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      media.addEventListener("dataavailable", (event) => {
        if (event.data && event.data.size) chunks.push(event.data);
      });
      media.addEventListener("stop", () => {
        stream.getTracks().forEach((track) => track.stop());
        busy = false;
        blob = new Blob(chunks, { type: media.mimeType || type || "audio/webm" });
        take.src = URL.createObjectURL(blob);
        show(take, true); show(keep, true); show(redo, true); show(stop, false);
        show(record, false);
        message.textContent = t("Listen back, then keep it or redo it.");
      });
      media.start();
      show(record, false); show(stop, true);
      message.textContent = t("Recording…");
    }

    async function upload() {
      if (!blob) return;
      const body = new FormData();
      const extension = blob.type.includes("ogg") ? "ogg" : "webm";
      body.append("audio", blob, `${row.dataset.prompt}.${extension}`);
      keep.disabled = true;
      message.textContent = t("Saving…");
      try {
        const answer = await fetch(row.dataset.upload, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": csrf },
          body,
        });
        const result = await answer.json().catch(() => ({}));
        if (!answer.ok) {
          message.textContent = result.detail || t("Not kept (HTTP %(status)s).", { status: answer.status });
          return;
        }
        kept.src = result.url;
        show(kept, true);
        badge.textContent = t("Recorded");
        badge.className = "badge recorded";
        when.textContent = t("just now");
        updateProgress(result);
        reset();
        message.textContent = t("Kept: callers hear it from now on.");
      } catch (error) {
        message.textContent = t("Not kept: the connection failed. Try again.");
      } finally {
        keep.disabled = false;
      }
    }

    if (!canRecord) {
      record.disabled = true;
      message.textContent = t("This browser cannot record: upload a file instead.");
      return;
    }
    record.addEventListener("click", start);
    stop.addEventListener("click", () => { if (media && media.state !== "inactive") media.stop(); });
    redo.addEventListener("click", start);
    keep.addEventListener("click", upload);
  }

  if (language) document.querySelectorAll("tr[data-prompt]").forEach(setUp);
})();
