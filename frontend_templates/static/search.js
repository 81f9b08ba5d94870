// Search as you type on the discovery page: results are replaced in place and the address bar keeps
// the search, so a URL can be shared. Without JavaScript the form submits normally.
(function () {
  var form = document.getElementById("search-form");
  var results = document.getElementById("results");
  if (!form || !results) return;
  var timer = null, controller = null;
  function update() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (key) { if (params.get(key) === "") params.delete(key); });
    var query = params.toString();
    history.replaceState(null, "", query ? "?" + query : location.pathname);
    params.set("partial", "1");
    if (controller) controller.abort();
    controller = new AbortController();
    fetch(location.pathname + "?" + params.toString(), { signal: controller.signal, headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) { results.innerHTML = html; results.setAttribute("aria-busy", "false"); })
      .catch(function () {});
    results.setAttribute("aria-busy", "true");
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 200); });
  form.addEventListener("change", function () { clearTimeout(timer); update(); });
})();
