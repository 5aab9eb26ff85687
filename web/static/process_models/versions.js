/* The versions page: visual diff of two versions and moving running instances. */
(function () {
  'use strict';
  var D = window.Dialflow;
  var el = D.el;
  var data = D.readJSON('versions-data');
  var text = D.readJSON('versions-text');
  var viewers = {};

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function viewer(id) {
    if (!viewers[id]) viewers[id] = new window.BpmnJS({ container: '#' + id });
    return viewers[id];
  }

  function show(id, version) {
    var v = viewer(id);
    return fetch(data.urls.xml.replace('__V__', version), { credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (xml) { return window.Dialflow.withLayout(xml); })
      .then(function (xml) { return v.importXML(xml); })
      .then(function () { v.get('canvas').zoom('fit-viewport', 'auto'); return v; });
  }

  function compare() {
    var from = document.querySelector('input[name="diff-from"]:checked');
    var to = document.querySelector('input[name="diff-to"]:checked');
    if (!from || !to) return;
    var list = document.getElementById('diff-list');
    list.innerHTML = '';
    document.getElementById('diff-before-title').textContent = fmt(text.version, { n: from.value });
    document.getElementById('diff-after-title').textContent = fmt(text.version, { n: to.value });
    var url = data.urls.diff + '?from=' + from.value + '&to=' + to.value;
    Promise.all([show('diff-before', from.value), show('diff-after', to.value), D.requestJSON('GET', url)])
      .then(function (results) {
        var before = results[0], after = results[1], diff = results[2].body;
        D.mark(before, diff.removed.map(function (e) { return e.element_id; }), 'df-removed');
        D.mark(after, diff.added.map(function (e) { return e.element_id; }), 'df-added');
        var changed = diff.changed.map(function (e) { return e.element_id; });
        D.mark(before, changed, 'df-changed');
        D.mark(after, changed, 'df-changed');
        var rows = [].concat(
          diff.added.map(function (e) { return [e, 'added']; }),
          diff.removed.map(function (e) { return [e, 'removed']; }),
          diff.changed.map(function (e) { return [e, 'changed']; }));
        if (!rows.length) list.appendChild(el('li', { className: 'muted', text: text.no_changes }));
        rows.forEach(function (row) {
          var e = row[0];
          var details = (e.changes || []).map(function (c) {
            return el('div', { className: 'change mono small' }, [
              el('strong', { text: c.what + ': ' }),
              el('del', { text: c.before === null ? '—' : c.before }), ' → ',
              el('ins', { text: c.after === null ? '—' : c.after })]);
          });
          list.appendChild(el('li', { 'data-element-id': e.element_id }, [
            el('span', { className: 'swatch ' + row[1] }),
            el('span', { className: 'mono', text: e.element_id }), ' ',
            el('span', { text: (e.name || e.type) + ' · ' + text[row[1]] }),
          ].concat(details)));
        });
      });
  }

  /* --- migration ----------------------------------------------------------------------- */

  var latest = data.versions[0];
  var movable = [];

  function check(version) {
    var panel = document.getElementById('migration');
    panel.hidden = false;
    panel.setAttribute('data-from', version);
    document.getElementById('migration-title').textContent = fmt(text.check_title, { from: version, to: latest });
    var body = document.querySelector('#migration-table tbody');
    body.innerHTML = '';
    D.requestJSON('POST', data.urls.check.replace('__V__', version), { to_version: latest }).then(function (result) {
      movable = [];
      (result.body.items || []).forEach(function (item) {
        var reasons = item.blockers.map(function (b) { return b.message; }).join('; ');
        var button = item.can_move ? el('button', { type: 'button', className: 'button small', text: text.move, onclick: function () { move([item.id]); } }) : null;
        if (item.can_move) movable.push(item.id);
        body.appendChild(el('tr', { 'data-instance': item.id }, [
          el('td', {}, [el('a', { href: data.urls.instance.replace('__ID__', item.id), text: '#' + item.id })]),
          el('td', { className: 'can-move', text: item.can_move ? text.yes : text.no }),
          el('td', { className: 'reason', text: reasons }),
          el('td', {}, [button]),
        ]));
      });
    });
  }

  function move(ids) {
    var progress = document.querySelector('#migration .progress');
    var bar = progress.querySelector('.progress-bar');
    var label = progress.querySelector('.progress-text');
    progress.hidden = false;
    var done = 0;
    var next = function () {
      bar.style.width = Math.round(100 * done / ids.length) + '%';
      label.textContent = fmt(text.progress, { done: done, total: ids.length });
      if (done >= ids.length) return;
      var id = ids[done];
      var row = document.querySelector('#migration-table tr[data-instance="' + id + '"]');
      D.requestJSON('POST', data.urls.migrate.replace('__ID__', id), { to_version: latest }).then(function (result) {
        if (row) {
          var ok = result.status === 200;
          row.querySelector('.can-move').textContent = ok ? text.moved : text.no;
          row.classList.add(ok ? 'moved' : 'refused');
          if (!ok) {
            var error = result.body.error || {};
            var reasons = (error.details || []).map(function (d) { return d.message; }).join('; ');
            row.querySelector('.reason').textContent = reasons || error.message || '';
          }
          var button = row.querySelector('button');
          if (button) button.remove();
        }
        done += 1;
        next();
      });
    };
    next();
  }

  document.getElementById('show-diff').addEventListener('click', compare);
  document.getElementById('migrate-all').addEventListener('click', function () { move(movable.slice()); });
  Array.prototype.forEach.call(document.querySelectorAll('[data-check]'), function (button) {
    button.addEventListener('click', function () { check(button.getAttribute('data-check')); });
  });
  if (data.versions.length > 1) compare();
})();
