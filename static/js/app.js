// gmhsc front-end start-up. Loaded as a module; no inline script anywhere (Content Security Policy).
import { initAll } from "/static/vendor/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// After an HTMX swap, start GOV.UK components inside the new content and move focus to any error summary.
document.body.addEventListener("htmx:afterSwap", (event) => {
  initAll({ scope: event.target });
  const summary = event.target.querySelector(".govuk-error-summary");
  if (summary) summary.focus();
});

// Buttons that ask before acting: <button data-confirm="Close M06?">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Progress bars for long jobs poll their own fragment with hx-trigger="every 2s" (HTMX); nothing else needed here.
