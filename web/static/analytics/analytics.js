/* The analytics page's charts (Apache ECharts, vendored). The figures come from the page as
   JSON (#analytics-data), the texts from the template (#analytics-text); the tables below the
   charts show the same figures. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('analytics-data').textContent);
  var text = JSON.parse(document.getElementById('analytics-text').textContent);
  var charts = [];
  var BLUE = '#1f6feb', GREEN = '#2f8f4e', ORANGE = '#d97706';

  function chart(id, option, hasData) {
    var element = document.getElementById(id);
    if (!element || !window.echarts) { return; }
    var instance = window.echarts.init(element, null, { renderer: 'canvas' });
    if (!hasData) {
      option = {
        title: { text: text.no_data, left: 'center', top: 'middle',
                 textStyle: { color: '#6b7385', fontSize: 14, fontWeight: 'normal' } }
      };
    }
    instance.setOption(option);
    element.setAttribute('data-rendered', hasData ? 'chart' : 'empty');
    charts.push(instance);
  }

  function any(values) {
    return values.some(function (v) { return v; });
  }

  var stages = data.funnel;
  chart('chart-funnel', {
    tooltip: { trigger: 'item', formatter: '{b}: {c}' },
    color: ['#1f6feb', '#3b82f6', '#60a5fa', '#93c5fd', '#2f8f4e'],
    series: [{
      type: 'funnel', sort: 'none', left: '8%', width: '84%', top: 10, bottom: 10,
      minSize: '8%', gap: 2,
      label: { show: true, position: 'inside', formatter: '{b}  {c}' },
      data: stages.map(function (s) { return { name: s.name, value: s.value }; })
    }]
  }, any(stages.map(function (s) { return s.value; })));

  var agents = data.agents;
  chart('chart-agents', {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: [text.calls, text.connect_rate] },
    grid: { left: 50, right: 60, bottom: 40, top: 50 },
    xAxis: { type: 'category', data: agents.names, axisLabel: { interval: 0, rotate: agents.names.length > 8 ? 30 : 0 } },
    yAxis: [
      { type: 'value', name: text.calls, minInterval: 1 },
      { type: 'value', name: '%', min: 0, max: 100 }
    ],
    series: [
      { name: text.calls, type: 'bar', data: agents.calls, barMaxWidth: 60, itemStyle: { color: BLUE } },
      { name: text.connect_rate, type: 'line', yAxisIndex: 1, data: agents.connect_rate,
        itemStyle: { color: GREEN }, connectNulls: true }
    ]
  }, any(agents.calls));

  // The daily trend: counts on the left axis, revenue on the right, one line per currency
  // (amounts in different currencies are never added up).
  var trend = data.trend;
  var MONEY = ['#d97706', '#9333ea', '#0891b2', '#be123c'];
  var trendSeries = [
    { name: text.calls, type: 'line', data: trend.calls, itemStyle: { color: BLUE }, symbolSize: 5 },
    { name: text.connected, type: 'line', data: trend.connected, itemStyle: { color: GREEN }, symbolSize: 5 },
    { name: text.deals_won, type: 'line', data: trend.deals_won, itemStyle: { color: '#6b7385' }, symbolSize: 5 }
  ];
  trend.revenue.forEach(function (money, index) {
    trendSeries.push({
      name: money.name, type: 'line', yAxisIndex: 1, data: money.values, symbolSize: 5,
      lineStyle: { type: 'dashed' }, itemStyle: { color: MONEY[index % MONEY.length] }
    });
  });
  chart('chart-trend', {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: trendSeries.map(function (s) { return s.name; }) },
    grid: { left: 50, right: 80, bottom: 40, top: 50 },
    xAxis: { type: 'category', data: trend.days, boundaryGap: false,
             axisLabel: { formatter: function (day) { return day.slice(5); } } },
    yAxis: [
      { type: 'value', name: text.count, minInterval: 1 },
      { type: 'value', name: text.revenue, splitLine: { show: false } }
    ],
    series: trendSeries
  }, any(trend.calls) || any(trend.deals_won));

  var steps = data.steps;
  chart('chart-steps', {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: [text.avg_cycle, text.p90_cycle] },
    grid: { left: 60, right: 20, bottom: 60, top: 50 },
    xAxis: { type: 'category', data: steps.names, axisLabel: { interval: 0, rotate: steps.names.length > 4 ? 20 : 0 } },
    yAxis: { type: 'value', name: text.hours },
    series: [
      { name: text.avg_cycle, type: 'bar', data: steps.avg_h, barMaxWidth: 60, itemStyle: { color: BLUE } },
      { name: text.p90_cycle, type: 'bar', data: steps.p90_h, barMaxWidth: 60, itemStyle: { color: ORANGE } }
    ]
  }, steps.names.length > 0);

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });
}());
