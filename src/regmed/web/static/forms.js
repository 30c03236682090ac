// Dictionary forms: when an answer changes, ask the server which fields the branching logic
// shows (the same evaluator as the importer's rules) and show, hide and disable them; the
// calculated fields are updated too. Without this script the server shows them on saving.
(function () {
  "use strict";
  var form = document.getElementById("study-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-visibility");
  var pending = null;

  function apply(answer) {
    var fields = form.querySelectorAll(".field[data-var]");
    for (var i = 0; i < fields.length; i++) {
      var box = fields[i];
      var name = box.getAttribute("data-var");
      if (!(name in answer.shown)) { continue; }
      var shown = answer.shown[name];
      box.hidden = !shown;
      var inputs = box.querySelectorAll("input, select, textarea");
      for (var j = 0; j < inputs.length; j++) { inputs[j].disabled = !shown; }
      if (name in answer.calculated) {
        var out = box.querySelector("output");
        if (out) { out.textContent = answer.calculated[name] === null ? "—" : answer.calculated[name]; }
      }
    }
  }

  function refresh() {
    var data = new FormData(form);
    // hidden fields are disabled and so not sent: their branching reads them as empty
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer) { apply(answer); } })
      .catch(function () { /* the server shows the right fields on saving */ });
  }

  form.addEventListener("change", function () {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(refresh, 150);
  });
}());
