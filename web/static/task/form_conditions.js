// Fields hidden by a simple condition on other fields (a Camunda Form's conditional.hide),
// as engine/form_conditions.py reads the field's "x-hide-if": hidden while it holds, and not
// submitted then (its inputs disabled), as form-js hides and leaves out a hidden field.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) { return; }
  var ruled = form.querySelectorAll(".field[data-hide-if]");
  if (!ruled.length) { return; }

  function valueOf(field) {
    var inputs = field.querySelectorAll("input, select, textarea");
    if (field.classList.contains("field-checkbox")) { return inputs[0].checked; }
    if (field.classList.contains("field-choices")) {
      return Array.prototype.filter.call(inputs, function (i) { return i.checked; })
        .map(function (i) { return i.value; });
    }
    var raw = inputs.length ? inputs[0].value : "";
    if (raw === "") { return null; }
    if (field.classList.contains("field-number")) { return Number(raw); }
    return raw;
  }

  // A field's path in the form's data: a top-level field is named by its name, a field
  // inside a group by its JSON Pointer ("/contact/phone"), as web/forms_schema.py names it.
  function pathOf(field) {
    var name = field.getAttribute("data-field");
    if (name.charAt(0) !== "/") { return [name]; }
    return name.slice(1).split("/").map(function (part) {
      return part.replace(/~1/g, "/").replace(/~0/g, "~");
    });
  }

  function put(values, path, value) {
    var owner = values;
    for (var i = 0; i < path.length - 1; i++) {
      if (owner[path[i]] === null || typeof owner[path[i]] !== "object") { owner[path[i]] = {}; }
      owner = owner[path[i]];
    }
    owner[path[path.length - 1]] = value;
  }

  function data() {
    // the instance's values of the variables the conditions read that no field shows
    var values = JSON.parse(form.getAttribute("data-hide-context") || "{}");
    form.querySelectorAll(".field[data-field]").forEach(function (field) {
      // a group's fields say its object; a list's rows are not read by conditions
      if (field.classList.contains("field-group") || field.classList.contains("field-list")) {
        return;
      }
      if (field.closest(".list-row")) { return; }
      put(values, pathOf(field), valueOf(field));
    });
    return values;
  }

  function at(values, path) {
    var value = values;
    for (var i = 0; i < path.length; i++) {
      if (value === null || typeof value !== "object") { return null; }
      value = value[path[i]] === undefined ? null : value[path[i]];
    }
    return value;
  }

  function holds(test, values) {
    var value = at(values, test[0]), op = test[1], expected = test[2];
    if (op === "=" || op === "!=") {
      var same = value === null || expected === null
        ? value === null && expected === null
        : typeof value === typeof expected && value === expected;
      return op === "=" ? same : !same;
    }
    if (value === null || expected === null || typeof value !== typeof expected) { return false; }
    if (op === "<") { return value < expected; }
    if (op === "<=") { return value <= expected; }
    if (op === ">") { return value > expected; }
    return value >= expected;
  }

  function hidden(text, values) {
    try {
      var rule = JSON.parse(text);
      var results = rule.tests.map(function (test) { return holds(test, values); });
      return rule.any ? results.some(Boolean) : results.every(Boolean);
    } catch (error) {
      return false;  // not a rule the server wrote: the field shows
    }
  }

  // A hidden field is not submitted, so its value (typed before it hid) hides or shows no
  // other field: the rules are read without the hidden fields' values until that settles,
  // as engine/form_conditions.py reads what is submitted.
  function hiddenFields(values) {
    var hide = [];
    for (var pass = 0; pass <= ruled.length; pass++) {
      var seen = JSON.parse(JSON.stringify(values));
      ruled.forEach(function (field, i) {
        if (hide[i]) { put(seen, pathOf(field), null); }
      });
      var now = Array.prototype.map.call(ruled, function (field) {
        return hidden(field.getAttribute("data-hide-if"), seen);
      });
      var settled = now.every(function (hide_i, i) { return hide_i === Boolean(hide[i]); });
      hide = now;
      if (settled) { break; }
    }
    return hide;
  }

  function update() {
    var hideAll = hiddenFields(data());
    ruled.forEach(function (field, i) {
      var hide = hideAll[i];
      field.hidden = hide;
      field.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.hasAttribute("data-read-only")) { return; }
        input.disabled = hide;
      });
    });
  }

  form.querySelectorAll(".field[data-hide-if] [disabled]").forEach(function (input) {
    input.setAttribute("data-read-only", "");
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
