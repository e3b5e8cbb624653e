// The live dashboard: one SignalR connection to /hubs/dashboard (see WebApi/Live/DashboardHubContract.cs). The hub sends
// a `snapshot` right after connecting, then `windows`, `kpis`, `churn` and `health` as they change; nothing is polled.
"use strict";

const HUB_PATH = "/hubs/dashboard";
const CHART_WINDOWS = 36; // six hours of 10-minute windows
const AT_RISK_SHOWN = 10;

const integer = new Intl.NumberFormat("en");
const decimal = new Intl.NumberFormat("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("en", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
const clockSeconds = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

const $ = (id) => document.getElementById(id);

/** The latest state, as the hub described it. Windows are keyed by their start (ISO text as sent). */
const state = {
  kpis: null,
  churn: null,
  health: null,
  windows: new Map(),
};

// ---------------------------------------------------------------------------------------------------------------------
// Formatting

const count = (value) => (value == null ? "–" : integer.format(value));
const rate = (value) => (value == null ? "–" : percent.format(value));
const amount = (value) => (value == null ? "–" : money.format(value));
const time = (iso) => (iso ? clock.format(new Date(iso)) : "–");
const when = (iso) => (iso ? dateTime.format(new Date(iso)) : "–");

function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
}

// ---------------------------------------------------------------------------------------------------------------------
// Rendering

/** The funnel of the newest window: from the windows pushed, or the KPI snapshot when it knows a newer one. */
function currentWindow() {
  let newest = null;
  for (const window of state.windows.values()) {
    if (!newest || Date.parse(window.windowStart) > Date.parse(newest.windowStart)) newest = window;
  }
  const kpis = state.kpis;
  if (kpis?.currentWindowStart && (!newest || Date.parse(kpis.currentWindowStart) > Date.parse(newest.windowStart))) {
    return { windowStart: kpis.currentWindowStart, windowEnd: null, isFinal: false, total: kpis.currentWindow };
  }
  return newest;
}

/**
 * The last hour's funnel (windows that started within the hour before the current window's end), summed from the
 * windows held here, so that it always includes what the current window shows; the KPI snapshot's (read from the
 * database once a second) only when the pushed windows do not reach the current window.
 */
function lastHour() {
  const current = currentWindow();
  if (!current?.windowEnd) return state.kpis?.lastHour;
  const end = Date.parse(current.windowEnd);
  const sum = { views: 0, addToCarts: 0, purchases: 0, revenue: 0 };
  for (const window of state.windows.values()) {
    const start = Date.parse(window.windowStart);
    if (start < end - 3_600_000 || start >= end) continue;
    sum.views += window.total.views;
    sum.addToCarts += window.total.addToCarts;
    sum.purchases += window.total.purchases;
    sum.revenue += Number(window.total.revenue);
  }
  const ratio = (a, b) => (b === 0 ? null : a / b);
  return {
    ...sum,
    cartRate: ratio(sum.addToCarts, sum.views),
    purchaseRate: ratio(sum.purchases, sum.addToCarts),
    conversionRate: ratio(sum.purchases, sum.views),
  };
}

function renderLastHour() {
  const hour = lastHour();
  renderFunnel("hour", hour);
  setText("revenue-hour", amount(hour?.revenue));
}

function renderFunnel(prefix, counts) {
  setText(`views-${prefix}`, count(counts?.views));
  setText(`carts-${prefix}`, count(counts?.addToCarts));
  setText(`purchases-${prefix}`, count(counts?.purchases));
  setText(`cart-rate-${prefix}`, rate(counts?.cartRate));
  setText(`purchase-rate-${prefix}`, rate(counts?.purchaseRate));
  setText(`conversion-${prefix}`, rate(counts?.conversionRate));
}

function renderCurrent() {
  const window = currentWindow();
  renderFunnel("current", window?.total);
  if (window) {
    const end = window.windowEnd ? `–${time(window.windowEnd)}` : "";
    setText("current-window", `window ${time(window.windowStart)}${end}${window.isFinal ? " (final)" : " (open)"}`);
  }
  setText("revenue-current", amount(window?.total?.revenue));
  renderLastHour();
}

function renderKpis() {
  const kpis = state.kpis;
  if (!kpis) return;
  renderLastHour();
  setText("event-rate", decimal.format(kpis.eventsPerSecond));
  setText("events-last-minute", `${count(kpis.eventsLastMinute)} in the last minute`);
  setText("raw-events", count(kpis.rawEvents));
  setText("active-users", count(kpis.activeUsers));
  setText("late-events", count(kpis.lateEvents));
  setText("dead-letters", count(kpis.deadLetters));
  setText("as-of", `Numbers as of ${clockSeconds.format(new Date(kpis.asOf))}`);
}

