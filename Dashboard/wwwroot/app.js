// First-slice dashboard: polls the ingestion totals. The SignalR push replaces this polling in a later step.
"use strict";

const number = new Intl.NumberFormat("en");
const $ = (id) => document.getElementById(id);

async function refresh() {
  try {
    const response = await fetch("/api/ingestion", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const totals = await response.json();
    $("raw-events").textContent = number.format(totals.rawEvents);
    $("dead-letters").textContent = number.format(totals.deadLetters);
    $("event-rate").textContent = number.format(Math.round(totals.eventsLastMinute / 60));
    $("latest-event").textContent = totals.latestEventTime ? new Date(totals.latestEventTime).toISOString().replace(".000", "") : "–";
    setStatus("live", "live");
  } catch (error) {
    setStatus("offline", `offline (${error.message})`);
  }
}

function setStatus(state, text) {
  const status = $("status");
  status.dataset.state = state;
  status.textContent = text;
}

refresh();
setInterval(refresh, 2000);
