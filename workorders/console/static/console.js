// The agent console: login, presence, the pop of the current call, the order form, search.
import {
  api, ApiError, CATEGORY_LABELS, el, newKey, openEvents, PRESENCE_LABELS, setCsrfToken,
  shanghaiTime, STATUS_LABELS,
} from "./api.js";

const $ = (id) => document.getElementById(id);
const ORDER_NUMBER = /^12320-\d{8}-\d{5}$/;
const state = { me: null, current: null, order: null, recent: [], transcriptPoll: null };

function stamp(node) {
  // When the browser put this on screen (epoch ms): tests compare it with the call's transfer.
  node.dataset.renderedAt = String(performance.timeOrigin + performance.now());
}

function say(id, text) {
  $(id).textContent = text || "";
}

const ERROR_PREFIX = { 401: "请重新登录", 403: "无权限", 404: "未找到", 409: "当前状态不允许此操作",
  422: "输入有误", 429: "操作过于频繁", 503: "服务暂不可用" };

function errorText(error) {
  if (!(error instanceof ApiError)) return "网络错误，请重试";
  const prefix = ERROR_PREFIX[error.status];
  // The API's own message names the rule or field; Chinese messages stand alone.
  if (!prefix || /[\u4e00-\u9fff]/.test(error.message)) return error.message;
  return `${prefix}（${error.message}）`;
}

// -- login ----------------------------------------------------------------------------------

async function start() {
  try {
    state.me = await api("GET", "/console/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin();
      return;
    }
    throw error;
  }
  enter();
}

function showLogin() {
  $("login-view").hidden = false;
  $("desk").hidden = true;
  $("who").hidden = true;
  $("login").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("login-error", "");
  const login = $("login").value.trim();
  const password = $("password").value;
  if (!login || !password) {
    say("login-error", "请输入工号和密码");
    (login ? $("password") : $("login")).focus();
    return;
  }
  try {
    state.me = await api("POST", "/console/login", { login, password });
  } catch (error) {
    say("login-error", errorText(error));
    $("password").select();
    return;
  }
  $("password").value = "";
  enter();
});

$("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/console/logout");
  } finally {
    location.reload();
  }
});

function enter() {
  const me = state.me;
  const supervises = ["supervisor", "admin", "leader"].includes(me.role);
  if (supervises && new URLSearchParams(location.search).get("next") === "wallboard") {
    location.href = "/console/wallboard";
    return;
  }
  setCsrfToken(me.csrf_token);
  $("login-view").hidden = true;
  $("desk").hidden = false;
  $("who").hidden = false;
  say("user-name", `${me.name}（${me.login}${me.extension ? ` · 分机 ${me.extension}` : ""}）`);
  $("wallboard-link").hidden = !supervises;
  fillChoices(me);
  openEvents(onMessage, (connection) => {
    say("connection", connection === "open" ? "已连接" : "重新连接中…");
    if (connection !== "open") document.body.dataset.connected = "false";
  });
  loadPresence();
  setInterval(loadPresence, 10000); // the ACD moves the agent to 通话中 and back
  $("pop").focus();
}

function fillChoices(me) {
  const mode = $("f-mode");
  mode.replaceChildren(...Object.entries(me.modes).map(([value, label]) =>
    el("option", { value, text: label })));
  $("f-domain").replaceChildren(el("option", { value: "", text: "（未选）" }),
    ...Object.entries(me.domains).map(([value, label]) => el("option", { value, text: label })));
  const regions = [...new Set(me.units.map((unit) => unit.region))].sort();
  $("regions").replaceChildren(...regions.map((region) => el("option", { value: region })));
  $("f-about").replaceChildren(el("option", { value: "", text: "（无）" }),
    ...me.units.filter((unit) => unit.tier === "unit")
      .map((unit) => el("option", { value: unit.id, text: unit.name })));
}

// -- presence -------------------------------------------------------------------------------

async function loadPresence() {
  try {
    const agents = await api("GET", "/api/v1/agents");
    const list = Array.isArray(agents) ? agents : agents.items || [];
    const mine = list.find((agent) => agent.login === state.me.login);
    if (mine) showPresence(mine.state);
  } catch (error) {
    say("presence-state", error.status === 404 ? "排队服务未启用" : "");
  }
}

