// A list's rows on the task page (web/forms_schema.py renders them): "Add row" copies the
// list's template row with a fresh index, "Remove" takes a row out; both are disabled at the
// list's minItems / maxItems. The server reads the rows in page order by their markers
// (row:<list>), so indexes need not follow each other.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) { return; }

  function rowsOf(list) { return list.querySelector(":scope > .list-rows"); }

  function refresh(list) {
    var count = rowsOf(list).children.length;
    var min = Number(list.getAttribute("data-min-items") || 0);
    var max = list.hasAttribute("data-max-items")
      ? Number(list.getAttribute("data-max-items")) : Infinity;
    var add = list.querySelector(":scope > .list-add");
    if (add) { add.disabled = count >= max; }
    rowsOf(list).querySelectorAll(":scope > .list-row > .list-remove").forEach(function (b) {
      b.disabled = count <= min;
    });
  }

  function nextIndex(list) {
    var next = 0;
    rowsOf(list).querySelectorAll(":scope > .list-row").forEach(function (row) {
      next = Math.max(next, Number(row.getAttribute("data-index")) + 1);
    });
    return next;
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || button.disabled) { return; }
    var list = button.closest(".field-list");
    if (!list) { return; }
    if (button.classList.contains("list-add")) {
      var template = list.querySelector(":scope > template.list-template");
      var html = template.innerHTML.split("__index__").join(String(nextIndex(list)));
      rowsOf(list).insertAdjacentHTML("beforeend", html);
      var first = rowsOf(list).lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    } else if (button.classList.contains("list-remove")) {
      button.closest(".list-row").remove();
    } else {
      return;
    }
    refresh(list);
    form.dispatchEvent(new Event("change"));  // conditions read the form again
  });

  form.querySelectorAll(".field-list").forEach(refresh);
})();
