// The supervisor wallboard: calls, agents, today's three rates, 督办, hotspots, live alerts.
import {
  api, ApiError, el, openEvents, PRESENCE_LABELS, setCsrfToken, shanghaiDate, shanghaiTime,
  STATUS_LABELS,
} from "./api.js";
import { barChart, heatMap } from "./charts.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 10000;
let days = 7;

function percent(value) {
  return value === null || value === undefined ? "—" : `${value.toFixed(2)}%`;
}

async function start() {
  let me;
  try {
    me = await api("GET", "/console/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.href = "/console/?next=wallboard";
      return;
    }
    throw error;
  }
  setCsrfToken(me.csrf_token);
  $("board").hidden = false;
  openEvents(onMessage, (connection) => {
    $("connection").textContent = connection === "open" ? "已连接" : "重新连接中…";
  });
  for (const button of document.querySelectorAll("[data-days]")) {
    button.addEventListener("click", () => {
      days = Number(button.dataset.days);
      for (const other of document.querySelectorAll("[data-days]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      loadHotspots();
    });
  }
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

async function refresh() {
  const results = await Promise.allSettled([
    loadQueues(), loadRates(), loadDue(), loadHotspots(),
  ]);
  const failed = results.filter((result) => result.status === "rejected");
  $("board-error").textContent = failed.length
    ? `部分数据加载失败：${failed.map((result) => result.reason.message).join("；")}` : "";
  $("updated").textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN")}`;
  document.body.dataset.loaded = "true";
}

async function optional(path) {
  try {
    return await api("GET", path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null; // ACD not running
    throw error;
  }
}

async function loadQueues() {
  const [queues, agents] = await Promise.all([optional("/api/v1/queues"),
    optional("/api/v1/agents")]);
  const agentList = agents === null ? null : (Array.isArray(agents) ? agents : agents.items);
  const queueList = queues === null ? null : (Array.isArray(queues) ? queues : queues.items);
  if (agentList === null) {
    $("agents-chart").replaceChildren(el("p", { text: "排队服务未启用" }));
  } else {
    const counts = Object.fromEntries(Object.keys(PRESENCE_LABELS).map((key) => [key, 0]));
    for (const agent of agentList) counts[agent.state] = (counts[agent.state] || 0) + 1;
    $("agents-chart").replaceChildren(barChart(
      Object.entries(counts).map(([key, value]) => ({ label: PRESENCE_LABELS[key] || key,
        value, className: `presence-${key}` })), { title: "坐席状态分布" }));
    $("calls-active").textContent = String(counts.busy || 0);
    $("agents-ready").textContent = String(counts.ready || 0);
  }
  if (queueList !== null) {
    const waiting = queueList.reduce((sum, queue) => sum + queue.waiting.length, 0);
    $("calls-waiting").textContent = String(waiting);
    $("queues").replaceChildren(
      el("tr", {}, el("th", { text: "组" }), el("th", { text: "排队" }),
        el("th", { text: "就绪坐席" }), el("th", { text: "最长等待" })),
      ...queueList.map((queue) => el("tr", {}, el("td", { text: queue.label || queue.group }),
        el("td", { text: String(queue.waiting.length) }),
        el("td", { text: String(queue.agents_ready) }),
        el("td", { text: queue.waiting.length ? shanghaiTime(queue.waiting[0].since) : "—" }))));
  }
}

async function loadRates() {
  const today = shanghaiDate();
  const rates = await api("GET", `/api/v1/reports/rates?from=${today}&to=${today}`);
  $("rate-response").textContent = percent(rates.response_rate);
  $("rate-resolution").textContent = percent(rates.resolution_rate);
  $("rate-satisfaction").textContent = percent(rates.satisfaction_rate);
  $("rates-basis").textContent = `今日工单 ${rates.total}，有效 ${rates.valid}，`
    + `回访接通 ${rates.reached}，未接通 ${rates.unreachable}`;
}

function dueItem(item) {
  const hours = Math.abs(item.minutes_left) / 60;
  const when = item.overdue ? `超时 ${hours.toFixed(1)} 小时` : `剩 ${hours.toFixed(1)} 小时`;
  return el("li", { "data-order": item.number, class: item.overdue ? "overdue" : "soon" },
    `${item.number} · ${item.deadline_label} · ${STATUS_LABELS[item.state] || item.state} · ${when}`
    + `${item.estimate ? "（估算：超出节假日数据）" : ""}`
    + `${item.supervisions ? ` · 督办 ${item.supervisions} 次` : ""}`);
}

// The holiday data ends (calendar.horizon): past it every weekday counts as a working day,
// so deadlines there are estimates until the State Council's next notice is imported.
function showCalendarBanner(calendar) {
  const banner = $("calendar-banner");
  if (!calendar || !calendar.warn) {
    banner.hidden = true;
    return;
  }
  banner.textContent = calendar.horizon
    ? `节假日数据只到 ${calendar.horizon}，请导入 ${calendar.next_year} 年安排`
      + `（hotline calendar import）；此后的办理时限为估算。`
    : `没有节假日数据，请导入 ${calendar.next_year} 年安排（hotline calendar import）。`;
  banner.hidden = false;
}

async function loadDue() {
  const due = await api("GET", "/api/v1/reports/due?within_hours=24");
  showCalendarBanner(due.calendar);
  $("overdue").replaceChildren(...due.overdue.map(dueItem));
  $("soon").replaceChildren(...due.soon.map(dueItem));
  $("overdue-count").textContent = `（${due.overdue.length}）`;
  $("soon-count").textContent = `（${due.soon.length}）`;
}

async function loadHotspots() {
  const hotspots = await api("GET", `/api/v1/reports/hotspots?days=${days}`);
  $("hot-rule").textContent = `${hotspots.from} 至 ${hotspots.today}；突增：今日数 > 前 ${days - 1}`
    + ` 天日均 + 2σ，且今日至少 3 件（红框）`;
  const chart = $("hot-chart");
  chart.dataset.days = String(hotspots.days);
  chart.replaceChildren(hotspots.cells.length ? heatMap(hotspots)
    : el("p", { text: "窗口内没有工单" }));
  const spikes = hotspots.cells.filter((cell) => cell.spike);
  $("spikes").replaceChildren(...(spikes.length ? spikes.map((cell) => el("li", {
    class: "overdue", text: `${cell.domain_label} · ${cell.region}：今日 ${cell.today} 件`
      + `（前期日均 ${cell.baseline_mean.toFixed(1)}，阈值 ${cell.threshold.toFixed(1)}）` }))
    : [el("li", { text: "无" })]));
}

const ALERT_REASONS = { warning: "即将超时", overdue: "超时督办", urgent_order: "紧急工单",
  abusive_repetition: "恶意反复拨打", dissatisfied: "回访不满意", manual: "人工督办" };

function onMessage(message) {
  if (message.kind !== "event") return;
  if (message.event.type === "queue.changed") {
    loadQueues().catch(() => {});
    return;
  }
  if (message.event.type !== "order.alert") return;
  const alert = message.event.payload;
  const item = el("li", { class: alert.level === "red" ? "overdue" : "soon",
    text: `${shanghaiTime(message.event.at)} ${alert.order_number} · `
      + `${ALERT_REASONS[alert.reason] || alert.reason}` });
  $("alerts").prepend(item);
  while ($("alerts").children.length > 20) $("alerts").lastChild.remove();
}

start();
