// Skill suggestions from the taxonomy as the member types; "Add skill" appends to the list.
(function () {
  var input = document.getElementById("skill-search");
  var list = document.getElementById("skill-suggestions");
  var add = document.getElementById("skill-add");
  var skills = document.getElementById("skills");
  if (!input || !list || !add || !skills) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(function () {
      fetch("/api/taxonomy/skills?q=" + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) {
          list.innerHTML = "";
          data.items.forEach(function (item) {
            var option = document.createElement("option");
            option.value = item.label;
            list.appendChild(option);
          });
        });
    }, 150);
  });
  add.addEventListener("click", function () {
    var value = input.value.trim();
    if (!value) return;
    skills.value = (skills.value.trim() ? skills.value.trim() + "\n" : "") + value;
    input.value = "";
    input.focus();
  });
})();
