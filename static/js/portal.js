// Start the NHS design system's components (a module file, not inline, for the CSP).
import { initAll } from '../vendor/nhsuk/nhsuk-frontend.min.js';

initAll();
