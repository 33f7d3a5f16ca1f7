// The window pad (评价器): follows its own state stream and posts the citizen's rating.
(function () {
  var pad = document.getElementById('pad');
  if (!pad) return;
  var win = pad.dataset.window, key = pad.dataset.key;
  var idle = document.getElementById('pad-idle'), rate = document.getElementById('pad-rate');
  var thanks = document.getElementById('pad-thanks'), err = document.getElementById('pad-error');
  var current = null, thanking = null, rated = null;

  function show(which) {
    idle.hidden = which !== idle; rate.hidden = which !== rate; thanks.hidden = which !== thanks;
  }

  function render(s) {
    current = s;
    if (thanking) return;
    if (s.state !== 'rate' || s.token === rated) { show(idle); return; }
    document.getElementById('pad-label').textContent = s.kind + '：' + s.label;
    var levels = document.getElementById('pad-levels');
    levels.textContent = '';
    s.levels.forEach(function (l) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'pad-level level-' + l.level;
      b.dataset.level = l.level;
      b.textContent = l.label;
      b.addEventListener('click', function () { submit(s.token, l.level); });
      levels.appendChild(b);
    });
    var inds = document.getElementById('pad-indicators');
    inds.textContent = '';
    s.indicators.forEach(function (i) {
      var label = document.createElement('label');
      label.textContent = i.label + ' ';
      var sel = document.createElement('select');
      sel.dataset.indicator = i.code;
      [['0', '不评'], ['5', '非常满意'], ['4', '满意'], ['3', '基本满意'], ['2', '不满意'], ['1', '非常不满意']].forEach(function (o) {
        var opt = document.createElement('option');
        opt.value = o[0]; opt.textContent = o[1];
        sel.appendChild(opt);
      });
      label.appendChild(sel);
      inds.appendChild(label);
    });
    document.getElementById('pad-comment').value = '';
    err.textContent = '';
    show(rate);
  }

  function submit(token, level) {
    var indicators = {};
    document.querySelectorAll('#pad-indicators select').forEach(function (s) {
      if (s.value !== '0') indicators[s.dataset.indicator] = Number(s.value);
    });
    fetch('/api/v1/ratings', {
      method: 'POST',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: token, level: level, channel: 'pad', indicators: indicators,
                             comment: document.getElementById('pad-comment').value })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) {
        var f = (r.body.errors || [])[0];
        err.textContent = f ? f.message : r.body.title;
        return;
      }
      rated = token;
      show(thanks);
      // Then whatever the server says now: idle, or the next visit's rating already waiting.
      thanking = setTimeout(function () { thanking = null; render(current || { state: 'idle' }); }, 4000);
    }).catch(function () { err.textContent = '网络不通，请稍后再试'; });
  }

  var es = new EventSource('/api/v1/windows/' + win + '/pad/events?key=' + encodeURIComponent(key));
  es.addEventListener('pad', function (e) { render(JSON.parse(e.data)); });
})();
