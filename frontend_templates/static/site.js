// Behaviour every page shares. No inline scripts or handlers: the Content-Security-Policy forbids them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The language menu changes the language as soon as a language is chosen.
  const languages = document.getElementById("lang-select");
  if (languages && languages.form) {
    languages.addEventListener("change", () => languages.form.submit());
  }
});
