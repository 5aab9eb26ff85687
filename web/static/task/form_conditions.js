// Fields hidden by a simple condition on other fields (a Camunda Form's conditional.hide),
// as engine/form_conditions.py reads the field's "x-hide-if": hidden while it holds, and not
// submitted then (its inputs disabled), as form-js hides and leaves out a hidden field.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) { return; }
  // the instance's values of the variables the conditions read that no field shows
  var context = JSON.parse(form.getAttribute("data-hide-context") || "{}");

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

  function rowsAround(field) {
    // the list rows a field is in, outermost first
    var rows = [], row = field.closest(".list-row");
    while (row) {
      rows.unshift(row);
      row = row.parentElement.closest(".list-row");
    }
    return rows;
  }

  function rowPath(row) {
    var list = row.closest(".field-list");
    return pathOf(list).concat([row.getAttribute("data-index")]);
  }

  // The values a scope holds: the form's (scope null: every field outside the lists' rows,
  // with the instance's values the conditions read) or a row's (its own cells, by their path
  // within the row); the fields in "skip" (hidden) are not submitted, so not read.
  function valuesOf(scope, skip) {
    var values = scope ? {} : JSON.parse(JSON.stringify(context));
    var base = scope ? rowPath(scope).length : 0;
    var fields = (scope || form).querySelectorAll(".field[data-field]");
    fields.forEach(function (field) {
      // a group's fields say its object; a list's rows are read as their scope
      if (field.classList.contains("field-group") || field.classList.contains("field-list")) {
        return;
      }
      if (field.closest(".list-row") !== scope || skip.indexOf(field) >= 0) { return; }
      var path = pathOf(field).slice(base);
      if (!path.length) { return; }  // a list of scalars: its row holds no field by name
      put(values, path, valueOf(field));
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

  // The 1-based positions of rows among their list's rows (form-js's "i"), outermost first.
  function positions(rows) {
    return rows.map(function (row) {
      return Array.prototype.indexOf.call(row.parentElement.children, row) + 1;
    });
  }

  // What a condition's path reads, as form-js builds its context per scope ({this, parent,
  // i, ...data}): "this" the scope's item (the form's data at top level), "i" the rows'
  // positions unless the data holds a variable "i" ("_i_" always), any other name the form's
  // data from the root, in every scope; "parent" the context around the row (null at top
  // level), holding the outer scope's item (form-js 1.8.8): "parent.x" and "parent.this.x"
  // are the outer row's x, the form's x in a top-level row (the page's only rows: a list
  // inside a row is one JSON input), as engine/form_conditions.py reads them.
  function valueAt(path, field, read) {
    var rows = rowsAround(field), level = rows.length, within = false;
    while (path.length && (path[0] === "parent" || path[0] === "_parent_")) {
      if (level === 0) { return null; }
      level -= 1;
      within = true;
      path = path.slice(1);
      if (!path.length) { return {}; }  // a context: no literal equals it
    }
    var head = path[0], rest = path.slice(1), root = read(null);
    if (head === "this" || head === "_this_") {
      return at(read(level ? rows[level - 1] : null), rest);
    }
    var own = Object.prototype.hasOwnProperty;
    var scope = within && level ? read(rows[level - 1]) : null;
    // an empty field "i" is not submitted, so it is no variable on the server either
    var variable = head === "i" && (scope ? own.call(scope, "i")
      : own.call(context, "i") || (own.call(root, "i") && root.i !== null));
    if ((head === "i" || head === "_i_") && !variable) {
      return rest.length ? null : positions(rows.slice(0, level));
    }
    return at(scope || root, path);
  }

  function holds(test, field, read) {
    var value = valueAt(test[0], field, read), op = test[1], expected = test[2];
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

  function hidden(text, field, read) {
    try {
      var rule = JSON.parse(text);
      var results = rule.tests.map(function (test) { return holds(test, field, read); });
      return rule.any ? results.some(Boolean) : results.every(Boolean);
    } catch (error) {
      return false;  // not a rule the server wrote: the field shows
    }
  }

  // A hidden field is not submitted, so its value (typed before it hid) hides or shows no
  // other field: the rules are read without the hidden fields' values until that settles,
  // as engine/form_conditions.py reads what is submitted.
  function hiddenFields(ruled) {
    var hide = [];
    for (var pass = 0; pass <= ruled.length; pass++) {
      var skip = ruled.filter(function (field, i) { return hide[i]; });
      var cache = new Map();
      var read = function (scope) {
        if (!cache.has(scope)) { cache.set(scope, valuesOf(scope, skip)); }
        return cache.get(scope);
      };
      var now = ruled.map(function (field) {
        return hidden(field.getAttribute("data-hide-if"), field, read);
      });
      var settled = now.every(function (hide_i, i) { return hide_i === Boolean(hide[i]); });
      hide = now;
      if (settled) { break; }
    }
    return hide;
  }

  function update() {
    // read again each time: the list's rows are added and removed
    var ruled = Array.prototype.slice.call(form.querySelectorAll(".field[data-hide-if]"));
    var hideAll = hiddenFields(ruled);
    ruled.forEach(function (field, i) {
      var hide = hideAll[i];
      field.hidden = hide;
      field.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.hasAttribute("data-read-only")) { return; }
        input.disabled = hide;
      });
    });
  }

  function markReadOnly(root) {
    root.querySelectorAll(".field[data-hide-if] [disabled]").forEach(function (input) {
      input.setAttribute("data-read-only", "");
    });
  }
  markReadOnly(form);
  // a new row's read-only cells are disabled in its template already
  form.querySelectorAll("template.list-template").forEach(function (t) { markReadOnly(t.content); });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
