// Calls to the work-order API with the console session (cookie + CSRF token).
// Errors come back as {error: {code, message, field}}; they are thrown as ApiError.

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrfToken) init.headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "http_error",
      error.message || `HTTP ${response.status}`, error.field);
  }
  return data;
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// A live event stream over /console/ws, reconnecting with backoff.
export function openEvents(onMessage, onState) {
  let backoff = 500;
  let socket = null;
  let stopped = false;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/console/ws`);
    socket.addEventListener("open", () => { backoff = 500; onState("open"); });
    socket.addEventListener("message", (event) => {
      try {
        onMessage(JSON.parse(event.data));
      } catch (error) {
        console.error("bad event", error);
      }
    });
    socket.addEventListener("close", () => {
      onState("closed");
      if (stopped) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    });
  };
  connect();
  return { stop() { stopped = true; if (socket) socket.close(); } };
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function shanghaiDate(date = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(date);
}

// A wall-clock time of day as the hotline reads it (Asia/Shanghai), not the browser's zone.
export function shanghaiClock(date = new Date()) {
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false,
  }).format(date);
}

export function shanghaiTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

export const STATUS_LABELS = {
  received: "受理", dispatched: "已交办", objected: "异议", returned: "退单",
  signed: "已签收", in_progress: "办理中", investigating: "直办中", escalated: "呈办",
  feedback: "已反馈", replied: "已回复", closed: "办结",
};

export const PRESENCE_LABELS = {
  ready: "就绪", busy: "通话中", after_call: "话后处理", away: "离开", offline: "离线",
};

export const CATEGORY_LABELS = {
  consult: "咨询", complaint: "投诉", report: "举报", suggestion: "意见建议", help: "求助",
  emergency: "紧急",
};
