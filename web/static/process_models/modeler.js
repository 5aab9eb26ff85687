/* The modeler page: bpmn-js with our properties form, drafts in localStorage, validation
   problems marked on the canvas, deploy. */
(function () {
  'use strict';
  var D = window.Dialflow;
  var el = D.el;
  var data = D.readJSON('modeler-data');
  var text = D.readJSON('modeler-text');
  var draftKey = 'dialflow.modeler.draft.' + (data.process_id || 'new');
  var forms = JSON.parse(JSON.stringify(data.forms || {}));
  var dmn = JSON.parse(JSON.stringify(data.dmn || {}));
  var overlayIds = [];
  var problemIds = [];
  var warningIds = [];
  var loading = true;

  var modeler = new window.BpmnJS({
    container: '#canvas',
    moddleExtensions: { spiffworkflow: window.DialflowSpiffModdle },
  });
  new window.DialflowPropertiesForm(modeler, document.getElementById('properties'), {
    text: text, handlers: data.handlers, forms: forms, onFormsChanged: saveDraft,
  });

  function readDraft() {
    try { return JSON.parse(window.localStorage.getItem(draftKey) || 'null'); } catch (e) { return null; }
  }

  function saveDraft() {
    if (loading) return;
    modeler.saveXML({ format: true }).then(function (result) {
      var draft = { xml: result.xml, forms: forms, dmn: dmn, base_version: data.version, saved_at: new Date().toISOString() };
      window.localStorage.setItem(draftKey, JSON.stringify(draft));
      document.getElementById('draft-state').textContent = text.draft_saved + ' · ' + new Date().toLocaleTimeString();
    });
  }

  function discardDraft() {
    window.localStorage.removeItem(draftKey);
    window.location.reload();
  }

  function status(message, kind) {
    var box = document.getElementById('status');
    box.hidden = !message;
    box.className = 'panel status ' + (kind || '');
    box.textContent = message || '';
  }

  function clearProblems() {
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    overlayIds.forEach(function (id) { overlays.remove(id); });
    problemIds.forEach(function (id) { canvas.removeMarker(id, 'df-problem'); });
    warningIds.forEach(function (id) { canvas.removeMarker(id, 'df-warning'); });
    overlayIds = [];
    problemIds = [];
    warningIds = [];
    document.getElementById('problems').hidden = true;
    document.getElementById('problem-list').innerHTML = '';
  }

  /* In a collaboration a process has no shape of its own: its pool stands for it. */
  function poolOf(registry, processId) {
    return registry.filter(function (element) {
      var ref = element.type === 'bpmn:Participant' && element.businessObject.processRef;
      return ref && ref.id === processId;
    })[0];
  }

  /* A problem list entry that selects its element on the canvas when clicked. */
  function selecting(item, element) {
    if (element) {
      item.classList.add('clickable');
      item.addEventListener('click', function () {
        modeler.get('selection').select(element);
        modeler.get('canvas').scrollToElement(element);
      });
    }
    return item;
  }

  function showProblems(details) {
    clearProblems();
    var registry = modeler.get('elementRegistry');
    var overlays = modeler.get('overlays');
    var canvas = modeler.get('canvas');
    var list = document.getElementById('problem-list');
    var counts = {};
    details.forEach(function (problem) {
      var element = problem.element_id && (registry.get(problem.element_id) || poolOf(registry, problem.element_id));
      if (element && element.type !== 'bpmn:Process' && element.type !== 'bpmn:Collaboration') {
        if (problemIds.indexOf(element.id) < 0) {
          canvas.addMarker(element.id, 'df-problem');
          problemIds.push(element.id);
        }
        counts[element.id] = (counts[element.id] || 0) + 1;
        overlayIds.push(overlays.add(element.id, 'df-problem', {
          position: { top: -10, right: 10 + 20 * (counts[element.id] - 1) },
          html: el('div', { className: 'df-problem-badge', title: problem.message, text: '!' }),
        }));
      }
      var item = el('li', { 'data-element-id': problem.element_id || '' }, [
        el('span', { className: 'problem-element mono', text: problem.element_id || (problem.file || '') }),
        el('span', { className: 'problem-message', text: problem.message.replace(/^[^:]+\.bpmn: /, '') }),
        problem.line ? el('span', { className: 'muted small', text: ' · ' + text.problem_line.replace('{line}', problem.line) }) : null,
      ]);
      list.appendChild(selecting(item, element));
    });
    document.getElementById('problem-count').textContent = details.length;
    document.getElementById('problems').hidden = details.length === 0;
  }

  function payload() {
    return modeler.saveXML({ format: true }).then(function (result) {
      var bpmn = {};
      bpmn[fileName()] = result.xml;
      return { bpmn: bpmn, dmn: dmn, forms: forms };
    });
  }

  /* The process the file is named after: from the imported definitions (any namespace
     prefix), preferring an executable process. */
  function definedProcessId() {
    var definitions = modeler.getDefinitions && modeler.getDefinitions();
    var processes = ((definitions && definitions.rootElements) || []).filter(function (element) {
      return element.$type === 'bpmn:Process';
    });
    var chosen = processes.filter(function (p) { return p.isExecutable; })[0] || processes[0];
    return chosen ? chosen.id : null;
  }

  function fileName() {
    var processId = definedProcessId();
    var definitions = modeler.getDefinitions && modeler.getDefinitions();
    var keepsOwn = data.process_id && ((definitions && definitions.rootElements) || []).some(function (element) {
      return element.$type === 'bpmn:Process' && element.id === data.process_id;
    });
    if (keepsOwn) return data.file_name;
    return (processId || 'process') + '.bpmn';
  }

  /* A BPMN file from another tool (or a download of ours) replaces the diagram and becomes
     the draft; nothing is sent to the server until validate or deploy. */
  /* The decision tables sent with the diagram: the version's own, plus uploaded ones. */
  function renderDmn() {
    var list = document.getElementById('dmn-list');
    list.innerHTML = '';
    var names = Object.keys(dmn).sort();
    names.forEach(function (name) {
      list.appendChild(el('li', { 'data-file': name }, [
        el('span', { className: 'mono', text: name }),
        el('button', { type: 'button', className: 'button small', text: text.remove, onclick: function () {
          delete dmn[name];
          renderDmn();
          saveDraft();
        } }),
      ]));
    });
    document.getElementById('dmn-empty').hidden = names.length > 0;
  }

  function addDmn(file) {
    if (!/\.dmn$/i.test(file.name)) {
      status(text.not_dmn.replace('{file}', file.name), 'error');
      return;
    }
    file.text().then(function (xml) {
      dmn[file.name] = xml;
      renderDmn();
      saveDraft();
      status(text.dmn_added.replace('{file}', file.name), 'ok');
    });
  }

  function openFile(file) {
    if (!file) return;
    if (/\.dmn$/i.test(file.name)) { addDmn(file); return; }
    status('');
    file.text().then(function (xml) {
      return window.Dialflow.withLayout(xml).then(function (laidOut) {
        loading = true;
        return modeler.importXML(laidOut);
      });
    }).then(function (result) {
      loading = false;
      clearProblems();
      modeler.get('canvas').zoom('fit-viewport', 'auto');
      if (result.warnings && result.warnings.length && window.console) console.warn(result.warnings);
      status(text.opened.replace('{file}', file.name), 'ok');
      document.body.setAttribute('data-opened-file', file.name);
      saveDraft();
    }, function (error) {
      loading = false;
      status(text.open_failed.replace('{file}', file.name) + ' ' + (error && error.message ? error.message : ''), 'error');
    });
  }

  function send(url) {
    status('');
    return payload().then(function (body) { return D.requestJSON('POST', url, body); }).then(function (result) {
      if (result.status === 422 && result.body.error && result.body.error.code === 'invalid_bpmn') {
        showProblems(result.body.error.details || []);
        status(text.problems, 'error');
        return null;
      }
      if (result.status >= 400) {
        var message = result.body.error ? result.body.error.message : text.failed;
        showProblems(result.body.error && result.body.error.details ? result.body.error.details.filter(function (d) { return d.message; }) : []);
        status(message, 'error');
        return null;
      }
      clearProblems();
      return result;
    }, function () { status(text.failed, 'error'); return null; });
  }

  /* The validate answer's warnings (lanes that name no role and no team): listed and marked
     like problems, but the diagram can be deployed as it is. */
  function showWarnings(warnings) {
    var registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas');
    var list = document.getElementById('problem-list');
    warnings.forEach(function (warning) {
      var element = warning.element_id && registry.get(warning.element_id);
      var name = element && element.businessObject.name ? element.businessObject.name : warning.element_id;
      if (element) {
        canvas.addMarker(element.id, 'df-warning');
        warningIds.push(element.id);
      }
      var item = el('li', { className: 'warning', 'data-element-id': warning.element_id || '' }, [
        el('span', { className: 'problem-element mono', text: warning.element_id || '' }),
        el('span', { className: 'problem-message', text: text.lane_of_nobody.replace('{lane}', name) }),
      ]);
      list.appendChild(selecting(item, element));
    });
    document.getElementById('problem-count').textContent = warnings.length;
    document.getElementById('problems').hidden = warnings.length === 0;
  }

  document.getElementById('validate').addEventListener('click', function () {
    send(data.urls.validate).then(function (result) {
      if (!result) return;
      var warnings = result.body.warnings || [];
      showWarnings(warnings);
      status(warnings.length ? text.valid_with_warnings : text.valid, 'ok');
    });
  });

  document.getElementById('deploy').addEventListener('click', function () {
    send(data.urls.deploy).then(function (result) {
      if (!result) return;
      window.localStorage.removeItem(draftKey);
      var processId = result.body.process_ids[0];
      var version = result.body.versions[processId];
      status(result.body.created ? text.deployed : text.unchanged, 'ok');
      window.location.href = data.urls.versions.replace('__PID__', encodeURIComponent(processId)) + '?deployed=' + version;
    });
  });

  document.getElementById('download-xml').addEventListener('click', function () {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = el('a', { href: URL.createObjectURL(new Blob([result.xml], { type: 'application/xml' })), download: fileName() });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });

  document.getElementById('discard-draft').addEventListener('click', discardDraft);

  var fileInput = document.getElementById('open-file');
  fileInput.addEventListener('change', function () {
    openFile(fileInput.files[0]);
    fileInput.value = '';
  });
  var dmnInput = document.getElementById('open-dmn');
  dmnInput.addEventListener('change', function () {
    Array.prototype.forEach.call(dmnInput.files, addDmn);
    dmnInput.value = '';
  });
  var dropZone = document.querySelector('.modeler-layout');
  dropZone.addEventListener('dragover', function (event) {
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], 'Files') >= 0) {
      event.preventDefault();
      dropZone.classList.add('drop-target');
    }
  });
  dropZone.addEventListener('dragleave', function () { dropZone.classList.remove('drop-target'); });
  dropZone.addEventListener('drop', function (event) {
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    dropZone.classList.remove('drop-target');
    openFile(event.dataTransfer.files[0]);
  });

  modeler.on('commandStack.changed', saveDraft);

  var draft = readDraft();
  var xml = data.xml;
  if (draft && (draft.xml !== data.xml || JSON.stringify(draft.forms) !== JSON.stringify(data.forms) ||
      (draft.dmn && JSON.stringify(draft.dmn) !== JSON.stringify(data.dmn || {})))) {
    xml = draft.xml;
    Object.keys(forms).forEach(function (k) { delete forms[k]; });
    Object.assign(forms, draft.forms || {});
    if (draft.dmn) {
      Object.keys(dmn).forEach(function (k) { delete dmn[k]; });
      Object.assign(dmn, draft.dmn);
    }
    var notice = text.draft_restored.replace('{time}', new Date(draft.saved_at).toLocaleString());
    if (data.version && draft.base_version && draft.base_version !== data.version) {
      notice += ' ' + text.draft_other_version
        .replace('{draft}', draft.base_version).replace('{version}', data.version);
      document.getElementById('draft-notice').classList.add('warning');
      document.getElementById('draft-notice').setAttribute('data-other-version', draft.base_version);
    }
    document.getElementById('draft-notice-text').textContent = notice;
    document.getElementById('draft-notice').hidden = false;
  }
  renderDmn();
  window.Dialflow.withLayout(xml).then(function (laidOut) {
    return modeler.importXML(laidOut);
  }).then(function (result) {
    loading = false;
    modeler.get('canvas').zoom('fit-viewport', 'auto');
    if (result.warnings && result.warnings.length && window.console) console.warn(result.warnings);
    document.body.setAttribute('data-modeler-ready', '1');
  }, function (error) {
    loading = false;
    status(error.message, 'error');
    document.body.setAttribute('data-modeler-ready', 'error');
  });
  window.dialflowModeler = modeler; // for the browser tests and the curious
})();