function renderChurn() {
  const churn = state.churn;
  if (!churn) return;
  setText("churn-churned", count(churn.churned));
  setText("churn-not-churned", count(churn.notChurned));
  setText("churn-model", churn.modelVersion ?? "none yet");
  setText("churn-threshold", churn.threshold ? decimal.format(churn.threshold * 100) + " %" : "–");
  setText("churn-scored-at", when(churn.scoredAt));

  const list = $("at-risk-list");
  const items = (churn.atRisk ?? []).slice(0, AT_RISK_SHOWN).map((user) => {
    const item = document.createElement("li");
    item.dataset.userId = user.userId;
    const link = document.createElement("a");
    link.href = `/api/users/${encodeURIComponent(user.userId)}`;
    link.textContent = user.userId;
    const probability = document.createElement("span");
    probability.className = "probability";
    probability.textContent = rate(user.probability);
    probability.style.setProperty("--p", String(user.probability));
    const last = document.createElement("span");
    last.className = "hint";
    last.textContent = user.lastEventTime ? `last seen ${when(user.lastEventTime)}` : "";
    item.append(link, probability, last);
    return item;
  });
  if (items.length === 0) {
    const empty = document.createElement("li");
    empty.className = "hint";
    empty.textContent = churn.modelVersion ? "No user scored yet." : "No churn model yet.";
    items.push(empty);
  }
  list.replaceChildren(...items);
}

