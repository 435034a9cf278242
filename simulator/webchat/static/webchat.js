// Rehearsal web chat: personas talking to the bot through the local simulator.
//
// Everything shown is built with DOM nodes and textContent; no HTML string is ever parsed, so the
// bot's formatting comes only from the entities (bold, links...) the simulator parsed from it.
"use strict";

(() => {
  const TEXTS = {
    fr: {
      title: "Répétition",
      subtitle: "Rien n'est envoyé sur Telegram : tout se passe sur cet ordinateur.",
      live_on: "Connecté",
      live_off: "Hors ligne, reconnexion…",
      personas: "Personnes",
      add_persona: "+ Ajouter",
      add_persona_title: "Ajouter une personne",
      name: "Prénom",
      role: "Rôle",
      language: "Langue de son téléphone",
      cancel: "Annuler",
      add: "Ajouter",
      ok: "OK",
      empty_chat: "Aucun message pour l'instant.",
      start: "Démarrer",
      replying_to: "Réponse à",
      cancel_reply: "Annuler la réponse",
      send_photo: "📷 Photo",
      send_document: "📄 Fichier",
      commands: "Commandes",
      attach: "Joindre un fichier",
      placeholder: "Message",
      keyboard: "Clavier du bot",
      send: "Envoyer",
      reply: "↩ Répondre",
      edited: "modifié",
      private_chat: "Discussion avec {bot}",
      download: "Télécharger",
      no_commands: "Pas encore de commandes.",
      button_gone: "Ce bouton n'est plus affiché.",
      no_answer: "Le bot n'a pas répondu à ce bouton.",
      error: "Erreur : {reason}",
      link: "Lien",
      roles: {
        resident: "Habitant·e",
        student: "Étudiant·e",
        facilitator: "Animation (équipe)",
        organiser: "Organisation",
        desk: "Accueil (bénévole)",
      },
    },
    en: {
      title: "Rehearsal",
      subtitle: "Nothing is sent to Telegram: everything happens on this computer.",
      live_on: "Connected",
      live_off: "Offline, reconnecting…",
      personas: "People",
      add_persona: "+ Add",
      add_persona_title: "Add a person",
      name: "First name",
      role: "Role",
      language: "Language of their phone",
      cancel: "Cancel",
      add: "Add",
      ok: "OK",
      empty_chat: "No messages yet.",
      start: "Start",
      replying_to: "Reply to",
      cancel_reply: "Cancel the reply",
      send_photo: "📷 Photo",
      send_document: "📄 File",
      commands: "Commands",
      attach: "Attach a file",
      placeholder: "Message",
      keyboard: "Bot keyboard",
      send: "Send",
      reply: "↩ Reply",
      edited: "edited",
      private_chat: "Chat with {bot}",
      download: "Download",
      no_commands: "No commands yet.",
      button_gone: "This button is not shown any more.",
      no_answer: "The bot did not answer this button.",
      error: "Error: {reason}",
      link: "Link",
      roles: {
        resident: "Resident",
        student: "Student",
        facilitator: "Facilitator (staff)",
        organiser: "Organiser",
        desk: "Welcome desk",
      },
    },
  };

  const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:", "tel:"]);
  const $ = (id) => document.getElementById(id);

  const state = {
    lang: pickLanguage(),
    bot: null,
    roles: [],
    personas: new Map(), // id -> persona JSON
    current: null, // {personaId, chatId}
    chat: null, // the chat JSON of the current view
    shown: new Map(), // message id -> element, for the current chat
    data: new Map(), // message id -> message JSON, for the current chat (to redraw in another language)
    commands: [], // the "/" menu of the current chat (setMyCommands, by scope and language)
    keyboard: null,
    keyboardOpen: true,
    replyTo: null, // message JSON
    unread: new Map(), // "persona:chat" -> count
    loadToken: 0,
    pending: null, // live events for the chat being loaded, applied once it is drawn
  };

  // --- texts ------------------------------------------------------------------------------------

  function pickLanguage() {
    try {
      const saved = window.localStorage.getItem("webchat.lang");
      if (saved && TEXTS[saved]) return saved;
    } catch (_) {
      // storage may be disabled: French by default
    }
    return "fr";
  }

  function t(key, params) {
    const table = TEXTS[state.lang] || TEXTS.fr;
    let value = key in table ? table[key] : TEXTS.fr[key] || key;
    for (const [name, replacement] of Object.entries(params || {})) {
      value = value.split("{" + name + "}").join(String(replacement));
    }
    return value;
  }

  function roleLabel(role) {
    const labels = (TEXTS[state.lang] || TEXTS.fr).roles;
    return labels[role] || role;
  }

  function applyTexts() {
    document.documentElement.lang = state.lang;
    document.title = t("title") + " · hackbot";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    }
    for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
    const other = state.lang === "fr" ? "en" : "fr";
    $("lang-toggle").textContent = other.toUpperCase();
    $("lang-toggle").lang = other;
    fillRoleOptions();
  }

  // --- API --------------------------------------------------------------------------------------

  async function api(path, options) {
    const opts = options || {};
    const init = { method: opts.method || "GET", headers: {} };
    if (init.method !== "GET") init.headers["X-Webchat"] = "1";
    if (opts.json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.json);
    } else if (opts.form !== undefined) {
      init.body = opts.form;
    }
    const response = await fetch(path, init);
    let body = {};
    try {
      body = await response.json();
    } catch (_) {
      body = {};
    }
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function chatPath(personaId, chatId) {
    return "/webchat/api/personas/" + encodeURIComponent(personaId) + "/chats/" + encodeURIComponent(chatId);
  }

  // --- toasts and alerts -------------------------------------------------------------------------

  let toastTimer = null;
  function toast(text, isError) {
    const box = $("toast");
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 3500);
  }

  function showAlert(text) {
    $("alert-text").textContent = text;
    $("alert-dialog").showModal();
  }

  function fail(error) {
    toast(t("error", { reason: error.message || String(error) }), true);
  }

  // --- formatted text: entities to DOM ------------------------------------------------------------

  function safeUrl(raw) {
    try {
      const url = new URL(raw, window.location.href);
      return SAFE_SCHEMES.has(url.protocol) ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function link(href, text) {
    const url = safeUrl(href);
    if (url === null) {
      const span = document.createElement("span");
      span.className = "link-unsafe";
      return span;
    }
    const a = document.createElement("a");
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    if (text !== undefined) a.title = url;
    return a;
  }

  function elementFor(entity, covered) {
    switch (entity.type) {
      case "bold":
        return document.createElement("strong");
      case "italic":
        return document.createElement("em");
      case "underline":
        return document.createElement("u");
      case "strikethrough":
        return document.createElement("s");
      case "code":
        return document.createElement("code");
      case "pre":
        return document.createElement("pre");
      case "blockquote":
      case "expandable_blockquote":
        return document.createElement("blockquote");
      case "spoiler": {
        const span = document.createElement("span");
        span.className = "spoiler";
        span.addEventListener("click", () => span.classList.add("revealed"));
        return span;
      }
      case "text_link":
        return link(entity.url || "", covered);
      case "url":
        return link(/^[a-z][a-z0-9+.-]*:/i.test(covered) ? covered : "http://" + covered);
      case "email":
        return link("mailto:" + covered);
      case "phone_number":
        return link("tel:" + covered);
      case "bot_command": {
        const span = document.createElement("span");
        span.className = "command";
        span.setAttribute("role", "button");
        span.tabIndex = 0;
        span.addEventListener("click", () => sendText(covered, null));
        return span;
      }
      case "mention":
      case "text_mention":
      case "hashtag":
      case "cashtag": {
        const span = document.createElement("span");
        span.className = "mention";
        return span;
      }
      default:
        return document.createElement("span");
    }
  }

  function buildText(parent, text, start, end, entities) {
    let pos = start;
    let i = 0;
    while (i < entities.length) {
      const entity = entities[i];
      if (entity.offset < pos) {
        i += 1; // overlaps an entity already drawn: Telegram's own entities never do
        continue;
      }
      if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
      const stop = Math.min(entity.end, end);
      const inner = [];
      let j = i + 1;
      while (j < entities.length && entities[j].offset < stop) {
        inner.push({ ...entities[j], end: Math.min(entities[j].end, stop) });
        j += 1;
      }
      const el = elementFor(entity, text.slice(entity.offset, stop));
      buildText(el, text, entity.offset, stop, inner);
      parent.append(el);
      pos = stop;
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }

  // Offsets are UTF-16 code units, exactly how JavaScript indexes strings.
  function renderText(text, entities) {
    const fragment = document.createDocumentFragment();
    const sorted = (entities || [])
      .filter((e) => e.length > 0 && e.offset >= 0 && e.offset < text.length)
      .map((e) => ({ ...e, end: Math.min(e.offset + e.length, text.length) }))
      .sort((a, b) => a.offset - b.offset || b.end - a.end);
    buildText(fragment, text, 0, text.length, sorted);
    return fragment;
  }

  // --- personas ----------------------------------------------------------------------------------

  function avatar(name, role) {
    const el = document.createElement("span");
    el.className = "avatar";
    el.dataset.role = role;
    el.textContent = (Array.from(name.trim())[0] || "?").toUpperCase();
    el.setAttribute("aria-hidden", "true");
    return el;
  }

  function personaUnread(persona) {
    let total = 0;
    for (const chat of persona.chats) total += state.unread.get(persona.id + ":" + chat.id) || 0;
    return total;
  }

  function renderPersonas() {
    const list = $("persona-list");
    list.replaceChildren();
    for (const persona of state.personas.values()) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "persona";
      button.dataset.personaId = String(persona.id);
      button.dataset.role = persona.role;
      const selected = state.current && state.current.personaId === persona.id;
      button.setAttribute("aria-pressed", selected ? "true" : "false");
      const text = document.createElement("span");
      text.className = "persona-text";
      const name = document.createElement("span");
      name.className = "persona-name";
      name.textContent = persona.name;
      const role = document.createElement("span");
      role.className = "persona-role";
      role.textContent = roleLabel(persona.role);
      text.append(name, role);
      button.append(avatar(persona.name, persona.role), text);
      const unread = personaUnread(persona);
      if (unread > 0 && !selected) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(unread);
        button.append(badge);
      }
      button.addEventListener("click", () => openChat(persona.id, persona.chats[0].id));
      list.append(button);
      if (selected) requestAnimationFrame(() => button.scrollIntoView({ block: "nearest", inline: "nearest" }));
    }
  }

  function renderChatHead() {
    const who = $("chat-who");
    const tabs = $("chat-tabs");
    tabs.replaceChildren();
    who.replaceChildren();
    if (!state.current) return;
    const persona = state.personas.get(state.current.personaId);
    if (!persona) return;
    who.append(avatar(persona.name, persona.role), " ", persona.name);
    for (const chat of persona.chats) {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.className = "chat-tab";
      tab.setAttribute("role", "tab");
      tab.dataset.chatId = String(chat.id);
      tab.dataset.chatType = chat.type;
      const selected = chat.id === state.current.chatId;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.append(chat.type === "private" ? "🤖 " : "👥 ", chat.title);
      const unread = state.unread.get(persona.id + ":" + chat.id) || 0;
      if (unread > 0 && !selected) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(unread);
        tab.append(badge);
      }
      tab.addEventListener("click", () => openChat(persona.id, chat.id));
      tabs.append(tab);
    }
  }

  function fillRoleOptions() {
    const select = $("persona-role");
    const previous = select.value;
    select.replaceChildren();
    for (const role of state.roles) {
      const option = document.createElement("option");
      option.value = role.id;
      option.textContent = roleLabel(role.id);
      select.append(option);
    }
    if (previous) select.value = previous;
  }

  function addPersona(persona) {
    state.personas.set(persona.id, persona);
    renderPersonas();
  }

  // --- messages ----------------------------------------------------------------------------------

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1) + " Mo";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " ko";
    return bytes + " o";
  }

  function renderMedia(media) {
    if (!media) return null;
    if (media.kind === "location") {
      const a = link(
        "https://www.openstreetmap.org/?mlat=" + media.latitude + "&mlon=" + media.longitude,
      );
      a.className = "attachment";
      a.textContent = "📍 " + media.latitude + ", " + media.longitude;
      return a;
    }
    if (media.kind === "sticker" && media.emoji) {
      const span = document.createElement("span");
      span.className = "sticker";
      span.textContent = media.emoji;
      return span;
    }
    if (media.external_url) {
      const a = link(media.external_url);
      a.className = "attachment";
      a.textContent = "🔗 " + (media.file_name || media.external_url);
      return a;
    }
    if (!media.url) return null;
    if (media.kind === "photo" && media.inline) {
      const a = document.createElement("a");
      a.href = media.url;
      a.target = "_blank";
      a.rel = "noopener";
      const img = document.createElement("img");
      img.className = "media-photo";
      img.src = media.url;
      img.alt = "photo";
      img.loading = "lazy";
      a.append(img);
      return a;
    }
    const a = document.createElement("a");
    a.className = "attachment";
    a.href = media.url + "?download=1";
    a.setAttribute("download", media.file_name || "");
    a.dataset.kind = media.kind;
    const icon = document.createElement("span");
    icon.className = "attachment-icon";
    icon.textContent = media.kind === "voice" || media.kind === "audio" ? "🎵" : "📄";
    const text = document.createElement("span");
    const name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = media.file_name || media.kind;
    const size = document.createElement("span");
    size.className = "attachment-size";
    size.textContent = formatSize(media.size || 0) + " · " + t("download");
    text.append(name, document.createElement("br"), size);
    a.append(icon, text);
    return a;
  }

  function renderButtons(message) {
    if (!message.buttons || message.buttons.length === 0) return null;
    const box = document.createElement("div");
    box.className = "inline-keyboard";
    message.buttons.forEach((row, rowIndex) => {
      const line = document.createElement("div");
      line.className = "inline-row";
      row.forEach((button, colIndex) => {
        let el;
        if (button.kind === "url") {
          el = link(button.url);
          if (el.tagName !== "A") el = document.createElement("span");
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.addEventListener("click", () => press(message, rowIndex, colIndex, button.text, el));
        }
        el.className = "inline-button";
        el.textContent = button.text;
        el.dataset.row = String(rowIndex);
        el.dataset.col = String(colIndex);
        line.append(el);
      });
      box.append(line);
    });
    return box;
  }

  function timeOf(unix) {
    const date = new Date(unix * 1000);
    return date.toLocaleTimeString(state.lang === "fr" ? "fr-FR" : "en-GB", {
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function renderMessage(message) {
    const persona = state.personas.get(state.current.personaId);
    const outgoing = message.from.id === persona.id;
    const wrap = document.createElement("div");
    wrap.className = "msg " + (outgoing ? "out" : "in");
    wrap.dataset.messageId = String(message.id);
    wrap.dataset.from = message.from.is_bot ? "bot" : String(message.from.id);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    if (state.chat && state.chat.type === "group" && !outgoing) {
      const sender = document.createElement("div");
      sender.className = "sender";
      sender.textContent = message.from.name;
      bubble.append(sender);
    }
    if (message.reply_to) {
      const quote = document.createElement("button");
      quote.type = "button";
      quote.className = "quote";
      const who = document.createElement("strong");
      who.textContent = message.reply_to.from_name;
      const what = document.createElement("span");
      what.textContent = message.reply_to.text;
      quote.append(who, what);
      quote.addEventListener("click", () => flash(message.reply_to.id));
      bubble.append(quote);
    }
    const media = renderMedia(message.media);
    if (media) bubble.append(media);
    if (message.text) {
      const text = document.createElement("div");
      text.className = "text";
      text.append(renderText(message.text, message.entities));
      bubble.append(text);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const replyButton = document.createElement("button");
    replyButton.type = "button";
    replyButton.className = "reply-button";
    replyButton.textContent = t("reply");
    replyButton.addEventListener("click", () => startReply(message));
    meta.append(replyButton);
    if (message.edited) {
      const edited = document.createElement("span");
      edited.textContent = t("edited");
      meta.append(edited);
    }
    const time = document.createElement("time");
    time.textContent = timeOf(message.date);
    meta.append(time);
    bubble.append(meta);
    wrap.append(bubble);
    const buttons = renderButtons(message);
    if (buttons) wrap.append(buttons);
    return wrap;
  }

  function flash(messageId) {
    const el = state.shown.get(messageId);
    if (!el) return;
    el.scrollIntoView({ block: "center", behavior: "smooth" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1200);
  }

  function nearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function scrollToBottom() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
  }

  function upsertMessage(message, forceScroll) {
    const follow = forceScroll || nearBottom();
    const fresh = renderMessage(message);
    const existing = state.shown.get(message.id);
    if (existing) {
      existing.replaceWith(fresh);
    } else {
      const box = $("messages");
      // Keep message-id order (a reply from the POST and the live event may cross).
      let before = null;
      for (const [id, el] of state.shown) {
        if (id > message.id && (before === null || id < Number(before.dataset.messageId))) before = el;
      }
      box.insertBefore(fresh, before);
    }
    state.shown.set(message.id, fresh);
    state.data.set(message.id, message);
    if (state.replyTo && state.replyTo.id === message.id) state.replyTo = message;
    updateEmpty();
    if (follow) scrollToBottom();
  }

  function removeMessage(messageId) {
    const el = state.shown.get(messageId);
    if (el) el.remove();
    state.shown.delete(messageId);
    state.data.delete(messageId);
    if (state.replyTo && state.replyTo.id === messageId) cancelReply();
    updateEmpty();
  }

  function updateEmpty() {
    const empty = state.shown.size === 0;
    const isPrivate = state.chat && state.chat.type === "private";
    $("empty").hidden = !empty;
    $("start-button").hidden = !(empty && isPrivate);
  }

  // --- reply keyboard, commands, replies --------------------------------------------------------

  function renderKeyboard() {
    const box = $("keyboard");
    const toggle = $("keyboard-toggle");
    box.replaceChildren();
    const keyboard = state.keyboard;
    toggle.hidden = !keyboard;
    $("text").placeholder = (keyboard && keyboard.placeholder) || t("placeholder");
    if (!keyboard) {
      box.hidden = true;
      return;
    }
    for (const row of keyboard.rows) {
      const line = document.createElement("div");
      line.className = "keyboard-row";
      for (const label of row) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "keyboard-button";
        button.textContent = label;
        button.addEventListener("click", () => tap(label));
        line.append(button);
      }
      box.append(line);
    }
    box.hidden = !state.keyboardOpen;
  }

  function renderCommands() {
    const box = $("commands");
    box.replaceChildren();
    // The server sends the chat's commands beside the chat, as Telegram's "/" menu shows them there.
    const commands = state.commands || [];
    if (commands.length === 0) {
      const none = document.createElement("span");
      none.textContent = t("no_commands");
      box.append(none);
      return;
    }
    for (const command of commands) {
      const button = document.createElement("button");
      button.type = "button";
      const name = document.createElement("span");
      name.textContent = "/" + command.command;
      const description = document.createElement("small");
      description.textContent = command.description;
      button.append(name, description);
      button.addEventListener("click", () => {
        box.hidden = true;
        sendText("/" + command.command, null);
      });
      box.append(button);
    }
  }

  function startReply(message) {
    state.replyTo = message;
    const preview = message.text || (message.media ? "[" + message.media.kind + "]" : "");
    $("reply-preview").textContent = message.from.name + " : " + preview.slice(0, 80);
    $("reply-bar").hidden = false;
    $("text").focus();
  }

  function cancelReply() {
    state.replyTo = null;
    $("reply-bar").hidden = true;
  }

  // --- opening a chat ---------------------------------------------------------------------------

  async function openChat(personaId, chatId) {
    const changed = !state.current || state.current.personaId !== personaId || state.current.chatId !== chatId;
    state.current = { personaId, chatId };
    state.unread.delete(personaId + ":" + chatId);
    if (changed) {
      cancelReply();
      $("commands").hidden = true;
      $("attach-menu").hidden = true;
    }
    renderPersonas();
    renderChatHead();
    await reloadChat();
  }

  async function reloadChat() {
    if (!state.current) return;
    const token = ++state.loadToken;
    const { personaId, chatId } = state.current;
    state.pending = [];
    let data;
    try {
      data = await api(chatPath(personaId, chatId));
    } catch (error) {
      state.pending = null;
      fail(error);
      return;
    }
    if (token !== state.loadToken) return; // another chat was opened meanwhile
    const pending = state.pending || [];
    state.pending = null;
    state.chat = data.chat;
    state.commands = data.commands || [];
    state.keyboard = data.keyboard;
    state.shown.clear();
    state.data.clear();
    $("messages").replaceChildren();
    for (const message of data.messages) upsertMessage(message, true);
    updateEmpty();
    renderKeyboard();
    renderCommands();
    // Events that arrived while the chat was loading may be newer than what the server returned.
    for (const body of pending) applyToCurrentChat(body);
    $("chat").dataset.personaId = String(personaId);
    $("chat").dataset.chatId = String(chatId);
    $("chat").dataset.chatType = data.chat.type;
    scrollToBottom();
  }

  // --- acting -----------------------------------------------------------------------------------

  async function sendText(text, replyTo) {
    if (!state.current) return;
    const { personaId, chatId } = state.current;
    const body = { text };
    if (replyTo) body.reply_to = replyTo.id;
    try {
      const message = await api(chatPath(personaId, chatId) + "/messages", { method: "POST", json: body });
      if (isCurrent(personaId, chatId)) upsertMessage(message, true);
    } catch (error) {
      fail(error);
    }
  }

  async function tap(label) {
    if (!state.current) return;
    const { personaId, chatId } = state.current;
    try {
      const message = await api(chatPath(personaId, chatId) + "/tap", { method: "POST", json: { text: label } });
      if (isCurrent(personaId, chatId)) upsertMessage(message, true);
    } catch (error) {
      fail(error);
    }
  }

  async function press(message, row, col, text, el) {
    if (!state.current) return;
    const { personaId, chatId } = state.current;
    el.setAttribute("aria-busy", "true");
    try {
      const answer = await api(chatPath(personaId, chatId) + "/press", {
        method: "POST",
        json: { message_id: message.id, row, col, text },
      });
      if (!answer.answered) toast(t("no_answer"), true);
      else if (answer.text && answer.show_alert) showAlert(answer.text);
      else if (answer.text) toast(answer.text);
      if (answer.url && safeUrl(answer.url)) window.open(safeUrl(answer.url), "_blank", "noopener");
    } catch (error) {
      if (error.status === 409) toast(t("button_gone"), true);
      else fail(error);
    } finally {
      el.removeAttribute("aria-busy");
    }
  }

  async function upload(kind, file) {
    if (!state.current || !file) return;
    const { personaId, chatId } = state.current;
    const form = new FormData();
    form.append("kind", kind);
    form.append("file", file, file.name);
    const caption = $("text").value.trim();
    if (caption) form.append("caption", caption);
    if (state.replyTo) form.append("reply_to", String(state.replyTo.id));
    try {
      const message = await api(chatPath(personaId, chatId) + "/upload", { method: "POST", form });
      $("text").value = "";
      cancelReply();
      if (isCurrent(personaId, chatId)) upsertMessage(message, true);
    } catch (error) {
      fail(error);
    }
  }

  function isCurrent(personaId, chatId) {
    return state.current && state.current.personaId === personaId && state.current.chatId === chatId;
  }

  // --- live updates ------------------------------------------------------------------------------

  function personasWithChat(chatId) {
    return Array.from(state.personas.values()).filter((p) => p.chats.some((c) => c.id === chatId));
  }

  function applyToCurrentChat(body) {
    const follow = nearBottom(); // before the keyboard may shrink the list
    if (body.event === "deleted") removeMessage(body.message_id);
    else upsertMessage(body.message, follow);
    state.keyboard = body.keyboard;
    renderKeyboard();
    if (follow) scrollToBottom();
  }

  function onMessageEvent(body) {
    const chatId = body.chat_id;
    const viewing = state.current && state.current.chatId === chatId;
    if (viewing && state.pending !== null) state.pending.push(body);
    else if (viewing) applyToCurrentChat(body);
    if (body.event !== "new") return;
    let changed = false;
    for (const persona of personasWithChat(chatId)) {
      const open = viewing && state.current.personaId === persona.id;
      if (open || body.message.from.id === persona.id) continue;
      const key = persona.id + ":" + chatId;
      state.unread.set(key, (state.unread.get(key) || 0) + 1);
      changed = true;
    }
    if (changed) {
      renderPersonas();
      renderChatHead();
    }
  }

  // The stream is opened first and the page loaded once it is live, so nothing falls in between;
  // after a reconnection what the page shows may be stale, so it is loaded again.
  function connect() {
    const source = new EventSource("/webchat/api/events");
    const live = $("live");
    source.addEventListener("ready", () => {
      live.dataset.state = "on";
      live.dataset.i18nTitle = "live_on";
      live.title = t("live_on");
      refreshState()
        .then((data) => {
          const first = data.personas[0];
          if (!state.current && first) return openChat(first.id, first.chats[0].id);
          return reloadChat();
        })
        .catch(fail);
    });
    source.addEventListener("message", (event) => onMessageEvent(JSON.parse(event.data)));
    source.addEventListener("persona", (event) => addPersona(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      live.dataset.state = "off";
      live.dataset.i18nTitle = "live_off";
      live.title = t("live_off");
    });
  }

  async function refreshState() {
    const data = await api("/webchat/api/state");
    state.bot = data.bot;
    state.roles = data.roles;
    for (const persona of data.personas) state.personas.set(persona.id, persona);
    fillRoleOptions();
    renderPersonas();
    renderChatHead();
    return data;
  }

  // --- wiring -----------------------------------------------------------------------------------

  function wire() {
    $("lang-toggle").addEventListener("click", () => {
      state.lang = state.lang === "fr" ? "en" : "fr";
      try {
        window.localStorage.setItem("webchat.lang", state.lang);
      } catch (_) {
        // not kept: fine
      }
      applyTexts();
      renderPersonas();
      renderChatHead();
      for (const message of Array.from(state.data.values())) upsertMessage(message, false);
      renderKeyboard();
      renderCommands();
    });
    $("send-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const box = $("text");
      const text = box.value.trim();
      if (!text) return;
      const replyTo = state.replyTo;
      box.value = "";
      cancelReply();
      sendText(text, replyTo);
    });
    $("text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("send-form").requestSubmit();
      }
    });
    $("start-button").addEventListener("click", () => sendText("/start", null));
    $("reply-cancel").addEventListener("click", cancelReply);
    $("keyboard-toggle").addEventListener("click", () => {
      state.keyboardOpen = !state.keyboardOpen;
      renderKeyboard();
    });
    $("commands-button").addEventListener("click", () => {
      $("attach-menu").hidden = true;
      $("commands").hidden = !$("commands").hidden;
    });
    $("attach-button").addEventListener("click", () => {
      $("commands").hidden = true;
      $("attach-menu").hidden = !$("attach-menu").hidden;
    });
    $("attach-photo").addEventListener("click", () => $("photo-input").click());
    $("attach-document").addEventListener("click", () => $("document-input").click());
    for (const [id, kind] of [["photo-input", "photo"], ["document-input", "document"]]) {
      $(id).addEventListener("change", (event) => {
        const input = event.target;
        const file = input.files && input.files[0];
        $("attach-menu").hidden = true;
        upload(kind, file).finally(() => {
          input.value = "";
        });
      });
    }
    $("add-persona").addEventListener("click", () => {
      $("persona-error").hidden = true;
      $("persona-name").value = "";
      $("persona-language").value = state.lang;
      $("persona-dialog").showModal();
      $("persona-name").focus();
    });
    $("persona-cancel").addEventListener("click", () => $("persona-dialog").close());
    $("persona-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const persona = await api("/webchat/api/personas", {
          method: "POST",
          json: {
            name: $("persona-name").value,
            role: $("persona-role").value,
            language: $("persona-language").value,
          },
        });
        addPersona(persona);
        $("persona-dialog").close();
        openChat(persona.id, persona.chats[0].id);
      } catch (error) {
        $("persona-error").textContent = t("error", { reason: error.message });
        $("persona-error").hidden = false;
      }
    });
  }

  function main() {
    applyTexts();
    wire();
    connect();
  }

  main();
})();
