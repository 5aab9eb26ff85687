/* The decision-table page: dmn-js on one DMN file of a deployed bundle, drafts in localStorage,
   validate and deploy through the modeler's JSON actions with the bundle's other files. */
(function () {
  'use strict';
  var D = window.Dialflow;
  var el = D.el;
  var data = D.readJSON('dmn-data');
  var text = D.readJSON('dmn-text');
  var draftKey = 'dialflow.decisions.draft.' + data.process_id + '.' + data.file_name;
  var loading = true;
  var watched = [];

  var modeler = new window.DmnJS({ container: '#dmn-canvas' });

  function readDraft() {
    try { return JSON.parse(window.localStorage.getItem(draftKey) || 'null'); } catch (e) { return null; }
  }

  function saveDraft() {
    if (loading) return;
    modeler.saveXML({ format: true }).then(function (result) {
      var draft = { xml: result.xml, base_version: data.version, saved_at: new Date().toISOString() };
      window.localStorage.setItem(draftKey, JSON.stringify(draft));
      document.getElementById('draft-state').textContent = text.draft_saved + ' · ' + new Date().toLocaleTimeString();
      document.body.setAttribute('data-draft-saved', draft.saved_at);
    });
  }

  function status(message, kind) {
    var box = document.getElementById('status');
    box.hidden = !message;
    box.className = 'panel status ' + (kind || '');
    box.textContent = message || '';
  }

  function showProblems(details) {
    var list = document.getElementById('problem-list');
    list.innerHTML = '';
    details.forEach(function (problem) {
      list.appendChild(el('li', { 'data-element-id': problem.element_id || '' }, [
        el('span', { className: 'problem-element mono', text: problem.element_id || problem.file || '' }),
        el('span', { className: 'problem-message', text: problem.message }),
        problem.line ? el('span', { className: 'muted small', text: ' · ' + text.problem_line.replace('{line}', problem.line) }) : null,
      ]));
    });
    document.getElementById('problem-count').textContent = details.length;
    document.getElementById('problems').hidden = details.length === 0;
  }

  /* Tabs for the file's views: its decision tables first, then the requirements diagram. */
  function renderViews(views, active) {
    var nav = document.getElementById('dmn-views');
    nav.innerHTML = '';
    views.forEach(function (view) {
      var label = view.type === 'drd' ? text.diagram : (view.element.name || view.element.id);
      nav.appendChild(el('button', {
        type: 'button',
        className: 'dmn-view' + (view === active ? ' active' : ''),
        'data-view-type': view.type,
        'data-element-id': view.element.id,
        text: label,
        onclick: function () { modeler.open(view); },
      }));
    });
  }

  modeler.on('views.changed', function (event) {
    renderViews(event.views, event.activeView);
    var viewer = modeler.getActiveViewer();
    if (viewer && watched.indexOf(viewer) < 0) {
      watched.push(viewer);
      viewer.on('elements.changed', saveDraft);
    }
  });

  function payload() {
    return modeler.saveXML({ format: true }).then(function (result) {
      var dmn = Object.assign({}, data.bundle.dmn);
      dmn[data.file_name] = result.xml;
      return { bpmn: data.bundle.bpmn, dmn: dmn, forms: data.bundle.forms };
    });
  }

  function send(url) {
    status('');
    return payload().then(function (body) { return D.requestJSON('POST', url, body); }).then(function (result) {
      if (result.status >= 400) {
        var error = result.body.error || {};
        showProblems((error.details || []).filter(function (d) { return d.message; }));
        status(error.code === 'invalid_bpmn' ? text.problems : (error.message || text.failed), 'error');
        return null;
      }
      showProblems([]);
      return result;
    }, function () { status(text.failed, 'error'); return null; });
  }

  document.getElementById('validate').addEventListener('click', function () {
    send(data.urls.validate).then(function (result) { if (result) status(text.valid, 'ok'); });
  });

  document.getElementById('deploy').addEventListener('click', function () {
    send(data.urls.deploy).then(function (result) {
      if (!result) return;
      window.localStorage.removeItem(draftKey);
      var version = result.body.versions[data.process_id] || result.body.version;
      status(result.body.created ? text.deployed : text.unchanged, 'ok');
      window.location.href = data.urls.versions + '?deployed=' + version;
    });
  });

  document.getElementById('download-xml').addEventListener('click', function () {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = el('a', { href: URL.createObjectURL(new Blob([result.xml], { type: 'application/xml' })), download: data.file_name });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });

  document.getElementById('discard-draft').addEventListener('click', function () {
    window.localStorage.removeItem(draftKey);
    window.location.reload();
  });

  var draft = readDraft();
  var xml = data.xml;
  if (draft && draft.xml !== data.xml) {
    xml = draft.xml;
    document.getElementById('draft-notice-text').textContent =
      text.draft_restored.replace('{time}', new Date(draft.saved_at).toLocaleString());
    document.getElementById('draft-notice').hidden = false;
  }
  modeler.importXML(xml).then(function (result) {
    var table = modeler.getViews().filter(function (view) { return view.type === 'decisionTable'; })[0];
    var opened = table && table !== modeler.getActiveView() ? modeler.open(table) : Promise.resolve();
    return opened.then(function () {
      loading = false;
      if (result.warnings && result.warnings.length && window.console) console.warn(result.warnings);
      document.body.setAttribute('data-dmn-ready', '1');
    });
  }).catch(function (error) {
    loading = false;
    status(error.message, 'error');
    document.body.setAttribute('data-dmn-ready', 'error');
  });
  window.dialflowDmn = modeler; // for the browser tests and the curious
})();
