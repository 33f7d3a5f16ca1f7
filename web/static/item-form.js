// The catalogue item form's rows (办理情形, 申请材料, 特殊环节): add a row from its template, remove a
// row (and the problems told beside it). Plain JS served by the binary; the form works
// without it for the rows already there.
(function () {
  'use strict';
  document.addEventListener('click', function (ev) {
    var add = ev.target.closest('[data-add-row]');
    if (add) {
      var kind = add.getAttribute('data-add-row');
      var tpl = document.getElementById(kind + '-row');
      var body = document.getElementById(kind + '-rows');
      if (!tpl || !body) return;
      var row = tpl.content.firstElementChild.cloneNode(true);
      body.appendChild(row);
      var first = row.querySelector('input, select');
      if (first) first.focus();
      return;
    }
    var remove = ev.target.closest('[data-remove-row]');
    if (remove) {
      var tr = remove.closest('tr');
      var next = tr.nextElementSibling;
      if (next && next.classList.contains('row-errors')) next.remove();
      tr.remove();
    }
  });
})();