function renderHealth() {
  const health = state.health;
  if (!health) return;
  const badge = $("health-status");
  badge.dataset.state = health.status.toLowerCase();
  setText("health-status", health.status);
  const checks = Object.entries(health.checks ?? {}).map(([name, status]) => {
    const item = document.createElement("li");
    item.dataset.state = String(status).toLowerCase();
    const label = document.createElement("span");
    label.textContent = name;
    const value = document.createElement("span");
    value.className = "badge";
    value.dataset.state = String(status).toLowerCase();
    value.textContent = status;
    item.append(label, value);
    return item;
  });
  $("health-checks").replaceChildren(...checks);
  setText("health-as-of", `checked ${clockSeconds.format(new Date(health.asOf))}`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Chart of recent windows: bars per step (hatched and lighter while the window is open), conversion as a line.

const palette = { views: "#4e79a7", carts: "#f28e2b", purchases: "#59a14f", conversion: "#b6357a" };
let chart = null;

const hatches = new Map();

function hatch(color) {
  if (!hatches.has(color)) hatches.set(color, makeHatch(color));
  return hatches.get(color);
}

function makeHatch(color) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const context = tile.getContext("2d");
  context.fillStyle = color + "55";
  context.fillRect(0, 0, 8, 8);
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.beginPath();
  context.moveTo(0, 8);
  context.lineTo(8, 0);
  context.moveTo(-2, 2);
  context.lineTo(2, -2);
  context.moveTo(6, 10);
  context.lineTo(10, 6);
  context.stroke();
  return context.createPattern(tile, "repeat");
}

/** The last CHART_WINDOWS window slots up to the newest window, in time order; a slot without a window is a gap (null). */
function recentWindows() {
  const windows = [...state.windows.values()].sort((a, b) => Date.parse(a.windowStart) - Date.parse(b.windowStart));
  if (windows.length === 0) return [];
  const newest = windows[windows.length - 1];
  const size = Date.parse(newest.windowEnd) - Date.parse(newest.windowStart);
  if (!(size > 0)) return windows.slice(-CHART_WINDOWS);
  const byStart = new Map(windows.map((w) => [Date.parse(w.windowStart), w]));
  const last = Date.parse(newest.windowStart);
  const slots = [];
  for (let start = last - (CHART_WINDOWS - 1) * size; start <= last; start += size) {
    slots.push(byStart.get(start) ?? { windowStart: new Date(start).toISOString(), isFinal: true, gap: true, total: null });
  }
  // Start at the first slot with a window, so a young pipeline's chart is not mostly empty.
  return slots.slice(slots.findIndex((slot) => !slot.gap));
}

function createChart() {
  if (typeof Chart === "undefined") return null;
  const open = (context, color) => {
    const window = context.chart.data.windows?.[context.dataIndex];
    return window && !window.isFinal ? hatch(color) : color;
  };
  const bar = (label, color, key) => ({
    type: "bar",
    label,
    key,
    yAxisID: "y",
    backgroundColor: (context) => open(context, color),
    borderColor: color,
    borderWidth: (context) => (context.chart.data.windows?.[context.dataIndex]?.isFinal ? 0 : 1),
    data: [],
  });
  return new Chart($("windows-chart"), {
    data: {
      labels: [],
      windows: [],
      datasets: [
        bar("Views", palette.views, "views"),
        bar("Add to cart", palette.carts, "addToCarts"),
        bar("Purchases", palette.purchases, "purchases"),
        {
          type: "line",
          label: "View → purchase",
          key: "conversionRate",
          yAxisID: "rate",
          borderColor: palette.conversion,
          backgroundColor: palette.conversion,
          pointRadius: 2,
          tension: 0.25,
          spanGaps: true,
          segment: { borderDash: (context) => (context.chart.data.windows?.[context.p1DataIndex]?.isFinal ? undefined : [4, 3]) },
          data: [],
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { beginAtZero: true, title: { display: true, text: "events" } },
        rate: {
          position: "right",
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          ticks: { callback: (value) => percent.format(value) },
          title: { display: true, text: "conversion" },
        },
      },
      plugins: {
        legend: {
          position: "bottom",
          // Solid swatches: the scriptable colours would otherwise show the first window's (maybe hatched) fill.
          labels: {
            generateLabels: (chart) => Chart.defaults.plugins.legend.labels.generateLabels(chart)
              .map((label) => ({ ...label, fillStyle: chart.data.datasets[label.datasetIndex].borderColor })),
          },
        },
        tooltip: {
          callbacks: {
            title: (items) => {
              const window = items[0]?.chart.data.windows[items[0].dataIndex];
              return window ? `${when(window.windowStart)}${window.isFinal ? "" : " (open)"}` : "";
            },
            label: (item) => (item.dataset.key === "conversionRate"
              ? `${item.dataset.label}: ${rate(item.raw)}`
              : `${item.dataset.label}: ${count(item.raw)}`),
          },
        },
      },
    },
  });
}

function renderChart() {
  const windows = recentWindows();
  const shown = windows.filter((w) => !w.gap);
  const open = shown.filter((w) => !w.isFinal).length;
  setText("windows-summary", shown.length === 0 ? "no window yet" : `${shown.length} windows, ${open} open`);
  chart ??= createChart();
  if (!chart) return;
  chart.data.windows = windows;
  chart.data.labels = windows.map((w) => time(w.windowStart));
  for (const dataset of chart.data.datasets) {
    dataset.data = windows.map((w) => w.total?.[dataset.key] ?? null);
  }
  chart.update("none");
}

// ---------------------------------------------------------------------------------------------------------------------
// Messages

function applyWindows(windows) {
  for (const window of windows ?? []) state.windows.set(new Date(window.windowStart).toISOString(), window);
  // Keep what the chart and the current funnel need, and a margin.
  const keep = [...state.windows.keys()].sort((a, b) => Date.parse(b) - Date.parse(a)).slice(0, CHART_WINDOWS * 4);
  for (const key of state.windows.keys()) if (!keep.includes(key)) state.windows.delete(key);
}

const handlers = {
  snapshot(snapshot) {
    state.windows.clear();
    applyWindows(snapshot.windows);
    state.kpis = snapshot.kpis ?? null;
    state.churn = snapshot.churn ?? null;
    state.health = snapshot.health ?? null;
    renderKpis();
    renderCurrent();
    renderChart();
    renderChurn();
    renderHealth();
  },
  windows(windows) {
    applyWindows(windows);
    renderCurrent();
    renderChart();
  },
  kpis(kpis) {
    state.kpis = kpis;
    renderKpis();
    renderCurrent();
  },
  churn(churn) {
    state.churn = churn;
    renderChurn();
  },
  health(health) {
    state.health = health;
    renderHealth();
  },
};

// ---------------------------------------------------------------------------------------------------------------------
// Connection

function setStatus(stateName, text) {
  const status = $("connection-status");
  status.dataset.state = stateName;
  status.textContent = text;
}

function connect() {
  if (typeof signalR === "undefined") {
    setStatus("disconnected", "disconnected (SignalR library missing)");
    return;
  }
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(HUB_PATH)
    // Retry for ever, backing off to 10 s: a dashboard left open should come back by itself after any outage.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (retry) => Math.min(500 * 2 ** retry.previousRetryCount, 10_000) })
    .configureLogging(signalR.LogLevel.Warning)
    .build();

  for (const [name, handler] of Object.entries(handlers)) {
    connection.on(name, (payload) => {
      try {
        handler(payload);
      } catch (error) {
        console.error(`dashboard: could not render '${name}'`, error, payload);
      }
    });
  }
  connection.onreconnecting(() => setStatus("reconnecting", "reconnecting…"));
  connection.onreconnected(() => setStatus("connected", "connected")); // the hub sends a fresh snapshot
  connection.onclose(() => {
    setStatus("disconnected", "disconnected");
    setTimeout(() => start(connection, 0), 5_000);
  });
  start(connection, 0);
}

async function start(connection, attempt) {
  if (connection.state !== signalR.HubConnectionState.Disconnected) return;
  setStatus(attempt === 0 ? "connecting" : "disconnected", attempt === 0 ? "connecting…" : "disconnected, retrying…");
  try {
    await connection.start();
    setStatus("connected", "connected");
  } catch (error) {
    setStatus("disconnected", "disconnected, retrying…");
    console.warn("dashboard: could not connect", error);
    setTimeout(() => start(connection, attempt + 1), Math.min(1000 * 2 ** attempt, 10_000));
  }
}

connect();