function showPresence(presence) {
  say("presence-state", PRESENCE_LABELS[presence] || presence);
  for (const button of document.querySelectorAll("[data-presence]")) {
    button.setAttribute("aria-pressed", String(button.dataset.presence === presence));
  }
}

async function setPresence(presence) {
  try {
    await api("PUT", `/api/v1/agents/${encodeURIComponent(state.me.login)}/presence`,
      { state: presence });
    showPresence(presence);
    if (presence === "ready" && state.current) state.current.source = "done";
  } catch (error) {
    say("presence-state", error.status === 404 ? "排队服务未启用" : errorText(error));
  }
}

for (const button of document.querySelectorAll("[data-presence]")) {
  button.addEventListener("click", () => setPresence(button.dataset.presence));
}

// -- live events ----------------------------------------------------------------------------

function onMessage(message) {
  if (message.kind === "hello") {
    document.body.dataset.connected = "true";
    return;
  }
  if (message.kind !== "event") return;
  const event = message.event;
  const payload = event.payload;
  switch (event.type) {
    case "call.offered":
      setCurrent({ ...payload, source: "offered", history: payload.history || [] });
      loadPresence();
      break;
    case "call.answered":
      remember(payload, "接通");
      if (!state.current || state.current.source !== "offered") {
        setCurrent({ ...payload, source: "group", menu_path: [], order_number: null,
          flags: [], history: null });
        loadHistory(payload.caller_number, payload.call_id);
      }
      break;
    case "order.created":
      remember(payload, `工单 ${payload.order_number}`);
      if (state.current && state.current.call_id === payload.call_id) {
        Object.assign(state.current, {
          order_number: payload.order_number, menu_path: payload.menu_path,
          flags: payload.flags, category_label: payload.category_label,
        });
        renderPop();
        loadOrder(payload.order_number);
      }
      break;
    case "call.partial_transcript":
      if (state.current && state.current.call_id === payload.call_id) {
        say("pop-transcript", payload.text);
      }
      break;
    default:
      break;
  }
}

function remember(payload, what) {
  state.recent.unshift({ ...payload, what, at: new Date() });
  state.recent = state.recent.slice(0, 8);
  $("recent-calls").replaceChildren(...state.recent.map((call) =>
    el("li", { text: `${call.at.toLocaleTimeString("zh-CN")} ${call.caller_number} · ${call.what}` })));
}

function setCurrent(call) {
  state.current = call;
  say("pop-transcript", "");
  $("pop-recording").replaceChildren(el("p", { text: "通话结束后可回放" }));
  renderPop();
  if (call.order_number) loadOrder(call.order_number);
}

function renderPop() {
  const call = state.current;
  $("pop-empty").hidden = true;
  $("pop-body").hidden = false;
  $("pop-body").dataset.callId = call.call_id || "";
  say("pop-caller", call.caller_number || "（未知号码）");
  say("pop-group", call.group || "");
  say("pop-menu", (call.menu_path || []).join(" → ") || "—");
  const order = $("pop-order");
  order.replaceChildren(call.order_number ? orderLink(call.order_number) : "—");
  const flags = call.flags || [];
  say("pop-flags", flags.map((flag) => FLAG_LABELS[flag] || flag).join("、") || "—");
  if (call.history) renderHistory(call.history);
  else $("pop-history").replaceChildren(el("li", { text: "查询中…" }));
  stamp($("pop-caller"));
}

const FLAG_LABELS = { repeat_caller: "重复来电", abusive_repetition: "恶意反复拨打" };

async function loadHistory(caller, callId) {
  if (!caller) {
    renderHistory([]);
    return;
  }
  try {
    const found = await api("GET",
      `/api/v1/workorders?caller=${encodeURIComponent(caller)}&limit=10`, undefined,
      { "X-Access-Reason": "screen_pop_history" });
    if (!state.current || state.current.call_id !== callId) return;
    state.current.history = found.items
      .filter((order) => order.call_id !== callId)
      .map((order) => ({ order_number: order.number, created_at: order.received_at,
        category: order.category_label, status: order.status }));
    renderHistory(state.current.history);
  } catch (error) {
    $("pop-history").replaceChildren(el("li", { class: "error", text: errorText(error) }));
  }
}

