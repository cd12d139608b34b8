// The extension form: as the number of days, the date or the course changes, asks the server
// what the new deadline will be and says it next to the field (a polite live region, so a
// screen reader reads it after the typing). The server computes it with the same rule as the
// extension itself, so the page never counts days on its own. Without this script the page
// states the rule, and the sentence for the values it was sent with.
(() => {
  const box = document.getElementById("extend-preview");
  if (!box) return;
  const form = box.closest("form");
  const rule = document.getElementById("extend-rule");
  const result = document.getElementById("extend-result");
  const fields = ["course_id", "days", "until"];
  let asked = 0;
  let timer = null;

  async function update() {
    timer = null;
    const ask = ++asked;
    const url = new URL(box.dataset.url, window.location.href);
    for (const name of fields) {
      const input = form.elements.namedItem(name);
      if (input && input.value) url.searchParams.set(name, input.value);
    }
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const text = await response.json();
      if (ask !== asked) return; // a later question was asked meanwhile
      if (rule.textContent !== text.rule) rule.textContent = text.rule;
      if (result.textContent !== text.result) result.textContent = text.result;
    } catch (error) {
      // Offline for a moment: the sentence stays as it was; the next change asks again.
    }
  }

  const schedule = () => {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  };
  for (const name of fields) {
    const input = form.elements.namedItem(name);
    if (!input) continue;
    input.addEventListener("input", schedule);
    input.addEventListener("change", schedule);
  }
})();
