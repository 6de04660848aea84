// The console's few behaviours, from a file: the Content-Security-Policy allows no inline script or style.

// Timelines and coverage strips place their bands by percentages given as data attributes.
function placeBands(root) {
  for (const element of root.querySelectorAll("[data-left], [data-width]")) {
    if (element.dataset.left) element.style.left = element.dataset.left + "%";
    if (element.dataset.width) element.style.width = element.dataset.width + "%";
  }
}

// A form with data-confirm asks before it is sent (e.g. deleting an agreement).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => placeBands(document));