function renderHistory(history) {
  const list = $("pop-history");
  if (!history.length) {
    list.replaceChildren(el("li", { text: "无历史工单（首次来电）" }));
  } else {
    list.replaceChildren(...history.map((item) => el("li", { class: "history" },
      orderLink(item.order_number), ` ${shanghaiTime(item.created_at)}`
      + ` · ${CATEGORY_LABELS[item.category] || item.category || ""}`
      + ` · ${STATUS_LABELS[item.status] || item.status || ""}`)));
  }
  list.dataset.count = String(history.length);
  stamp(list);
}

function orderLink(number) {
  return el("a", { href: `#order=${number}`, "data-order": number, text: number,
    onclick: (event) => { event.preventDefault(); loadOrder(number, true); } });
}

// -- the order form -------------------------------------------------------------------------

async function loadOrder(number, focus = false) {
  say("order-error", "");
  let order;
  try {
    order = await api("GET", `/api/v1/workorders/${number}`, undefined,
      { "X-Access-Reason": "agent_console" });
  } catch (error) {
    say("order-error", errorText(error));
    return;
  }
  state.order = order;
  $("f-number").value = order.number;
  $("f-status").value = STATUS_LABELS[order.status] || order.status;
  $("f-category").value = order.category_label;
  $("f-caller").value = order.caller_number || "";
  $("f-name").value = order.caller_name || "";
  $("f-callback").value = order.callback_number || "";
  $("f-address").value = order.address || "";
  $("f-confidential").checked = Boolean(order.confidential);
  $("f-description").value = order.description
    || (order.transcript_status === "pending" ? "（录音转写中…）" : "");
  const life = order.lifecycle || {};
  $("f-due").value = dueText(life, order.due_is_estimate);
  $("f-domain").value = life.domain || "";
  $("f-region").value = life.region || order.region || "";
  $("f-about").value = life.about_unit || "";
  $("dispatch").disabled = order.status !== "received";
  showRecording(order);
  loadLedger(order.number);
  if (order.transcript_status === "pending") pollTranscript(order.number);
  if (focus) $("f-name").focus();
}

// The handling deadline in China time. A deadline counted past the holiday data is only an
// estimate (order.due_is_estimate), and the call taker must see that rather than trust it.
function dueText(life, estimate) {
  const handling = (life.deadlines || []).find((d) => d.name === "handling");
  const when = handling ? new Date(handling.due).toLocaleString("zh-CN",
    { timeZone: "Asia/Shanghai", hour12: false }) : "";
  return estimate ? `${when}（时限含估算：节假日数据未覆盖）` : when;
}

function showRecording(order) {
  if (!state.current || state.current.order_number !== order.number) return;
  if (!order.recording) {
    $("pop-recording").replaceChildren(el("p", { text: "无录音" }));
    return;
  }
  const audio = el("audio", { controls: true, preload: "none",
    src: `/api/v1/workorders/${order.number}/recording`, "aria-label": "来电录音" });
  $("pop-recording").replaceChildren(audio);
}

function pollTranscript(number) {
  clearTimeout(state.transcriptPoll);
  let tries = 0;
  const poll = async () => {
    tries += 1;
    if (!state.order || state.order.number !== number || tries > 40) return;
    try {
      const order = await api("GET", `/api/v1/workorders/${number}`, undefined,
        { "X-Access-Reason": "agent_console" });
      if (order.transcript_status !== "pending") {
        state.order = order;
        $("f-description").value = order.description || "";
        return;
      }
    } catch {
      // try again
    }
    state.transcriptPoll = setTimeout(poll, 3000);
  };
  state.transcriptPoll = setTimeout(poll, 3000);
}

async function loadLedger(number) {
  try {
    const ledger = await api("GET", `/api/v1/workorders/${number}/ledger`);
    $("ledger").replaceChildren(...ledger.items.map((entry) => el("li", {
      text: `${shanghaiTime(entry.at)} ${entry.actor} ${ACTION_LABELS[entry.action] || entry.action}`
        + ` → ${STATUS_LABELS[entry.state] || entry.state}${entry.note ? `：${entry.note}` : ""}`,
    })));
  } catch (error) {
    $("ledger").replaceChildren(el("li", { class: "error", text: errorText(error) }));
  }
}

