// In-person classes. The roster: each tick is kept on the phone (localStorage) before it is
// sent, with the time it was made, so that a weak connection loses nothing: what could not be
// sent is shown as waiting and sent when the connection is back (the server keeps the mark
// made last, so sending twice is harmless). The check-in code page: counts down to the next
// code and fetches it. Without this script both pages still work as plain forms and pages.
(() => {
  const form = document.getElementById("roster-form");
  const state = document.getElementById("attendance-state");
  if (form && state) {
    const key = form.dataset.key;
    const token = form.querySelector("input[name=csrf_token]").value;
    let sending = false;

    const load = () => {
      try { return JSON.parse(window.localStorage.getItem(key) || "[]"); } catch (e) { return []; }
    };
    const keep = (queue) => {
      try {
        if (queue.length) window.localStorage.setItem(key, JSON.stringify(queue));
        else window.localStorage.removeItem(key);
      } catch (e) { /* no room: the marks stay in this page until sent */ }
    };
    let queue = load();
    const show = () => {
      if (queue.length) state.textContent = state.dataset.pending.replace("{n}", queue.length);
      else state.textContent = state.dataset.saved;
      state.classList.toggle("pending", queue.length > 0);
    };

    async function flush() {
      // Known to be offline: wait for the "online" event instead of failing requests.
      if (sending || !queue.length || navigator.onLine === false) { show(); return; }
      sending = true;
      const batch = queue.slice();
      const body = new FormData();
      body.append("csrf_token", token);
      body.append("marks", JSON.stringify(batch));
      try {
        const response = await fetch(form.action, {
          method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
        });
        if (response.status === 422) {
          state.textContent = state.dataset.refused;
          queue = queue.slice(batch.length);
          keep(queue);
          return;
        }
        if (!response.ok) throw new Error(String(response.status));
        queue = queue.slice(batch.length);
        keep(queue);
      } catch (e) {
        /* offline or the server is away: kept, sent again later */
      } finally {
        sending = false;
        show();
      }
      if (queue.length && navigator.onLine !== false) window.setTimeout(flush, 5000);
    }

    // Ticks queued by an earlier visit are shown as they were made, then sent.
    queue.forEach(([user, status]) => {
      const input = form.querySelector(`input[name="status-${user}"][value="${status}"]`);
      if (input) input.checked = true;
    });
    form.addEventListener("change", (event) => {
      const match = /^status-(\d+)$/.exec(event.target.name || "");
      if (!match) return;
      queue.push([Number(match[1]), event.target.value, Date.now()]);
      keep(queue);
      show();
      flush();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      flush();
    });
    window.addEventListener("online", flush);
    window.setInterval(flush, 15000);
    if (queue.length) flush(); else state.textContent = "";
  }

  const box = document.getElementById("check-in-code");
  const left = document.getElementById("code-left");
  if (box && left) {
    let ends = performance.now() + Number(left.dataset.seconds) * 1000;
    const refresh = async () => {
      try {
        const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        const data = await response.json();
        if (!data.open) { box.textContent = box.dataset.closed; return; }
        document.getElementById("code-digits").textContent = `${data.code.slice(0, 3)} ${data.code.slice(3)}`;
        document.getElementById("code-qr").innerHTML = data.qr;
        ends = performance.now() + data.seconds_left * 1000;
      } catch (e) {
        ends = performance.now() + 5000; // try again shortly
      }
      window.setTimeout(tick, 1000);
    };
    const tick = () => {
      const seconds = Math.max(0, Math.round((ends - performance.now()) / 1000));
      left.textContent = left.dataset.template.replace("{n}", seconds);
      if (seconds === 0) { refresh(); return; }
      window.setTimeout(tick, 1000);
    };
    tick();
  }
})();
