// 未诉先办: "列入台账" fills the new-entry form with the cluster (no inline script: the CSP).
document.addEventListener('click', function (ev) {
  var a = ev.target.closest('[data-take-cluster]');
  if (!a) return;
  document.getElementById('cluster_category').value = a.dataset.category;
  document.getElementById('cluster_unit').value = a.dataset.unit;
  document.getElementById('title').value = a.dataset.title;
  document.getElementById('source').value = 'work_order_cluster';
  var owner = document.getElementById('owner');
  owner.value = a.dataset.unit;
  document.getElementById('description').focus();
});
