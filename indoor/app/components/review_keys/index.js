// The Review page's keyboard helper (mounted with the review queue, draws nothing).
//
// Streamlit ignores keyboard shortcuts (K keep, P relabel to predicted, ...) while an input has the focus, and a
// ticked checkbox keeps it: this blurs a checkbox of the decision form once it is clicked, and any field of the
// form on Esc, so the shortcuts work right away. Installed once per browser page.
export default function () {
  if (window.__indoorReviewKeys) return;
  window.__indoorReviewKeys = true;
  const inForm = (el) => el instanceof HTMLElement && el.closest('[data-testid="stForm"]');
  document.addEventListener("click", (event) => {
    const box = event.target instanceof Element && event.target.closest('[data-testid="stCheckbox"]');
    if (!box || !inForm(box)) return;
    setTimeout(() => {
      const el = document.activeElement;
      if (el instanceof HTMLInputElement && el.type === "checkbox") el.blur();
    }, 0);
  }, true);
  document.addEventListener("keydown", (event) => {
    const el = document.activeElement;
    if (event.key === "Escape" && inForm(el)) setTimeout(() => el.blur(), 0);
  }, true);
}
