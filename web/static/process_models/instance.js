/* The instance view: the diagram with the path taken, current tasks, waits and incidents. */
(function () {
  'use strict';
  var D = window.Dialflow;
  var el = D.el;
  var data = D.readJSON('instance-data');
  var viewer = new window.BpmnJS({ container: '#instance-canvas' });

  D.withLayout(data.xml).then(function (xml) {
    return viewer.importXML(xml);
  }).then(function () {
    var states = data.states;
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    D.mark(viewer, states.completed, 'df-done');
    D.mark(viewer, states.flows, 'df-done');
    D.mark(viewer, states.ready, 'df-ready');
    D.mark(viewer, states.waiting, 'df-waiting');
    D.mark(viewer, states.error, 'df-removed');
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    data.incidents.forEach(function (incident) {
      if (!incident.element_id || !registry.get(incident.element_id)) return;
      var children = [el('div', { className: 'incident-message', text: incident.message })];
      if (incident.retry_refused) {
        children.push(el('div', { className: 'incident-retry-refused', text: incident.retry_refused }));
      } else if (data.may_retry) {
        children.push(el('button', {
          type: 'button', className: 'button small danger', text: data.text.retry,
          onclick: function (event) {
            var button = event.target;
            button.disabled = true;
            button.textContent = data.text.retrying;
            D.requestJSON('POST', data.urls.retry).then(function (answer) {
              if (answer.status < 400) { window.location.reload(); return; }
              button.replaceWith(el('div', {
                className: 'incident-retry-refused', text: (answer.body.error || {}).message || '',
              }));
            });
          },
        }));
      }
      overlays.add(incident.element_id, { position: { bottom: -8, left: 0 }, html: el('div', { className: 'df-incident' }, children) });
    });
    document.body.setAttribute('data-viewer-ready', '1');
  }, function (error) {
    document.getElementById('instance-canvas').textContent = error.message;
  });
})();
