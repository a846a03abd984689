/* oohbot web console. Plain JS, no framework. Every string from the server is set with
   textContent, never parsed as markup, so user-typed text is shown, not interpreted. */
"use strict";

(function () {
  const API = "/web/api";
  const SEND_ATTEMPTS = 5;  // an event is sent at most this often, 1, 2, 3, 4 s apart
  const STORAGE_KEY = "oohbot.identity";
  const state = {
    officer: "", source: null, statusTimer: 0, seen: new Map(), uid: 0, clock: null, clockTimer: 0,
  };
  const $ = (id) => document.getElementById(id);

  // --- tiny DOM builder --------------------------------------------------------------------

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const uid = (stem) => `${stem}-${++state.uid}`;

  // --- server calls ------------------------------------------------------------------------

  async function call(path, body) {
    const init = body === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    const response = await fetch(API + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || `The console answered ${response.status}.`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function eventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  async function send(event) {
    // One id per event: sent again after a dropped connection, or when the service could not
    // save it (503, as Slack and Teams are refused), and the server handles it once.
    const body = { officer: state.officer, id: eventId(), ...event };
    for (let attempt = 1; ; attempt++) {
      try {
        const data = await call("/event", body);
        for (const entry of data.entries || []) upsert(entry, true);
        return data;
      } catch (error) {
        const dropped = error instanceof TypeError;  // fetch itself failed: no answer came
        const refused = error.status === 503;  // not saved now: sent again under the same id
        if ((dropped || refused) && attempt < SEND_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
          continue;
        }
        showLocalError(dropped ? "The connection dropped. Please send that again." : error.message);
        return null;
      }
    }
  }

  // --- rendering messages ------------------------------------------------------------------

  function render(message, where, entryId, live) {
    switch (message.type) {
      case "question": return renderQuestion(message, where, live);
      case "card": return renderCard(message, where);
      case "form": return renderForm(message, where, entryId, live);
      default: return h("p", { class: "text", text: message.text });
    }
  }

  // ``about``: what the button acts on, for screen readers ("Change" → "Change 6. Date of birth").
  function actionButton(action, where, about) {
    const click = () => send({
      kind: "action", action: action.action_id, value: action.value, where, label: action.label,
    });
    const button = h("button", {
      type: "button",
      class: `btn ${action.style || "default"}`,
      "data-id": action.action_id,
      value: action.value,
      onclick: () => (action.confirm ? askFirst(button, action, click) : click()),
    }, action.label, about ? h("span", { class: "visually-hidden", text: ` ${about}` }) : null);
    return button;
  }

  // What cannot be undone is asked about first, in place: the question, then "Yes" or "No".
  function askFirst(button, action, click) {
    const questionId = uid("confirm");
    const no = h("button", { type: "button", class: "btn", "data-id": `${action.action_id}:no`, text: "No, go back" });
    const yes = h("button", {
      type: "button", class: "btn danger sure", "data-id": `${action.action_id}:yes`, value: action.value,
      text: `Yes, ${action.label.toLowerCase()}`,
    });
    const group = h("div", { class: "confirm", role: "group", "aria-labelledby": questionId },
      h("p", { id: questionId, tabindex: "-1", text: action.confirm }),
      h("div", { class: "actions" }, yes, no));
    yes.addEventListener("click", () => { yes.disabled = true; no.disabled = true; click(); });
    no.addEventListener("click", () => { group.replaceWith(button); button.focus(); });
    button.replaceWith(group);
    group.querySelector("p").focus();
  }

  function renderCard(card, where) {
    const titleId = uid("card");
    const node = h("article", { class: "card", "data-card-id": card.card_id, "aria-labelledby": titleId },
      h("h3", { id: titleId, tabindex: "-1", text: card.title }));
    if (card.fields.length) {
      const list = h("dl", { class: "fields" });
      for (const field of card.fields) {
        list.append(h("div", { class: "field" },
          h("dt", { text: field.label }),
          h("dd", {}, h("span", { text: field.value }),
            field.action ? actionButton(field.action, where, field.label) : null)));
      }
      node.append(list);
    }
    if (card.status) node.append(h("p", { class: "card-status", text: card.status }));
    if (card.actions.length) {
      node.append(h("div", { class: "actions" }, ...card.actions.map((a) => actionButton(a, where))));
    }
    return node;
  }

  function renderQuestion(question, where, live) {
    const promptId = uid("ask");
    const errorId = question.error ? uid("error") : null;
    const node = h("div", {
      class: question.error ? "question question--error" : "question",
      "data-id": `ask:${question.field}`, role: "group", "aria-labelledby": promptId,
      "aria-describedby": errorId,
    });
    if (question.progress) node.append(h("p", { class: "progress", text: question.progress }));
    node.append(h("p", { class: "prompt", id: promptId, text: question.prompt }));
    if (question.error) {
      node.append(h("p", { class: "error-message", id: errorId, role: live ? "alert" : null },
        h("span", { class: "visually-hidden", text: "Error: " }), question.error));
      node.dataset.errorId = errorId;
    }
    if (question.hint) node.append(h("p", { class: "hint", text: question.hint }));
    if (question.choices.length && question.multi) node.append(multiChoice(question, where));
    else if (question.choices.length) node.append(singleChoice(question, where));
    return node;
  }

  function singleChoice(question, where) {
    return h("div", { class: "choices" }, ...question.choices.map((choice) => h("button", {
      type: "button",
      class: "btn choice",
      "data-id": `answer:${question.field}:${choice.key}`,
      value: choice.key,
      text: choice.label,
      onclick: () => send({
        kind: "action", action: `answer:${question.field}:${choice.key}`, value: choice.key,
        where, label: choice.label,
      }),
    })));
  }

  function multiChoice(question, where) {
    const boxes = question.choices.map((choice) => {
      const id = uid("opt");
      return h("div", { class: "check" },
        h("input", {
          type: "checkbox", id, name: question.field, value: choice.key,
          "data-id": `answer:${question.field}:${choice.key}`,
        }),
        h("label", { for: id, text: choice.label }));
    });
    const form = h("form", { class: "multi" },
      h("fieldset", {}, h("legend", { text: "Choose all that apply" }), ...boxes),
      h("button", { type: "submit", class: "btn primary", "data-id": `answer:${question.field}`, text: "Continue" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const checked = [...form.querySelectorAll("input:checked")];
      const labels = checked.map((box) => box.labels[0].textContent);
      send({
        kind: "form", action: `answer:${question.field}`, where,
        form: { [question.field]: checked.map((box) => box.value) },
        label: labels.join(", ") || "(none)",
      });
    });
    return form;
  }

  // GOV.UK patterns: a summary of the problems at the top (focused, announced, with links to
  // the inputs) and each error in red words beside its input. The browser's own validation is
  // off (novalidate): the server says what is wrong, in the same words on every platform.
  function renderForm(spec, where, entryId, live) {
    const titleId = uid("form");
    const form = h("form", {
      class: "form", "data-form-id": spec.form_id, "aria-labelledby": titleId, novalidate: true,
    }, h("h3", { id: titleId, text: spec.title }));
    const shown = spec.fields.map((field) => formField(spec.prefix, field));
    const errors = shown.filter((f) => f.error);
    if (errors.length) form.append(errorSummary(errors, live));
    for (const field of shown) form.append(field.node);
    const submit = h("button", { type: "submit", class: "btn primary", text: spec.submit_label });
    form.append(submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      submit.textContent = "Sending…";
      const sent = await send({
        kind: "form", action: spec.form_id, where, form: formValues(form, spec),
        form_ref: spec.ref, form_context: spec.context, label: `Sent: ${spec.title}`, entry: entryId,
      });
      if (!sent && form.isConnected) {
        submit.disabled = false;
        submit.textContent = spec.submit_label;
      }
    });
    return form;
  }

  function errorSummary(errors, live) {
    const titleId = uid("problem");
    return h("div", {
      class: "error-summary", tabindex: "-1", role: live ? "alert" : null, "aria-labelledby": titleId,
    },
    h("h4", { id: titleId, text: "There is a problem" }),
    h("ul", {}, ...errors.map((field) => h("li", {}, h("a", {
      href: `#${field.target}`,
      text: field.error,
      onclick: (event) => {
        event.preventDefault();
        const target = document.getElementById(field.target);
        if (!target) return;
        target.focus();
        (target.closest(".input") || target).scrollIntoView({ block: "start" });
      },
    })))));
  }

  function formField(prefix, field) {
    const dataId = `${prefix}:${field.key}`;
    const label = field.optional ? `${field.label} (optional)` : field.label;
    const hintId = field.hint ? uid("hint") : null;
    const errorId = field.error ? uid("error") : null;
    const hint = hintId ? h("p", { class: "hint", id: hintId, text: field.hint }) : null;
    const error = errorId ? h("p", { class: "error-message", id: errorId },
      h("span", { class: "visually-hidden", text: "Error: " }), field.error) : null;
    const describedBy = [hintId, errorId].filter(Boolean).join(" ") || null;
    const wrap = field.error ? "input input--error" : "input";
    if (field.kind === "multi") {
      const chosen = Array.isArray(field.value) ? field.value : [field.value];
      const boxes = field.choices.map((choice) => {
        const id = uid("opt");
        return h("div", { class: "check" },
          h("input", { type: "checkbox", id, name: field.key, value: choice.key, checked: chosen.includes(choice.key) }),
          h("label", { for: id, text: choice.label }));
      });
      const node = h("fieldset", { class: wrap, "data-id": dataId, "aria-describedby": describedBy },
        h("legend", { text: label }), hint, error, ...boxes);
      return { node, error: field.error, target: boxes.length ? boxes[0].firstChild.id : "" };
    }
    const id = uid("in");
    const node = h("div", { class: wrap }, h("label", { for: id, text: label }), hint, error,
      control(field, {
        id, name: field.key, "data-id": dataId, "aria-describedby": describedBy,
        "aria-invalid": field.error ? "true" : null, "aria-required": field.optional ? null : "true",
      }));
    return { node, error: field.error, target: id };
  }

  function control(field, attrs) {
    const value = Array.isArray(field.value) ? field.value.join(", ") : field.value;
    if (field.kind === "long_text") return h("textarea", { ...attrs, rows: "4", text: value });
    if (field.kind === "choice") {
      const select = h("select", attrs, h("option", { value: "", text: "Choose…" }));
      for (const choice of field.choices) {
        select.append(h("option", { value: choice.key, text: choice.label, selected: choice.key === value }));
      }
      return select;
    }
    // Dates are typed (3/5/1980, May 1980, about 40, unknown): a date picker cannot say "about".
    const type = field.kind === "phone" ? "tel" : "text";
    return h("input", { ...attrs, type, value, autocomplete: "off" });
  }

  function formValues(form, spec) {
    const values = {};
    for (const field of spec.fields) {
      const inputs = [...form.elements].filter((el) => el.name === field.key);
      values[field.key] = field.kind === "multi"
        ? inputs.filter((box) => box.checked).map((box) => box.value)
        : (inputs[0] ? inputs[0].value : "");
    }
    return values;
  }

  // --- the two logs --------------------------------------------------------------------------

  const sequence = (id) => Number(String(id).split("-").pop()) || 0;

  function listFor(entry) {
    return entry.box === "channel" ? $("feed") : $("inbox");
  }

  function upsert(entry, live) {
    const where = entry.box === "channel" ? "channel" : "chat";
    const json = JSON.stringify(entry.message);
    const known = state.seen.get(entry.id);
    if (known && known.json === json) return;
    const node = h("li", { class: `entry from-${entry.origin}`, "data-entry-id": entry.id },
      h("span", { class: "visually-hidden", text: entry.origin === "me" ? "You: " : "oohbot: " }),
      render(entry.message, where, entry.id, live));
    state.seen.set(entry.id, { node, json });
    if (known) return replace(known.node, node, entry, live);
    insertInOrder(listFor(entry), node, sequence(entry.id));
    if (where === "chat" && entry.message.type === "question") markComposer(node, entry.message);
    if (live && where === "chat" && entry.origin === "bot") focusPrompt(node, entry.message);
  }

  function replace(old, node, entry, live) {
    const hadFocus = old.contains(document.activeElement);
    old.replaceWith(node);
    const summary = node.querySelector(".error-summary");
    if (summary && live) return focusInView(summary, "start");
    if (entry.message.type === "card") announce(`Updated: ${entry.message.title}`);
    if (live && isReview(entry.message)) return focusInView(node.querySelector("h3"), "start");
    if (hadFocus) (node.querySelector("button, input, select, textarea") || node.querySelector("h3") || node).focus();
  }

  function insertInOrder(list, node, seq) {
    const after = [...list.children].find((child) => sequence(child.dataset.entryId) > seq);
    list.insertBefore(node, after || null);
    if (!after) {
      list.scrollTop = list.scrollHeight;
      if (list.id === "inbox" && state.live) node.scrollIntoView({ block: "nearest" });
    }
  }

  const isReview = (message) => message.type === "card" && String(message.card_id).startsWith("review:");

  function focusInView(target, block) {
    if (!target) return;
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block });
  }

  // The message box belongs to the latest question: its error describes the box too.
  function markComposer(node, question) {
    const box = $("message");
    const ids = ["message-hint", node.querySelector(".question").dataset.errorId].filter(Boolean);
    box.setAttribute("aria-describedby", ids.join(" "));
    if (question.error) box.setAttribute("aria-invalid", "true");
    else box.removeAttribute("aria-invalid");
  }

  function focusPrompt(node, message) {
    if (message.type === "question" && message.field === "review") {
      // Read the summary first: it is above the question, and may be taller than the screen.
      const reviews = [...$("inbox").querySelectorAll('[data-card-id^="review:"] h3')];
      if (reviews.length) return focusInView(reviews[reviews.length - 1], "start");
    }
    if (message.type === "question" && !message.choices.length) {
      $("message").focus({ preventScroll: true });
      return node.scrollIntoView({ block: "nearest" });
    }
    if (message.type !== "question" && message.type !== "form") return;
    const target = node.querySelector(".error-summary") || node.querySelector("button, input, select, textarea");
    if (target) target.focus({ preventScroll: true });
    node.scrollIntoView({ block: "nearest" });
  }

  function showLocalError(text) {
    const node = h("li", { class: "entry from-bot error", role: "alert" }, h("p", { class: "text", text }));
    $("inbox").append(node);
    $("inbox").scrollTop = $("inbox").scrollHeight;
  }

  function announce(text) {
    $("announce").textContent = text;
  }

  // --- live stream -------------------------------------------------------------------------

  function connect() {
    if (state.source) state.source.close();
    const officer = state.officer;
    const source = new EventSource(`${API}/events?officer=${encodeURIComponent(officer)}`);
    source.addEventListener("snapshot", (event) => onSnapshot(JSON.parse(event.data)));
    source.addEventListener("entry", (event) => { upsert(JSON.parse(event.data), true); refreshSoon(); });
    source.addEventListener("clock", (event) => { showClock(JSON.parse(event.data)); refreshSoon(); });
    source.addEventListener("open", () => setLive("Live"));
    source.addEventListener("error", () => setLive("Reconnecting…"));
    state.source = source;
  }

  function onSnapshot(snapshot) {
    if (snapshot.officer !== state.officer) return;
    state.live = false;
    $("inbox").replaceChildren();
    $("feed").replaceChildren();
    state.seen.clear();
    for (const entry of [...snapshot.inbox, ...snapshot.channel]) upsert(entry, false);
    $("channel-note").hidden = snapshot.channel_member;
    document.body.dataset.channel = snapshot.channel_member ? "member" : "none";
    showClock(snapshot.clock);
    setLive("Live");
    state.live = true;
    document.body.dataset.ready = "true";
  }

  function setLive(text) {
    $("live").textContent = text;
  }

  // --- status view and timeline --------------------------------------------------------------

  function refreshSoon() {
    clearTimeout(state.statusTimer);
    state.statusTimer = setTimeout(refreshStatus, 250);
  }

  async function refreshStatus() {
    if (!state.officer) return;
    if ($("home").querySelector(".confirm")) return refreshSoon(); // not while asking "are you sure?"
    try {
      const data = await call(`/home?officer=${encodeURIComponent(state.officer)}`);
      $("home").replaceChildren(...data.messages.map((m) => render(m, "status")));
    } catch (error) {
      $("home").replaceChildren(h("p", { class: "error", text: error.message }));
    }
  }

  async function showTimeline(event) {
    event.preventDefault();
    const ref = $("timeline-ref").value.trim();
    if (!ref) return $("timeline-ref").focus();
    const data = await send({ kind: "action", action: "timeline", value: ref, where: "timeline" });
    if (data) $("timeline").replaceChildren(...data.messages.map((m) => render(m, "status")));
  }

  // --- identity and clock --------------------------------------------------------------------

  function officerLabel(officer) {
    const until = officer.valid_until ? `, valid until ${officer.valid_until}` : "";
    return `${officer.name} — ${officer.post}, ${officer.org} (${officer.roles.join(", ")}${until})`;
  }

  function choose(officerId, officers) {
    state.officer = officerId;
    state.live = false;
    sessionStorage.setItem(STORAGE_KEY, officerId);
    forgetAs(officerId);
    document.body.dataset.ready = "false";
    const officer = officers.find((o) => o.id === officerId);
    $("notice").textContent = officer
      ? `You are ${officer.name} (${officer.post}). Messages stay in this console's memory until it restarts.`
      : "Choose who you are to start.";
    for (const id of ["message", "send", "refresh", "timeline-ref", "timeline-show"]) $(id).disabled = !officer;
    $("inbox").replaceChildren();
    $("feed").replaceChildren();
    $("home").replaceChildren();
    $("timeline").replaceChildren();
    state.seen.clear();
    if (!officer) return;
    connect();
    refreshStatus();
  }

  // ?as=<id> opens the console as someone; once another identity is picked it no longer says
  // who you are, so it goes (a reload keeps the new identity through sessionStorage).
  function forgetAs(officerId) {
    const params = new URLSearchParams(location.search);
    if (!params.has("as") || params.get("as") === officerId) return;
    params.delete("as");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  }

  function showClock(clock) {
    $("clock").hidden = !clock.enabled;
    const hours = Math.round(clock.offset_seconds / 360) / 10;
    $("clock-offset").textContent = hours ? `${hours} h ahead of real time` : "Real time";
    state.clock = clock.now ? { at: Date.parse(clock.now), read: Date.now(), zone: clock.timezone } : null;
    tickClock();
    clearInterval(state.clockTimer);
    state.clockTimer = setInterval(tickClock, 30000);
  }

  // The time the service works to: what every deadline and reminder is measured against.
  function tickClock() {
    if (!state.clock) return;
    const now = new Date(state.clock.at + Date.now() - state.clock.read);
    const shown = new Intl.DateTimeFormat("en-GB", {
      timeZone: state.clock.zone, weekday: "short", day: "numeric", month: "short",
      hour: "2-digit", minute: "2-digit",
    }).format(now);
    $("clock-now").textContent = `Time now: ${shown}`;
  }

  async function advance(button) {
    const buttons = $("clock").querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      showClock(await call("/clock", { hours: Number(button.dataset.hours) }));
    } catch (error) {
      showLocalError(error.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  async function start() {
    const config = await call("/config");
    const select = $("identity");
    for (const officer of config.officers) {
      select.append(h("option", { value: officer.id, text: officerLabel(officer) }));
    }
    showClock(config.clock);
    select.addEventListener("change", () => choose(select.value, config.officers));
    $("clock").querySelectorAll("button").forEach((b) => b.addEventListener("click", () => advance(b)));
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("message").value;
      if (!text.trim()) return;
      $("message").value = "";
      send({ kind: "text", text, where: "chat" });
    });
    $("refresh").addEventListener("click", refreshStatus);
    $("timeline-form").addEventListener("submit", showTimeline);
    const wanted = new URLSearchParams(location.search).get("as") || sessionStorage.getItem(STORAGE_KEY);
    if (wanted && config.officers.some((o) => o.id === wanted)) {
      select.value = wanted;
      choose(wanted, config.officers);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => { $("notice").textContent = `The console could not start: ${error.message}`; });
  });
})();
