// The final test page: saves answers as the learner goes, counts down the server's time limit,
// and asks before submitting with unanswered questions. Without this script the page still
// works: answers are sent when the form is submitted.
//
// The countdown runs on the browser's monotonic clock (performance.now), set from the seconds
// the server gave and set again by every save: the phone's own clock being changed or jumping
// never ends an attempt, and the server, which keeps the real end, refuses a "time is up"
// submit that comes early.
(() => {
  const form = document.getElementById("attempt");
  if (!form) return;
  const state = document.getElementById("save-state");
  const clock = document.getElementById("timer");
  let ends = clock ? performance.now() + Number(clock.dataset.seconds) * 1000 : null;
  let pending = false;
  let timer = null;
  let submitting = false;
  let inFlight = null; // the autosave being sent, stopped when the form is submitted

  const show = (key) => {
    if (!state) return;
    state.textContent = state.dataset[key] || "";
    state.classList.toggle("offline", key === "offline" || key === "offlineSubmit");
  };

  // Offline, nothing is sent: the answers wait in the page (and on the server, as last saved)
  // and go as soon as the browser is back online.
  const offline = () => navigator.onLine === false;

  async function save() {
    timer = null;
    if (submitting) return; // the submit carries every answer
    if (offline()) { pending = true; show("offline"); return; }
    pending = false;
    show("saving");
    inFlight = new AbortController();
    try {
      const response = await fetch(form.dataset.saveUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: inFlight.signal,
      });
      if (response.status === 409) { show("closed"); window.location.reload(); return; }
      if (!response.ok) throw new Error(String(response.status));
      const reply = await response.json().catch(() => ({}));
      if (ends !== null && typeof reply.seconds_left === "number") {
        ends = performance.now() + reply.seconds_left * 1000;
      }
      show("saved");
    } catch (error) {
      if (submitting) return;
      pending = true;
      show(offline() ? "offline" : "failed");
    } finally {
      inFlight = null;
    }
  }

  // Once the form is submitted, no autosave may reach the server after the submit (it would
  // find the attempt graded).
  const stopSaving = () => {
    submitting = true;
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (inFlight) inFlight.abort();
  };

  const schedule = () => {
    pending = true;
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(save, 600);
  };
  form.addEventListener("change", schedule);
  form.addEventListener("input", (event) => { if (event.target.type === "text") schedule(); });
  window.setInterval(() => { if (pending && !timer) save(); }, 10000);
  window.addEventListener("offline", () => { if (!submitting) show("offline"); });
  window.addEventListener("online", () => {
    if (submitting) return;
    if (form.dataset.timeUp) { form.submit(); return; }
    if (pending && !timer) save(); else show("saved");
  });
  if (offline()) show("offline");

  const unanswered = () => Array.from(form.querySelectorAll("[data-question]")).filter((q) => {
    const inputs = q.querySelectorAll("input[type=radio], input[type=checkbox]");
    if (inputs.length) return !Array.from(inputs).some((i) => i.checked);
    const text = q.querySelector("input[type=text]");
    if (text) return !text.value.trim();
    return Array.from(q.querySelectorAll("select")).some((s) => !s.value);
  }).length;

  form.addEventListener("submit", (event) => {
    if (form.dataset.timeUp) return;
    if (offline()) {
      // Sent now, the answers would meet the browser's error page instead of the server.
      event.preventDefault();
      show("offlineSubmit");
      return;
    }
    const missing = unanswered();
    if (missing && !form.querySelector("input[name=confirm]")) {
      if (!window.confirm(form.dataset.unanswered.replace("{n}", missing))) {
        event.preventDefault();
        return;
      }
      const confirm = document.createElement("input");
      confirm.type = "hidden";
      confirm.name = "confirm";
      confirm.value = "1";
      form.appendChild(confirm);
    }
    stopSaving();
  });

  const hidden = (name) => {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = "1";
    form.appendChild(input);
  };
  if (clock) {
    const tick = () => {
      const left = Math.max(0, Math.round((ends - performance.now()) / 1000));
      clock.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      if (left === 0) {
        form.dataset.timeUp = "1";
        hidden("confirm");
        hidden("time_up");
        stopSaving();
        // Offline, the "online" listener sends it (the server keeps the real end).
        if (!offline()) form.submit();
        else show("offline");
        return;
      }
      window.setTimeout(tick, 1000);
    };
    tick();
  }
})();

// The test's start page: the test needs a connection, so the start button (and the link to an
// attempt in progress) is off while the browser is offline, with the reason next to it.
(() => {
  const note = document.getElementById("connection-note");
  if (!note) return;
  const controls = document.querySelectorAll("[data-needs-connection]");
  const usual = note.textContent;
  const update = () => {
    const offline = navigator.onLine === false;
    note.textContent = offline ? note.dataset.offline : usual;
    note.classList.toggle("offline", offline);
    controls.forEach((control) => {
      if (control.tagName === "A") control.setAttribute("aria-disabled", String(offline));
      else control.disabled = offline;
    });
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-needs-connection]");
    if (link && link.getAttribute("aria-disabled") === "true") event.preventDefault();
  });
  window.addEventListener("offline", update);
  window.addEventListener("online", update);
  update();
})();
