// Start the NHS design system's components (a module file, not inline, for the CSP).
import { initAll } from '../vendor/nhsuk/nhsuk-frontend.min.js';

initAll();

// nhsuk-frontend 10.6.1's file upload sets its status ("No file chosen") and its "Choose file"
// side by side with no space between, so the button's visible text is not part of its
// accessible name (axe: label-content-name-mismatch, and speech users cannot say it). A space
// after the status mends it; the status's own text changes, the space stays.
document.querySelectorAll('.nhsuk-file-upload__status').forEach(function (status) {
  status.after(' ');
});
