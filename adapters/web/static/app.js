/* oohbot web console. Plain JS, no framework. Every string from the server is set with
   textContent, never parsed as markup, so user-typed text is shown, not interpreted. */
"use strict";

(function () {
  const API = "/web/api";
  const STORAGE_KEY = "oohbot.identity";
  const state = { officer: "", source: null, statusTimer: 0, seen: new Map(), uid: 0 };
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
    if (!response.ok) throw new Error(data.error || `The console answered ${response.status}.`);
    return data;
  }

  async function send(event) {
    try {
      const data = await call("/event", { officer: state.officer, ...event });
      for (const entry of data.entries || []) upsert(entry, true);
      return data;
    } catch (error) {
      showLocalError(error.message);
      return null;
    }
  }

  // --- rendering messages ------------------------------------------------------------------

  function render(message, where) {
    switch (message.type) {
      case "question": return renderQuestion(message, where);
      case "card": return renderCard(message, where);
      case "form": return renderForm(message, where);
      default: return h("p", { class: "text", text: message.text });
    }
  }

  function actionButton(action, where) {
    return h("button", {
      type: "button",
      class: `btn ${action.style || "default"}`,
      "data-id": action.action_id,
      value: action.value,
      text: action.label,
      onclick: () => send({
        kind: "action", action: action.action_id, value: action.value, where, label: action.label,
      }),
    });
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
            field.action ? actionButton(field.action, where) : null)));
      }
      node.append(list);
    }
    if (card.status) node.append(h("p", { class: "card-status", text: card.status }));
    if (card.actions.length) {
      node.append(h("div", { class: "actions" }, ...card.actions.map((a) => actionButton(a, where))));
    }
    return node;
  }

  function renderQuestion(question, where) {
    const promptId = uid("ask");
    const node = h("div", {
      class: "question", "data-id": `ask:${question.field}`, role: "group", "aria-labelledby": promptId,
    }, h("p", { class: "prompt", id: promptId, text: question.prompt }));
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

  function renderForm(spec, where) {
    const titleId = uid("form");
    const form = h("form", { class: "form", "data-form-id": spec.form_id, "aria-labelledby": titleId },
      h("h3", { id: titleId, text: spec.title }));
    for (const field of spec.fields) form.append(formField(spec.prefix, field));
    form.append(h("button", { type: "submit", class: "btn primary", text: spec.submit_label }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send({
        kind: "form", action: spec.form_id, where, form: formValues(form, spec),
        form_ref: spec.ref, form_context: spec.context, label: `Sent: ${spec.title}`,
      });
    });
    return form;
  }

  function formField(prefix, field) {
    const dataId = `${prefix}:${field.key}`;
    const label = field.optional ? `${field.label} (optional)` : field.label;
    const hintId = field.hint ? uid("hint") : null;
    const hint = hintId ? h("p", { class: "hint", id: hintId, text: field.hint }) : null;
    if (field.kind === "multi") {
      const chosen = Array.isArray(field.value) ? field.value : [field.value];
      return h("fieldset", { class: "input", "data-id": dataId, "aria-describedby": hintId },
        h("legend", { text: label }), hint,
        ...field.choices.map((choice) => {
          const id = uid("opt");
          return h("div", { class: "check" },
            h("input", { type: "checkbox", id, name: field.key, value: choice.key, checked: chosen.includes(choice.key) }),
            h("label", { for: id, text: choice.label }));
        }));
    }
    const id = uid("in");
    return h("div", { class: "input" }, h("label", { for: id, text: label }), hint,
      control(field, { id, name: field.key, "data-id": dataId, "aria-describedby": hintId, required: !field.optional }));
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
    const iso = /^\d{4}-\d{2}-\d{2}$/;
    const type = field.kind === "phone" ? "tel"
      : field.kind === "date" && (value === "" || iso.test(value)) ? "date" : "text";
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
      render(entry.message, where));
    state.seen.set(entry.id, { node, json });
    if (known) return replace(known.node, node, entry);
    insertInOrder(listFor(entry), node, sequence(entry.id));
    if (live && where === "chat" && entry.origin === "bot") focusPrompt(node, entry.message);
  }

  function replace(old, node, entry) {
    const hadFocus = old.contains(document.activeElement);
    old.replaceWith(node);
    if (entry.message.type === "card") announce(`Updated: ${entry.message.title}`);
    if (hadFocus) (node.querySelector("button, input, select, textarea") || node.querySelector("h3") || node).focus();
  }

  function insertInOrder(list, node, seq) {
    const after = [...list.children].find((child) => sequence(child.dataset.entryId) > seq);
    list.insertBefore(node, after || null);
    if (!after) list.scrollTop = list.scrollHeight;
  }

  function focusPrompt(node, message) {
    if (message.type === "question" && !message.choices.length) return $("message").focus();
    if (message.type !== "question" && message.type !== "form") return;
    const target = node.querySelector("button, input, select, textarea");
    if (target) target.focus();
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
    $("inbox").replaceChildren();
    $("feed").replaceChildren();
    state.seen.clear();
    for (const entry of [...snapshot.inbox, ...snapshot.channel]) upsert(entry, false);
    $("channel-note").hidden = snapshot.channel_member;
    showClock(snapshot.clock);
    setLive("Live");
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
    sessionStorage.setItem(STORAGE_KEY, officerId);
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

  function showClock(clock) {
    $("clock").hidden = !clock.enabled;
    const hours = Math.round(clock.offset_seconds / 360) / 10;
    $("clock-offset").textContent = hours ? `Clock is ${hours} h ahead of real time` : "Real time";
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
