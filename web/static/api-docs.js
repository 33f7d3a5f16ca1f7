// Renders the OpenAPI document as a readable list, grouped by tag. No external libraries.
(function () {
  var root = document.getElementById('api-docs');
  if (!root) return;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function resolve(doc, s) {
    if (s && s.$ref) {
      var parts = s.$ref.replace(/^#\//, '').split('/');
      var cur = doc;
      parts.forEach(function (p) { cur = cur && cur[p]; });
      return cur || s;
    }
    return s;
  }
  function schemaText(doc, s, depth) {
    s = resolve(doc, s || {});
    depth = depth || 0;
    if (depth > 4) return '…';
    if (s.type === 'array') return '[' + schemaText(doc, s.items, depth + 1) + ']';
    if (s.type === 'object' || s.properties) {
      var req = s.required || [];
      var lines = Object.keys(s.properties || {}).map(function (k) {
        var p = s.properties[k];
        var pad = new Array(depth + 2).join('  ');
        return pad + k + (req.indexOf(k) >= 0 ? '' : '?') + ': ' + schemaText(doc, p, depth + 1) +
          (resolve(doc, p).description ? '  // ' + resolve(doc, p).description : '');
      });
      return '{\n' + lines.join('\n') + '\n' + new Array(depth + 1).join('  ') + '}';
    }
    if (s.enum) return s.enum.map(JSON.stringify).join(' | ');
    return s.type || (s.oneOf ? 'oneOf' : 'any');
  }
  fetch('/api/v1/openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    root.innerHTML = '';
    var groups = {};
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      var item = doc.paths[path];
      ['get', 'post', 'put', 'patch', 'delete'].forEach(function (m) {
        if (!item[m]) return;
        var op = item[m];
        var tag = (op.tags && op.tags[0]) || '其他';
        (groups[tag] = groups[tag] || []).push({ path: path, method: m, op: op });
      });
    });
    Object.keys(groups).forEach(function (tag) {
      var sec = el('section', 'card');
      sec.appendChild(el('h2', null, tag));
      groups[tag].forEach(function (e) {
        var d = el('details', 'api-op');
        var s = el('summary');
        s.appendChild(el('code', 'api-method api-' + e.method, e.method.toUpperCase()));
        s.appendChild(el('code', 'api-path', ' ' + e.path + ' '));
        s.appendChild(el('span', null, e.op.summary || ''));
        if (e.op.security && e.op.security.length === 0) s.appendChild(el('span', 'badge', '无需登录'));
        d.appendChild(s);
        if (e.op.description) d.appendChild(el('p', null, e.op.description));
        (e.op.parameters || []).forEach(function (p) {
          p = resolve(doc, p);
          d.appendChild(el('div', 'muted', (p.in === 'path' ? '路径参数 ' : '查询参数 ') + p.name + (p.required ? '（必填）' : '') + (p.description ? '：' + p.description : '')));
        });
        var body = e.op.requestBody && e.op.requestBody.content;
        if (body) {
          var ct = Object.keys(body)[0];
          d.appendChild(el('div', null, '请求体（' + ct + '）：'));
          d.appendChild(el('pre', null, schemaText(doc, body[ct].schema)));
        }
        Object.keys(e.op.responses || {}).forEach(function (code) {
          var r = resolve(doc, e.op.responses[code]);
          var line = el('div', null, code + ' ' + (r.description || ''));
          d.appendChild(line);
          var c = r.content && (r.content['application/json'] || r.content['application/problem+json']);
          if (c && c.schema) d.appendChild(el('pre', null, schemaText(doc, c.schema)));
        });
        sec.appendChild(d);
      });
      root.appendChild(sec);
    });
  }).catch(function () {
    root.innerHTML = '<p class="field-error">无法加载接口文档。</p>';
  });
})();
