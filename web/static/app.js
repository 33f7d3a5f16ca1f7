// Small progressive enhancements; every page works without this file.
document.addEventListener('click', function (e) {
  var t = e.target.closest('[data-print]');
  if (t) { e.preventDefault(); window.print(); }
});

// The acceptance checklist follows the 办理情形 answers (issue 10 item 10): a material needed
// only for some answers shows when its question has one of them, and is unticked when hidden.
function followSituations() {
  document.querySelectorAll('[data-if-question]').forEach(function (row) {
    var select = document.getElementById('a-' + row.getAttribute('data-if-question'));
    if (!select) { return; }
    var wanted = row.getAttribute('data-if-answers').split(' ');
    var show = wanted.indexOf(select.value) >= 0;
    row.hidden = !show;
    if (!show) { row.querySelectorAll('input[type=checkbox]').forEach(function (c) { c.checked = false; }); }
  });
}
document.addEventListener('change', function (e) {
  if (e.target.matches && e.target.matches('select[name^="a_"]')) { followSituations(); }
});
