/* The modeler's properties form: what Dialflow executes for the selected element.
   Every edit goes through bpmn-js's modeling API, so it is undoable and ends up in the XML. */
(function () {
  'use strict';
  var el = window.Dialflow.el;
  var SPIFF = 'spiffworkflow:';
  var TIMER_TYPES = ['timeDate', 'timeDuration', 'timeCycle'];

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function PropertiesForm(modeler, container, ctx) {
    this.modeler = modeler;
    this.container = container;
    this.ctx = ctx; // {text, handlers, forms, onFormsChanged}
    this.modeling = modeler.get('modeling');
    this.moddle = modeler.get('moddle');
    this.registry = modeler.get('elementRegistry');
    this.canvas = modeler.get('canvas');
    var self = this;
    var selected = null;
    modeler.on('selection.changed', function (event) {
      selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      self.render(selected);
    });
    modeler.on('elements.changed', function (event) {
      var current = selected && self.registry.get(selected.id);
      if (current && event.elements.indexOf(current) >= 0 && !self.editing) self.render(current);
    });
    modeler.on('import.done', function () { self.render(null); });
  }

  PropertiesForm.prototype.t = function (key) { return this.ctx.text[key] || key; };

  PropertiesForm.prototype.render = function (element) {
    var c = this.container;
    c.innerHTML = '';
    if (!element || element.type === 'label') {
      element = this.canvas.getRootElement();
    }
    var bo = element && element.businessObject;
    if (!bo) return; // nothing imported yet
    if (is(bo, 'bpmn:Collaboration') || is(bo, 'bpmn:Process') || is(bo, 'bpmn:Participant')) {
      this.renderProcess(c, element);
      c.appendChild(el('p', { className: 'muted small', text: this.t('nothing') }));
      return;
    }
    c.appendChild(el('h2', { text: this.t('element') + ' · ' + bo.$type.replace('bpmn:', '') }));
    c.appendChild(this.field(this.t('id'), el('input', { type: 'text', value: bo.id, readonly: true, className: 'mono' })));
    if (!is(bo, 'bpmn:Lane')) {
      c.appendChild(this.textField('name', this.t('name'), bo.name || '', function (value) {
        this.modeling.updateProperties(element, { name: value || undefined });
      }));
    }
    if (is(bo, 'bpmn:FlowNode')) this.renderLane(c, element);
    if (is(bo, 'bpmn:UserTask')) this.renderUserTask(c, element);
    if (is(bo, 'bpmn:ServiceTask')) this.renderServiceTask(c, element);
    if (is(bo, 'bpmn:ScriptTask')) this.renderScript(c, element);
    if (is(bo, 'bpmn:BusinessRuleTask')) this.renderDecision(c, element);
    if (is(bo, 'bpmn:SequenceFlow')) this.renderFlow(c, element);
    if (is(bo, 'bpmn:Gateway')) this.renderGateway(c, element);
    var definitions = bo.eventDefinitions || [];
    var self = this;
    definitions.forEach(function (definition) {
      if (is(definition, 'bpmn:TimerEventDefinition')) self.renderTimer(c, element, definition);
      if (is(definition, 'bpmn:MessageEventDefinition')) self.renderMessage(c, element, definition);
    });
    if (is(bo, 'bpmn:ReceiveTask') || is(bo, 'bpmn:SendTask')) this.renderMessage(c, element, bo);
  };

  /* --- building blocks ------------------------------------------------------------------ */

  PropertiesForm.prototype.field = function (label, input, hint) {
    var id = 'prop-' + Math.random().toString(36).slice(2, 9);
    input.id = input.id || id;
    return el('div', { className: 'field' }, [
      el('label', { for: input.id, text: label }), input,
      hint ? el('div', { className: 'hint', text: hint }) : null,
    ]);
  };

  PropertiesForm.prototype.textField = function (name, label, value, apply, options) {
    options = options || {};
    var self = this;
    var input = el(options.multiline ? 'textarea' : 'input', {
      type: options.multiline ? undefined : 'text',
      name: name, className: options.mono ? 'mono' : undefined,
      rows: options.multiline ? (options.rows || 6) : undefined,
      placeholder: options.placeholder,
      'data-prop': name,
    });
    input.value = value;
    input.addEventListener('change', function () {
      self.editing = true;
      try { apply.call(self, input.value); } finally { self.editing = false; }
    });
    return this.field(label, input, options.hint);
  };

  PropertiesForm.prototype.select = function (name, label, options, value, apply, hint) {
    var self = this;
    var select = el('select', { name: name, 'data-prop': name }, options.map(function (o) {
      return el('option', { value: o[0], text: o[1], selected: o[0] === value });
    }));
    select.addEventListener('change', function () { apply.call(self, select.value, select); });
    return this.field(label, select, hint);
  };

  PropertiesForm.prototype.section = function (c, title) {
    var s = el('div', { className: 'prop-section' }, [el('h3', { text: title })]);
    c.appendChild(s);
    return s;
  };

  PropertiesForm.prototype.expression = function (body) {
    return this.moddle.create('bpmn:FormalExpression', { body: body });
  };

  function extensionValues(bo) {
    return (bo.extensionElements && bo.extensionElements.values) || [];
  }

  function findExtension(bo, type) {
    return extensionValues(bo).filter(function (v) { return v.$type === type; })[0];
  }

  /* Replace (or with `value` null remove) the extension element of `type` on `bo`. */
  PropertiesForm.prototype.setExtension = function (element, bo, type, value) {
    var others = extensionValues(bo).filter(function (v) { return v.$type !== type; });
    var values = value ? others.concat([value]) : others;
    var ext = values.length ? this.moddle.create('bpmn:ExtensionElements', { values: values }) : undefined;
    if (ext) values.forEach(function (v) { v.$parent = ext; });
    this.modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  };

  PropertiesForm.prototype.bodyExtension = function (element, bo, type, text) {
    this.setExtension(element, bo, type, text ? this.moddle.create(type, { value: text }) : null);
  };

  /* --- process ---------------------------------------------------------------------------- */

  /* The process to edit: the selected pool's own process, else the diagram's (a
     collaboration's first pool that has one). */
  PropertiesForm.prototype.process = function (element) {
    var selected = element && element.businessObject;
    if (is(selected, 'bpmn:Participant')) {
      return selected.processRef ? { element: element, bo: selected.processRef } : null;
    }
    var root = this.canvas.getRootElement();
    var bo = root.businessObject;
    if (is(bo, 'bpmn:Collaboration')) {
      var participant = (bo.participants || []).filter(function (p) { return p.processRef; })[0];
      return participant ? { element: this.registry.get(participant.id), bo: participant.processRef } : null;
    }
    return { element: root, bo: bo };
  };

  PropertiesForm.prototype.renderProcess = function (c, element) {
    var p = this.process(element);
    if (!p) return;
    var self = this;
    c.appendChild(el('h2', { text: this.t('process') }));
    c.appendChild(this.textField('process_id', this.t('process_id'), p.bo.id, function (value) {
      if (/^[A-Za-z_][\w.-]*$/.test(value)) self.modeling.updateModdleProperties(p.element, p.bo, { id: value });
    }, { mono: true }));
    c.appendChild(this.textField('process_name', this.t('name'), p.bo.name || '', function (value) {
      self.modeling.updateModdleProperties(p.element, p.bo, { name: value || undefined });
    }));
    var box = el('input', { type: 'checkbox', name: 'executable', checked: p.bo.isExecutable !== false });
    box.addEventListener('change', function () {
      self.modeling.updateModdleProperties(p.element, p.bo, { isExecutable: box.checked });
    });
    c.appendChild(el('label', { className: 'check' }, [box, ' ' + this.t('executable')]));
  };

  /* --- lanes: moving the shape into the lane's band keeps the picture and flowNodeRef true - */

  PropertiesForm.prototype.renderLane = function (c, element) {
    var lanes = this.registry.filter(function (e) { return e.type === 'bpmn:Lane'; });
    if (!lanes.length || element.waypoints || !element.parent) return;
    var current = lanes.filter(function (lane) {
      return (lane.businessObject.flowNodeRef || []).indexOf(element.businessObject) >= 0;
    })[0];
    var options = lanes.map(function (lane) { return [lane.id, lane.businessObject.name || lane.id]; });
    c.appendChild(this.select('lane', this.t('lane'), options, current ? current.id : '', function (laneId) {
      var lane = this.registry.get(laneId);
      var centre = element.y + element.height / 2;
      var target = lane.y + lane.height / 2;
      this.modeling.moveElements([element], { x: 0, y: Math.round(target - centre) });
    }));
  };

  /* --- user tasks: a JSON-Schema form of the bundle ----------------------------------------- */

  function properties(bo) {
    var found = findExtension(bo, SPIFF + 'Properties');
    var result = {};
    ((found && found.properties) || []).forEach(function (p) { result[p.name] = p.value; });
    return result;
  }

  PropertiesForm.prototype.setProperty = function (element, name, value) {
    var bo = element.businessObject;
    var values = properties(bo);
    if (value) values[name] = value; else delete values[name];
    var moddle = this.moddle;
    var names = Object.keys(values);
    var list = names.length ? moddle.create(SPIFF + 'Properties', {
      properties: names.map(function (n) { return moddle.create(SPIFF + 'Property', { name: n, value: values[n] }); }),
    }) : null;
    this.setExtension(element, bo, SPIFF + 'Properties', list);
  };

  PropertiesForm.prototype.renderUserTask = function (c, element) {
    var s = this.section(c, this.t('form'));
    var props = properties(element.businessObject);
    var forms = this.ctx.forms;
    var current = props.formJsonSchemaFilename || '';
    var options = [['', this.t('no_form')]].concat(Object.keys(forms).sort().map(function (n) { return [n, n]; }));
    if (current && !forms[current]) options.push([current, current]);
    options.push(['__new__', this.t('new_form')]);
    var self = this;
    s.appendChild(this.select('form', this.t('form'), options, current, function (value, select) {
      if (value === '__new__') {
        var name = window.prompt(self.t('new_form_name'), 'form.json');
        if (!name || !/\.json$/.test(name)) { select.value = current; return; }
        if (!forms[name]) {
          forms[name] = { type: 'object', title: element.businessObject.name || '', required: [], properties: {} };
          self.ctx.onFormsChanged();
        }
        value = name;
      }
      self.setProperty(element, 'formJsonSchemaFilename', value);
      self.render(self.registry.get(element.id));
    }));
    if (current && forms[current]) {
      var area = el('textarea', { name: 'form_json', className: 'mono', rows: 12, 'data-prop': 'form_json' });
      area.value = JSON.stringify(forms[current], null, 2);
      var error = el('div', { className: 'hint error' });
      area.addEventListener('change', function () {
        try {
          var parsed = JSON.parse(area.value);
          forms[current] = parsed;
          error.textContent = '';
          self.ctx.onFormsChanged();
        } catch (e) {
          error.textContent = self.t('invalid_json') + ' ' + e.message;
        }
      });
      s.appendChild(this.field(this.t('form_json') + ' · ' + current, area));
      s.appendChild(error);
    }
    s.appendChild(this.textField('instructions', this.t('instructions'), props.instructionsForEndUser || '', function (value) {
      this.setProperty(element, 'instructionsForEndUser', value);
    }, { multiline: true, rows: 2 }));
    s.appendChild(this.textField('due_in', this.t('due_in'), props.dueIn || '', function (value) {
      this.setProperty(element, 'dueIn', value);
    }, { mono: true, placeholder: 'PT4H' }));
  };

  /* --- service tasks: an operator of the handler registry ------------------------------------ */

  PropertiesForm.prototype.renderServiceTask = function (c, element) {
    var s = this.section(c, this.t('operator'));
    var bo = element.businessObject;
    var op = findExtension(bo, SPIFF + 'ServiceTaskOperator');
    var handlers = this.ctx.handlers;
    var current = op ? op.id : '';
    var values = {};
    ((op && op.parameterList && op.parameterList.parameters) || []).forEach(function (p) { values[p.id] = p.value; });
    var options = [['', this.t('choose')]].concat(handlers.map(function (h) { return [h.id, h.id]; }));
    if (current && !handlers.some(function (h) { return h.id === current; })) options.push([current, current]);
    var self = this;
    var handler = handlers.filter(function (h) { return h.id === current; })[0];
    s.appendChild(this.select('operator', this.t('operator'), options, current, function (value) {
      self.writeOperator(element, value, values, op ? op.resultVariable : '');
      self.render(self.registry.get(element.id));
    }, handler ? handler.description : undefined));
    if (!handler) return;
    s.appendChild(el('h4', { text: this.t('parameters') }));
    handler.parameters.forEach(function (param) {
      var label = param.id + ' · ' + param.type + (param.required ? ' *' : '');
      s.appendChild(self.textField('param-' + param.id, label, values[param.id] || '', function (value) {
        values[param.id] = value;
        var fresh = findExtension(element.businessObject, SPIFF + 'ServiceTaskOperator');
        self.writeOperator(element, current, values, fresh ? fresh.resultVariable : '');
      }, { mono: true, hint: param.description || undefined }));
    });
    s.appendChild(this.textField('result_variable', this.t('result_variable'), (op && op.resultVariable) || '', function (value) {
      self.writeOperator(element, current, values, value);
    }, { mono: true }));
  };

  PropertiesForm.prototype.writeOperator = function (element, operatorId, values, resultVariable) {
    var bo = element.businessObject;
    if (!operatorId) { this.setExtension(element, bo, SPIFF + 'ServiceTaskOperator', null); return; }
    var moddle = this.moddle;
    var handler = this.ctx.handlers.filter(function (h) { return h.id === operatorId; })[0];
    var params = (handler ? handler.parameters : []).filter(function (p) {
      return values[p.id] !== undefined && values[p.id] !== '';
    }).map(function (p) {
      return moddle.create(SPIFF + 'Parameter', { id: p.id, type: p.type, value: values[p.id] });
    });
    var old = findExtension(bo, SPIFF + 'ServiceTaskOperator');
    var op = moddle.create(SPIFF + 'ServiceTaskOperator', {
      id: operatorId,
      resultVariable: resultVariable || undefined,
      parameterList: moddle.create(SPIFF + 'Parameters', { parameters: params }),
      retry: old && old.retry ? old.retry : undefined,
    });
    this.setExtension(element, bo, SPIFF + 'ServiceTaskOperator', op);
  };

  /* --- scripts, decisions ------------------------------------------------------------------- */

  PropertiesForm.prototype.renderScript = function (c, element) {
    var s = this.section(c, this.t('script'));
    s.appendChild(this.textField('script', this.t('script'), element.businessObject.script || '', function (value) {
      this.modeling.updateProperties(element, { script: value || undefined });
    }, { multiline: true, mono: true, rows: 8 }));
  };

  PropertiesForm.prototype.renderDecision = function (c, element) {
    var s = this.section(c, this.t('decision'));
    var found = findExtension(element.businessObject, SPIFF + 'CalledDecisionId');
    s.appendChild(this.textField('decision', this.t('decision'), (found && found.value) || '', function (value) {
      this.bodyExtension(element, element.businessObject, SPIFF + 'CalledDecisionId', value);
    }, { mono: true }));
  };

  /* --- conditions ---------------------------------------------------------------------------- */

  PropertiesForm.prototype.conditionField = function (flow, label) {
    var bo = flow.businessObject;
    var self = this;
    var value = bo.conditionExpression ? bo.conditionExpression.body || '' : '';
    return this.textField('condition', label, value, function (text) {
      self.modeling.updateProperties(flow, {
        conditionExpression: text ? self.expression(text) : undefined,
      });
    }, { mono: true, placeholder: 'amount > 100' });
  };

  PropertiesForm.prototype.renderFlow = function (c, element) {
    var source = element.source;
    if (!source || !is(source.businessObject, 'bpmn:ExclusiveGateway') && !is(source.businessObject, 'bpmn:InclusiveGateway') && !is(source.businessObject, 'bpmn:Activity')) return;
    var s = this.section(c, this.t('condition'));
    s.appendChild(this.conditionField(element, this.t('condition')));
    var self = this;
    var box = el('input', { type: 'checkbox', name: 'default', checked: source.businessObject.default === element.businessObject });
    box.addEventListener('change', function () {
      self.modeling.updateProperties(source, { default: box.checked ? element.businessObject : undefined });
    });
    s.appendChild(el('label', { className: 'check' }, [box, ' ' + this.t('default_flow')]));
  };

  PropertiesForm.prototype.renderGateway = function (c, element) {
    var bo = element.businessObject;
    if (!is(bo, 'bpmn:ExclusiveGateway') && !is(bo, 'bpmn:InclusiveGateway')) return;
    var outgoing = element.outgoing || [];
    if (outgoing.length < 2) return;
    var s = this.section(c, this.t('outgoing'));
    var self = this;
    outgoing.forEach(function (flow) {
      var name = flow.businessObject.name ? flow.businessObject.name + ' (' + flow.id + ')' : flow.id;
      if (bo.default === flow.businessObject) {
        s.appendChild(el('div', { className: 'field' }, [el('label', { text: name }), el('div', { className: 'muted small', text: self.t('default_flow') })]));
      } else {
        s.appendChild(self.conditionField(flow, name));
      }
    });
  };

  /* --- timers -------------------------------------------------------------------------------- */

  PropertiesForm.prototype.renderTimer = function (c, element, definition) {
    var s = this.section(c, this.t('timer'));
    var type = TIMER_TYPES.filter(function (t) { return definition[t]; })[0] || 'timeDuration';
    var body = definition[type] ? definition[type].body || '' : '';
    var self = this;
    var write = function (newType, text) {
      var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      props[newType] = self.expression(text);
      self.modeling.updateModdleProperties(element, definition, props);
    };
    s.appendChild(this.select('timer_type', this.t('timer_type'), [
      ['timeDate', this.t('time_date')], ['timeDuration', this.t('time_duration')], ['timeCycle', this.t('time_cycle')],
    ], type, function (value) { write(value, body); type = value; }));
    s.appendChild(this.textField('timer_expression', this.t('timer_expression'), body, function (value) {
      body = value;
      write(type, value);
    }, { mono: true, placeholder: "'PT1H'" }));
  };

  /* --- messages ------------------------------------------------------------------------------ */

  PropertiesForm.prototype.definitions = function () {
    return this.modeler.getDefinitions();
  };

  PropertiesForm.prototype.messageNamed = function (element, name) {
    var definitions = this.definitions();
    var found = (definitions.rootElements || []).filter(function (e) {
      return is(e, 'bpmn:Message') && e.name === name;
    })[0];
    if (found) return found;
    var message = this.moddle.create('bpmn:Message', {
      id: 'Message_' + name.replace(/[^\w]/g, '_'), name: name,
    });
    message.$parent = definitions;
    this.modeling.updateModdleProperties(element, definitions, {
      rootElements: (definitions.rootElements || []).concat([message]),
    });
    return message;
  };

  PropertiesForm.prototype.renderMessage = function (c, element, definition) {
    var s = this.section(c, this.t('message'));
    var self = this;
    var names = (this.definitions().rootElements || []).filter(function (e) { return is(e, 'bpmn:Message'); })
      .map(function (m) { return m.name || m.id; });
    var input = el('input', { type: 'text', name: 'message_name', list: 'message-names', className: 'mono', 'data-prop': 'message_name' });
    input.value = definition.messageRef ? definition.messageRef.name || '' : '';
    input.addEventListener('change', function () {
      var message = input.value ? self.messageNamed(element, input.value.trim()) : undefined;
      self.modeling.updateModdleProperties(element, definition, { messageRef: message });
    });
    s.appendChild(this.field(this.t('message_name'), input));
    s.appendChild(el('datalist', { id: 'message-names' }, names.map(function (n) { return el('option', { value: n }); })));
    var bo = element.businessObject;
    var throwing = is(bo, 'bpmn:ThrowEvent') || is(bo, 'bpmn:SendTask');
    var correlation = findExtension(definition, SPIFF + 'ProcessVariableCorrelation');
    var key = correlation ? correlation.propertyId || '' : '';
    var expr = correlation ? correlation.expression || '' : '';
    var writeCorrelation = function () {
      var value = key ? self.moddle.create(SPIFF + 'ProcessVariableCorrelation', { propertyId: key, expression: expr || key }) : null;
      self.setExtension(element, definition, SPIFF + 'ProcessVariableCorrelation', value);
    };
    s.appendChild(this.textField('correlation_key', this.t('correlation_key'), key, function (value) { key = value; writeCorrelation(); }, { mono: true }));
    s.appendChild(this.textField('correlation_expression', this.t('correlation_expression'), expr, function (value) { expr = value; writeCorrelation(); }, { mono: true }));
    if (throwing) {
      var payload = findExtension(definition, SPIFF + 'MessagePayload');
      s.appendChild(this.textField('payload', this.t('payload'), (payload && payload.value) || '', function (value) {
        this.bodyExtension(element, definition, SPIFF + 'MessagePayload', value);
      }, { mono: true, placeholder: '{"amount": amount}' }));
    } else {
      var variable = findExtension(definition, SPIFF + 'MessageVariable');
      s.appendChild(this.textField('message_variable', this.t('message_variable'), (variable && variable.value) || '', function (value) {
        this.bodyExtension(element, definition, SPIFF + 'MessageVariable', value);
      }, { mono: true }));
    }
  };

  window.DialflowPropertiesForm = PropertiesForm;
})();
