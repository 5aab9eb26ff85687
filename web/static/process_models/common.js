/* Shared by the process-model pages: JSON requests with the session's CSRF token, and
   markers on a bpmn-js canvas. */
(function () {
  'use strict';

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : '';
  }

  /* POST (or GET without body) JSON; resolves {status, body} for any HTTP status. */
  function requestJSON(method, url, body) {
    var options = {
      method: method,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
    };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'className') node.className = attrs[key];
      else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), attrs[key]);
      else if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? '' : attrs[key]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* Add `marker` to each element id present on the canvas; returns the ids found. */
  function mark(viewer, ids, marker) {
    var registry = viewer.get('elementRegistry');
    var canvas = viewer.get('canvas');
    return (ids || []).filter(function (id) {
      if (!registry.get(id)) return false;
      canvas.addMarker(id, marker);
      return true;
    });
  }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  /* Diagrams without layout (DI) would draw nothing: lay them out first (bpmn-auto-layout).
     Resolves the XML to import; a diagram that has its layout is left untouched. */
  function withLayout(xml) {
    if (/<([\w-]+:)?BPMNShape[\s>]/.test(xml) || !window.BpmnAutoLayout) {
      return Promise.resolve(xml);
    }
    return window.BpmnAutoLayout.layoutProcess(xml).catch(function () { return xml; });
  }

  window.Dialflow = {
    requestJSON: requestJSON, el: el, mark: mark, readJSON: readJSON, withLayout: withLayout,
  };
})();
