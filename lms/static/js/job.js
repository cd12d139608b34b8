// Follows a background job: asks the server every two seconds, updates the bar, and reloads
// the page when the job has ended, to show its result (its download link, or why it failed),
// or, once done, goes on to the page the job belongs to (data-next: a batch whose learners it
// updated). Without this script, reloading the page does the same, and the page links there.
(() => {
  const box = document.getElementById("job");
  if (!box) return;
  const bar = document.getElementById("job-bar");
  const state = document.getElementById("job-state");
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      const job = await response.json();
      const percent = job.percent || 0;
      bar.className = `bar w${Math.floor(percent / 5) * 5}`;
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
      if (job.status === "done" && box.dataset.next) {
        window.location.assign(box.dataset.next);
        return;
      }
      if (job.status === "done" || job.status === "failed") {
        window.location.reload();
        return;
      }
      state.textContent = state.dataset.running
        .replace("{done}", job.done).replace("{total}", job.total ?? "?");
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, 2000);
  };
  const ended = box.dataset.status === "done" || box.dataset.status === "failed";
  if (!ended) window.setTimeout(poll, 1000);
})();
