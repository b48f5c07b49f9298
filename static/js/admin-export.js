// The admin's export page: "Select all" ticks or clears every field (django-import-export
// wires this with an inline handler, which the Content-Security-Policy blocks).
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.getElementById("select-all-toggle");
  if (!toggle) {
    return;
  }
  toggle.addEventListener("change", function () {
    document
      .querySelectorAll('.selectable-field-export-row input[type="checkbox"]')
      .forEach(function (checkbox) {
        checkbox.checked = toggle.checked;
      });
  });
});
