// Run at the start of <body>, before the page is drawn: the NHS design system's CSS shows the
// JavaScript-only parts of components from these classes (a file, not inline, for the CSP).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
