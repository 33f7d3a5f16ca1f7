// The simulated locker (模拟文件柜): draws the compartments and plays the locker's controller
// through the device API. Each message gets its own idempotency key (message_id) and a retry
// after a lost answer sends the same key again, so the server acts once and the door opens once.
(function () {
  var sim = document.getElementById('sim');
  if (!sim) return;
  var code = sim.dataset.locker;
  var token = (location.hash.match(/token=([^&]+)/) || [])[1] || '';
  var doorsEl = document.getElementById('sim-doors');
  var screen = document.getElementById('sim-screen');
  var errEl = document.getElementById('sim-error');
  var doorIn = document.getElementById('sim-door');
  var codeIn = document.getElementById('sim-code');
  var codeLabel = document.getElementById('sim-code-label');
  var target = codeIn;
  var open = {};

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return 'sim-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
  }

  function api(method, path, body) {
    return fetch('/api/v1/lockers/' + encodeURIComponent(code) + path, {
      method: method,
      headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (v) {
        if (!r.ok) throw new Error(v.title || '请求失败');
        return v;
      });
    });
  }

  // One message, retried with the same key when the answer is lost on the way.
  function send(msg, tries) {
    return api('POST', '/device/messages', msg).catch(function (e) {
      if (tries > 0 && e instanceof TypeError) return send(msg, tries - 1);
      throw e;
    });
  }

  function say(text, bad) {
    screen.textContent = text;
    screen.classList.toggle('bad', !!bad);
    errEl.hidden = true;
  }

  function fail(e) {
    errEl.textContent = e.message;
    errEl.hidden = false;
  }

  function draw(doors) {
    doorsEl.textContent = '';
    doors.forEach(function (d) {
      var cell = document.createElement('div');
      cell.className = 'sim-door size-' + d.size + ' state-' + d.state + (d.locked ? ' locked' : '') + (open[d.door] ? ' open' : '');
      cell.dataset.door = d.door;
      cell.dataset.state = d.state;
      var name = document.createElement('strong');
      name.textContent = d.door;
      var st = document.createElement('span');
      st.className = 'sim-door-state';
      st.textContent = d.size_label + ' · ' + (open[d.door] ? '门已打开' : d.state_label + (d.locked ? ' · 已锁定' : ''));
      cell.appendChild(name);
      cell.appendChild(st);
      if (open[d.door]) {
        var close = document.createElement('button');
        close.type = 'button';
        close.id = 'close-' + d.door;
        close.className = 'sim-close';
        close.textContent = '关门';
        close.addEventListener('click', function (ev) { ev.stopPropagation(); shut(d.door); });
        cell.appendChild(close);
      }
      cell.addEventListener('click', function () { doorIn.value = d.door; target = codeIn; codeIn.focus(); });
      doorsEl.appendChild(cell);
    });
  }

  function refresh() {
    return api('GET', '/device/doors').then(function (v) { draw(v.doors); }).catch(fail);
  }

  function shut(door) {
    send({ message_id: newId(), type: 'door_closed', door: door }, 2).then(function () {
      delete open[door];
      say('柜门已关好，谢谢。请输入格口号和取件码（或投递码）');
      return refresh();
    }).catch(fail);
  }

  function request() {
    var door = doorIn.value.trim();
    var value = codeIn.value.trim();
    if (!door || !value) { say('请先输入格口号和' + codeLabel.textContent, true); return; }
    var msg = { message_id: newId(), type: 'open_request', door: door };
    if (document.getElementById('mode-id').checked) msg.id_number = value; else msg.code = value;
    send(msg, 2).then(function (a) {
      codeIn.value = '';
      if (a.result === 'open') {
        open[a.door] = true;
        say(a.door + ' 号' + a.message);
        send({ message_id: newId(), type: 'door_opened', door: a.door }, 2).catch(fail);
      } else {
        say(a.message, true);
      }
      return refresh();
    }).catch(fail);
  }

  document.querySelectorAll('input[name=mode]').forEach(function (r) {
    r.addEventListener('change', function () {
      codeLabel.textContent = document.getElementById('mode-id').checked ? '身份证号' : '取件码 / 投递码';
      codeIn.value = '';
    });
  });
  doorIn.addEventListener('focus', function () { target = doorIn; });
  codeIn.addEventListener('focus', function () { target = codeIn; });
  document.getElementById('sim-keys').addEventListener('click', function (ev) {
    var k = ev.target.dataset && ev.target.dataset.key;
    if (!k) return;
    target.value = k === '⌫' ? target.value.slice(0, -1) : target.value + k;
  });
  document.getElementById('sim-open').addEventListener('click', request);
  codeIn.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') request(); });

  if (!token) { fail(new Error('缺少设备令牌：请从“智能文件柜”管理页面点“打开模拟文件柜”')); return; }
  refresh();
})();
