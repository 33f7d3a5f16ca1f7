// The hall's live pages: kiosk, phone ticket, display board, window strip, clerk workstation.
// Live data comes from the hall's SSE feed; EventSource resends Last-Event-ID on reconnect,
// so the server replays what was missed.
(function () {
  'use strict';
  function $(id) { return document.getElementById(id); }

  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (r.status === 204) { return null; }
      return r.json().catch(function () { return {}; }).then(function (v) {
        if (!r.ok) {
          var msg = v.title || ('请求失败（' + r.status + '）');
          if (v.errors && v.errors.length) { msg += '：' + v.errors.map(function (e) { return e.message; }).join('；'); }
          throw new Error(msg);
        }
        return v;
      });
    });
  }

  // `after`: the event the page was rendered at, so nothing falls between page and feed.
  function feed(hall, on, after) {
    var es = new EventSource('/api/v1/halls/' + encodeURIComponent(hall) + '/events' +
      (after ? '?last_event_id=' + encodeURIComponent(after) : ''));
    ['ticket_called', 'ticket_changed', 'queue_changed', 'notice', 'window_changed'].forEach(function (name) {
      es.addEventListener(name, function (e) {
        var data = {};
        try { data = JSON.parse(e.data); } catch (_) { return; }
        if (name === 'queue_changed') { updateWaiting(data); }
        if (on[name]) { on[name](data); }
      });
    });
    return es;
  }

  function updateWaiting(d) {
    document.querySelectorAll('[data-waiting="' + d.queue + '"]').forEach(function (el) { el.textContent = d.waiting; });
  }

  // Waiting, in plain words: minutes, or what to do when no window is open yet.
  function waitText(t) {
    if (t.estimated_wait_minutes === null || t.estimated_wait_minutes === undefined) {
      return '前面还有 ' + t.ahead + ' 人。窗口暂未开放，请稍候，开放后按顺序叫号，请留意大屏';
    }
    return '前面还有 ' + t.ahead + ' 人，预计等候 ' + t.estimated_wait_minutes + ' 分钟';
  }

  // ---- Kiosk --------------------------------------------------------------------------------
  var kiosk = $('kiosk');
  if (kiosk) {
    var hall = kiosk.dataset.hall;
    feed(hall, {});
    var elder = function (on) {
      document.documentElement.classList.toggle('elder', on);
      document.body.classList.toggle('elder', on);
      $('elder-toggle').setAttribute('aria-pressed', on ? 'true' : 'false');
      $('elder-toggle').textContent = on ? '恢复标准字号' : '适老化模式（大字）';
    };
    $('elder-toggle').addEventListener('click', function () {
      elder(!document.documentElement.classList.contains('elder'));
    });
    // After a slip, or something typed and left, the kiosk returns to its start when nobody
    // touches it for a while: the next visitor never sees the last one's slip or ID number.
    // Read each time: the hall's setting, which a test may shorten on the page.
    var resetSeconds = function () { return Math.max(1, Number(kiosk.dataset.resetSeconds) || 30); };
    var left = 0, timer = null;
    var showLeft = function () { $('r-countdown').textContent = left; kiosk.dataset.countdown = left; };
    var reset = function () {
      if (timer) { clearInterval(timer); timer = null; }
      $('receipt').hidden = true;
      $('receipt').dataset.ticket = '';
      $('r-qr').innerHTML = '';
      ['kiosk-id', 'kiosk-phone', 'checkin-text'].forEach(function (id) { $(id).value = ''; });
      $('kiosk-error').textContent = ''; $('checkin-error').textContent = '';
      elder(false);
      delete kiosk.dataset.countdown;
      kiosk.dataset.resets = String(Number(kiosk.dataset.resets || 0) + 1);
      window.scrollTo(0, 0);
    };
    var arm = function () {
      left = resetSeconds(); showLeft();
      if (!timer) {
        timer = setInterval(function () { left -= 1; showLeft(); if (left <= 0) { reset(); } }, 1000);
      }
    };
    // A touch or a key while something is on screen starts the count again.
    ['click', 'keydown', 'touchstart', 'input'].forEach(function (name) {
      document.addEventListener(name, function () { if (timer) { left = resetSeconds(); showLeft(); } }, true);
    });
    ['kiosk-id', 'kiosk-phone', 'checkin-text'].forEach(function (id) { $(id).addEventListener('input', arm); });
    // The slip of a new ticket, taken or checked in: shown on screen, printable at 80 mm.
    var slip = function (t, kind) {
      $('r-kind').textContent = kind || '';
      $('r-priority').textContent = t.priority_mark || '';
      $('r-priority').hidden = !t.priority_mark;
      $('r-number').textContent = t.number;
      $('r-queue').textContent = t.queue_name;
      $('r-wait-line').textContent = waitText(t);
      $('r-time').textContent = t.issued_label;
      $('r-link').href = t.link;
      $('r-qr').innerHTML = '';
      var img = document.createElement('img');
      img.alt = '手机查看二维码'; img.src = t.link + '/qr.svg';
      $('r-qr').appendChild(img);
      if (t.rating_link) {
        // 办完扫码评价: the visit's own rating link (a single-use token, not the ticket number).
        var rate = document.createElement('figure');
        rate.className = 'r-rate';
        var rimg = document.createElement('img');
        rimg.alt = '办完扫码评价'; rimg.src = t.rating_link + '/qr.svg';
        var cap = document.createElement('figcaption');
        cap.textContent = '办完扫码评价';
        rate.appendChild(rimg); rate.appendChild(cap);
        $('r-qr').appendChild(rate);
      }
      $('receipt').hidden = false;
      $('receipt').dataset.ticket = t.id;
      arm();
    };
    kiosk.querySelectorAll('.queue-button').forEach(function (b) {
      b.addEventListener('click', function () {
        $('kiosk-error').textContent = '';
        var body = { queue: b.dataset.queue, channel: 'kiosk' };
        var id = $('kiosk-id').value.trim(), phone = $('kiosk-phone').value.trim();
        if (id) { body.id_number = id; }
        if (phone) { body.phone = phone; }
        api('POST', '/api/v1/halls/' + encodeURIComponent(hall) + '/tickets', body).then(function (t) {
          slip(t, '');
          $('kiosk-id').value = ''; $('kiosk-phone').value = '';
        }).catch(function (e) { $('kiosk-error').textContent = e.message; });
      });
    });
    // Appointment check-in: an ID or mobile number typed, or the appointment's QR code read
    // by the kiosk's scanner (which types the link and presses Enter).
    $('checkin').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = $('checkin-text').value.trim(), body = {};
      $('checkin-error').textContent = '';
      if (!text) { $('checkin-error').textContent = '请输入身份证号，或扫描预约二维码'; return; }
      if (/^\d{17}[\dXx]$/.test(text)) { body.id_number = text; }
      else if (/^1\d{10}$/.test(text)) { body.phone = text; }
      else { body.code = text; }
      api('POST', '/api/v1/halls/' + encodeURIComponent(hall) + '/check-in', body).then(function (t) {
        slip(t, '预约号 · 优先叫号');
        $('checkin-text').value = '';
      }).catch(function (e) { $('checkin-error').textContent = e.message; });
    });
    $('r-done').addEventListener('click', reset);
  }

  // ---- Phone page of a ticket ---------------------------------------------------------------
  var phone = $('phone');
  if (phone) {
    var tid = phone.dataset.ticket;
    var refresh = function () {
      api('GET', '/api/v1/tickets/' + tid).then(function (t) {
        $('p-status').textContent = t.status_label;
        $('p-status').dataset.status = t.status;
        $('p-wait-line').textContent = t.status === 'waiting' ? waitText(t) : '';
        $('p-window').textContent = t.window && t.status === 'called' ? '请到 ' + t.window.name + ' 办理' : '';
        if (t.status === 'called' && navigator.vibrate) { navigator.vibrate(400); }
      }).catch(function () {});
    };
    feed(phone.dataset.hall, { ticket_called: refresh, ticket_changed: refresh, queue_changed: refresh });
  }

  // ---- Display board: recent calls, spoken one after another ---------------------------------
  var board = $('board');
  if (board) {
    var queue = [], speaking = false, audio = null;
    var chime = function (done) {
      try {
        audio = audio || new (window.AudioContext || window.webkitAudioContext)();
        [660, 880].forEach(function (f, i) {
          var o = audio.createOscillator(), g = audio.createGain();
          o.frequency.value = f; o.connect(g); g.connect(audio.destination);
          g.gain.setValueAtTime(0.3, audio.currentTime + i * 0.5);
          g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.5 + 0.45);
          o.start(audio.currentTime + i * 0.5); o.stop(audio.currentTime + i * 0.5 + 0.5);
        });
      } catch (_) {}
      setTimeout(done, 1200);
    };
    var next = function () {
      if (speaking || !queue.length) { return; }
      speaking = true;
      var text = queue.shift();
      var done = function () { speaking = false; setTimeout(next, 300); };
      if (!('speechSynthesis' in window) || !window.SpeechSynthesisUtterance) { chime(done); return; }
      var u = new SpeechSynthesisUtterance(text + '，' + text);
      u.lang = 'zh-CN'; u.rate = 0.9;
      var voice = speechSynthesis.getVoices().filter(function (v) { return /^zh(-|_)?CN/i.test(v.lang); })[0];
      if (voice) { u.voice = voice; }
      // Some browsers never fire onend: a timeout keeps the queue moving.
      var guard = setTimeout(done, 12000);
      u.onend = function () { clearTimeout(guard); done(); };
      u.onerror = function () { clearTimeout(guard); chime(done); };
      speechSynthesis.speak(u);
    };
    var announce = function (text) {
      board.dataset.lastAnnouncement = text;
      board.dataset.announced = String(Number(board.dataset.announced || 0) + 1);
      queue.push(text); next();
    };
    // The server's clock, not the display PC's: the offset from the page (and each resync),
    // shown in the hall's zone (UTC+8, no daylight saving) whatever the PC's zone.
    var offset = Number(board.dataset.nowMs) - Date.now();
    var two = function (n) { return ('0' + n).slice(-2); };
    var tick = function () {
      var d = new Date(Date.now() + offset + 8 * 3600 * 1000);
      $('board-clock').textContent = d.getUTCFullYear() + '年' + (d.getUTCMonth() + 1) + '月' + d.getUTCDate() + '日 ' +
        two(d.getUTCHours()) + ':' + two(d.getUTCMinutes()) + ':' + two(d.getUTCSeconds());
    };
    tick(); setInterval(tick, 1000);
    var hallCode = board.dataset.hall;
    // One row per ticket: a recall moves the ticket's row to the top with its new time.
    var showCall = function (c) {
      var body = $('board-calls');
      var empty = body.querySelector('.empty'); if (empty) { empty.remove(); }
      var tr = body.querySelector('tr[data-ticket="' + c.ticket_id + '"]');
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.ticket = c.ticket_id;
        tr.innerHTML = '<td class="num"></td><td></td><td></td>';
      }
      tr.children[0].textContent = c.number;
      tr.children[1].textContent = c.window;
      tr.children[2].textContent = c.time;
      tr.className = '';
      void tr.offsetWidth;
      tr.className = 'fresh';
      body.insertBefore(tr, body.firstChild);
      while (body.children.length > 8) { body.removeChild(body.lastChild); }
    };
    // Every minute the board asks the server for its clock again (and the calls, should a
    // message have been lost): the dev clock may have moved, the PC's clock may drift.
    var resync = function () {
      api('GET', '/api/v1/halls/' + encodeURIComponent(hallCode) + '/board').then(function (st) {
        offset = st.now_ms - Date.now();
        tick();
        st.calls.slice().reverse().forEach(function (c) {
          var tr = $('board-calls').querySelector('tr[data-ticket="' + c.ticket_id + '"]');
          if (!tr || tr.children[2].textContent !== c.time) { showCall(c); }
        });
      }).catch(function () {});
    };
    setInterval(resync, Number(board.dataset.resyncMs || 60000));
    $('board-sound').addEventListener('click', function () {
      if (window.AudioContext || window.webkitAudioContext) { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); }
      this.hidden = true;
    });
    feed(hallCode, {
      ticket_called: function (d) {
        showCall({ ticket_id: d.ticket.id, number: d.ticket.number, window: d.window.name, time: d.time });
        announce(d.announce);
      },
      notice: function (d) { $('board-notice').textContent = d.text; }
    }, board.dataset.lastEvent);
  }

  // ---- Per-window strip ---------------------------------------------------------------------
  var strip = $('strip');
  if (strip) {
    var wid = Number(strip.dataset.window);
    feed(strip.dataset.hall, {
      ticket_called: function (d) { if (d.window && d.window.id === wid) { $('strip-number').textContent = d.ticket.number; } },
      ticket_changed: function (d) {
        if (d.window && d.window.id === wid && ['finished', 'no_show', 'waiting'].indexOf(d.status) >= 0) { $('strip-number').textContent = '—'; }
      }
    });
  }

  // ---- Clerk's workstation ------------------------------------------------------------------
  var desk = $('desk');
  if (desk) {
    var w = desk.dataset.window, current = null;
    var show = function (t) {
      current = t;
      $('desk-number').textContent = t ? t.number : '—';
      $('desk-info').textContent = t ? (t.queue_name + ' · ' + t.status_label + (t.holder ? ' · ' + t.holder : '') +
        ' · 取号 ' + t.issued_at.slice(11, 16) + ' · 已重呼 ' + t.recalls + ' 次') : '';
      var link = $('desk-case');
      link.hidden = !t;
      if (t) { link.href = '/cases/new?ticket=' + encodeURIComponent(t.number); }
      var bundle = $('desk-bundle');
      bundle.hidden = !t;
      if (t) { bundle.href = '/bundle-cases/new?ticket=' + encodeURIComponent(t.number); }
      desk.dataset.current = t ? t.id : '';
      $('desk-history').innerHTML = '';
      if (t) {
        var names = { waiting: '等候', called: '叫号', serving: '办理', parked: '挂起' };
        api('GET', '/api/v1/tickets/' + t.id).then(function (full) {
          (full.history || []).forEach(function (h) {
            var li = document.createElement('li');
            li.textContent = (names[h.kind] || h.kind) + ' ' + h.start.slice(11, 16) + (h.end ? '–' + h.end.slice(11, 16) : ' 起');
            $('desk-history').appendChild(li);
          });
        }).catch(function () {});
      }
      desk.dataset.status = t ? t.status : '';
      // A button whose action needs a ticket is enabled only with one (issue 10 item 5).
      desk.querySelectorAll('[data-needs-ticket]').forEach(function (b) {
        b.disabled = !t || (b.dataset.act === 'start' && t.status === 'serving');
      });
    };
    var load = function () {
      api('GET', '/api/v1/windows/' + w + '/tickets').then(function (v) {
        var open = v.tickets.filter(function (t) { return t.status !== 'parked'; });
        show(open.length ? open[open.length - 1] : null);
      }).catch(function () {});
    };
    var err = function (e) { $('desk-error').textContent = e.message; };
    var run = function (act) {
      $('desk-error').textContent = '';
      if (act === 'call') {
        return api('POST', '/api/v1/windows/' + w + '/call').then(function (v) {
          if (v) { show(v.ticket); } else { err(new Error('当前没有等候的号')); }
        }).catch(err);
      }
      if (!current) { return err(new Error('请先叫号')); }
      var body = act === 'transfer' ? { queue: $('desk-transfer').value } : {};
      api('POST', '/api/v1/tickets/' + current.id + '/' + act, body).then(function (t) {
        if (['finish', 'no-show', 'requeue', 'park', 'transfer'].indexOf(act) >= 0) {
          if (act === 'finish') { $('desk-finished').textContent = Number($('desk-finished').textContent) + 1; }
          if (act === 'no-show') { $('desk-no-shows').textContent = Number($('desk-no-shows').textContent) + 1; }
          show(null);
        } else { show(t); }
      }).catch(err);
    };
    desk.querySelectorAll('[data-act]').forEach(function (b) { b.addEventListener('click', function () { run(b.dataset.act); }); });
    desk.querySelectorAll('[data-session]').forEach(function (b) {
      b.addEventListener('click', function () {
        api('POST', '/api/v1/windows/' + w + '/' + b.dataset.session).then(function (v) {
          // The window's status in words; an earlier 请先签到 no longer applies (issue 10 item 5).
          var words = { open: '服务中', paused: '暂停' };
          $('desk-status').textContent = words[v.status] || '未开放';
          $('desk-error').textContent = '';
        }).catch(err);
      });
    });
    var keys = { F1: 'call', F2: 'recall', F3: 'start', F4: 'finish', F6: 'no-show', F7: 'transfer' };
    document.addEventListener('keydown', function (e) {
      if (keys[e.key]) { e.preventDefault(); run(keys[e.key]); }
    });
    load();
    feed(desk.dataset.hall, {});
  }
})();