const ACTION_LABELS = {
  receive: "受理", link_repeat: "关联重复来电", classify: "分类处理", instruct: "批示", sign: "签收",
  start: "办理", return: "退单", object: "异议", review_objection: "异议审核", reassign: "改派",
  request_extension: "申请延期", decide_extension: "延期审批", feedback: "反馈", cosign: "核签",
  reply: "回复", callback: "回访", close: "办结", supervise: "督办", warn: "预警",
  mark_validity: "有效性", transfer_attempt: "转接",
};

function valueOrNull(id) {
  const value = $(id).value.trim();
  return value ? value : null;
}

async function saveCaller() {
  if (!state.order) {
    say("order-error", "请先打开一个工单");
    return;
  }
  say("order-error", "");
  try {
    await api("PUT", `/api/v1/workorders/${state.order.number}/caller`, {
      caller_name: valueOrNull("f-name"), callback_number: valueOrNull("f-callback"),
      address: valueOrNull("f-address"), confidential: $("f-confidential").checked,
    });
    say("order-message", "来电人信息已保存");
  } catch (error) {
    say("order-error", errorText(error));
    if (error.field) focusField(error.field);
  }
}

const FIELD_INPUTS = { caller_name: "f-name", callback_number: "f-callback", address: "f-address",
  mode: "f-mode", domain: "f-domain", region: "f-region", about_unit: "f-about", note: "f-note" };

function focusField(field) {
  const id = FIELD_INPUTS[field];
  if (id) $(id).focus();
}

$("save-caller").addEventListener("click", saveCaller);

$("order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.order) {
    say("order-error", "请先打开一个工单");
    return;
  }
  say("order-error", "");
  say("order-message", "");
  const body = { action: "classify", mode: $("f-mode").value, note: $("f-note").value.trim() };
  for (const [name, id] of [["domain", "f-domain"], ["region", "f-region"], ["about_unit", "f-about"]]) {
    const value = valueOrNull(id);
    if (value) body[name] = value;
  }
  const button = $("dispatch");
  button.disabled = true;
  try {
    const result = await api("POST", `/api/v1/workorders/${state.order.number}/actions`, body,
      { "Idempotency-Key": newKey() });
    const unit = result.entry.data && result.entry.data.unit;
    say("order-message", `已提交：${$("f-mode").selectedOptions[0].textContent}`
      + `${unit ? `，承办单位 ${unitName(unit)}` : ""}`);
    await loadOrder(state.order.number);
  } catch (error) {
    say("order-error", errorText(error));
    if (error.field) focusField(error.field);
    button.disabled = false;
  }
});

function unitName(id) {
  const unit = state.me.units.find((candidate) => candidate.id === id);
  return unit ? unit.name : id;
}

// -- search ---------------------------------------------------------------------------------

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("search-error", "");
  const query = $("search-query").value.trim();
  const results = $("search-results");
  if (!query) {
    say("search-error", "请输入来电号码或工单号");
    return;
  }
  try {
    let orders;
    if (ORDER_NUMBER.test(query)) {
      orders = [await api("GET", `/api/v1/workorders/${query}`, undefined,
        { "X-Access-Reason": "agent_search" })];
    } else {
      orders = (await api("GET", `/api/v1/workorders?caller=${encodeURIComponent(query)}&limit=20`,
        undefined, { "X-Access-Reason": "agent_search" })).items;
    }
    results.replaceChildren(...(orders.length ? orders.map((order) => el("li", {},
      orderLink(order.number), ` ${shanghaiTime(order.received_at)} · ${order.caller_number}`
      + ` · ${order.category_label} · ${STATUS_LABELS[order.status] || order.status}`))
      : [el("li", { text: "没有找到工单" })]));
  } catch (error) {
    say("search-error", error.status === 404 ? "没有找到工单" : errorText(error));
  }
});

// -- keyboard -------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (!state.me) return;
  if (event.ctrlKey && event.key === "Enter" && $("order-form").contains(event.target)) {
    event.preventDefault();
    $("order-form").requestSubmit();
    return;
  }
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const actions = {
    Digit1: () => setPresence("ready"),
    Digit2: () => setPresence("away"),
    Digit3: () => setPresence("after_call"),
    KeyP: () => $("pop").focus(),
    KeyO: () => $("f-name").focus(),
    KeyK: () => $("search-query").focus(),
    KeyS: () => saveCaller(),
  };
  const action = actions[event.code];
  if (action) {
    event.preventDefault();
    action();
  }
});

start();
