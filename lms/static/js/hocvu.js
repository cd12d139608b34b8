// Asks before a destructive form is sent (data-confirm), and prints on [data-print].
// Loaded as a file because the Content-Security-Policy forbids inline script.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
// A second click on a submit button while the first request is under way sends nothing.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return;
  const form = event.target;
  window.setTimeout(() => {
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
  }, 0);
  window.setTimeout(() => {
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = false; });
  }, 8000);
});
// The total of a form's numbers, kept up to date in the element its data-total names.
document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-total]");
  const output = form && document.querySelector(form.dataset.total);
  if (!output) return;
  let total = 0;
  form.querySelectorAll("input[type=number]").forEach((input) => {
    const value = Number.parseInt(input.value, 10);
    if (Number.isInteger(value) && value > 0) total += value;
  });
  output.textContent = String(total);
});
