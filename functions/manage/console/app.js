// Koppel console: login, header and the hash router. Views live in their own modules.
import { api, choosePassword, forgetToken, login, onUnauthorized, token } from "./api.js";
import { claim, clear, clearNotice, el, fill, focusHeading, loading, release, setTitle } from "./dom.js";
import { renderOverview } from "./overview.js";
import { renderConnection } from "./connection.js";
import { renderMapping } from "./mapping.js";

const state = { me: null, generation: 0 };
// A first sign-in's username and Cognito session, in memory only, until the person has chosen their password.
const firstSignIn = { username: "", session: "" };

const $ = (id) => document.getElementById(id);
// The login section is taken out of the page while logged in, so the page has one <h1> and no hidden form.
const loginView = document.getElementById("login-view");
const loginError = document.getElementById("login-error");

function showLogin(message = "") {
  state.me = null;
  state.generation += 1; // any polling of the page that was open stops
  $("site-nav").hidden = true;
  $("account").hidden = true;
  $("whoami").textContent = "";
  clear($("view"));
  clearNotice();
  $("view").before(loginView);
  loginView.hidden = false;
  showStep("login");
  loginError.textContent = message;
  setTitle("Log in");
  $("username").focus();
}

// The login view's two steps: the login form, or choosing one's own password after a first login.
function showStep(step) {
  const choosing = step === "password";
  $("login-form").hidden = choosing;
  $("password-form").hidden = !choosing;
  $("login-title").textContent = choosing ? "Choose your own password" : "Log in to Koppel";
  $("password-error").textContent = "";
  $("new-password").value = "";
  $("repeat-password").value = "";
  if (!choosing) Object.assign(firstSignIn, { username: "", session: "" });
}

function showPasswordStep(username, { session, rules }) {
  Object.assign(firstSignIn, { username, session });
  $("password").value = "";
  showStep("password");
  $("password-rules").textContent =
    `Welcome, ${username}. This is your first login: choose a password that only you know (${rules}).`;
  setTitle("Choose your password");
  $("new-password").focus();
}

function showHeader(me) {
  state.me = me;
  $("whoami").textContent = `${me.username} (${me.role})`;
  $("site-nav").hidden = false;
  $("account").hidden = false;
  loginError.textContent = "";
  loginView.remove();
}

function parseRoute(hash) {
  if (!hash.startsWith("#/")) return { name: "overview" };
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: "overview" };
  if (parts[0] === "connections" && parts.length === 2) return { name: "connection", id: parts[1] };
  if (parts[0] === "connections" && parts.length === 4 && parts[2] === "mapping") {
    return { name: "mapping", id: parts[1], target: parts[3] };
  }
  return { name: "missing" };
}

async function route() {
  if (!token()) {
    showLogin(loginError.textContent);
    return;
  }
  const generation = ++state.generation;
  const view = $("view");
  clearNotice();
  fill(view, loading());
  try {
    if (!state.me) showHeader(await api.me());
    const current = parseRoute(window.location.hash);
    // The page checks this before touching the DOM so a slow answer never draws over a newer page.
    const context = { me: state.me, alive: () => generation === state.generation && token() !== null };
    if (current.name === "overview") await renderOverview(view, context);
    else if (current.name === "connection") await renderConnection(view, current.id, context);
    else if (current.name === "mapping") await renderMapping(view, current.id, current.target, context);
    else notFound(view);
  } catch (error) {
    if (error.status === 401 || generation !== state.generation) return;
    fill(
      view,
      el("h1", { text: error.status === 404 ? "Not found" : "Something went wrong" }),
      el("p", { class: "error", text: error.message }),
      el("p", {}, el("a", { href: "#/", text: "Back to all integrations" })),
    );
    setTitle("Error");
  }
  if (generation === state.generation) focusHeading(view);
}

function notFound(view) {
  setTitle("Not found");
  fill(
    view,
    el("h1", { text: "Page not found" }),
    el("p", {}, el("a", { href: "#/", text: "Back to all integrations" })),
  );
}

async function submitLogin(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  const error = loginError;
  if (!username || !password) {
    error.textContent = "Enter your username and password.";
    (username ? $("password") : $("username")).focus();
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  if (!claim(button)) return;
  error.textContent = "";
  try {
    const answer = await login(username, password);
    if (answer.firstSignIn) {
      showPasswordStep(username, answer.firstSignIn);
      return;
    }
    $("password").value = "";
    showHeader(answer.user);
    await route();
  } catch (failure) {
    error.textContent = failure.message;
    $("password").focus();
  } finally {
    release(button);
  }
}

async function submitPassword(event) {
  event.preventDefault();
  const chosen = $("new-password").value;
  const error = $("password-error");
  if (!chosen || chosen !== $("repeat-password").value) {
    error.textContent = chosen ? "The two passwords differ: type the same one twice." : "Choose a new password.";
    $(chosen ? "repeat-password" : "new-password").focus();
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  if (!claim(button)) return;
  error.textContent = "";
  try {
    const me = await choosePassword(firstSignIn.username, firstSignIn.session, chosen);
    showStep("login");
    showHeader(me);
    await route();
  } catch (failure) {
    if (failure.status === 401) {
      showLogin(failure.message); // the first login ran out: log in again with the operator's password
      return;
    }
    error.textContent = failure.message;
    $("new-password").focus();
  } finally {
    release(button);
  }
}

function logout() {
  forgetToken();
  window.location.hash = "#/";
  showLogin("You are logged out.");
}

function start() {
  onUnauthorized((message) => showLogin(message));
  $("login-form").addEventListener("submit", submitLogin);
  $("password-form").addEventListener("submit", submitPassword);
  $("logout").addEventListener("click", logout);
  // Routes are "#/…"; any other hash (an in-page anchor) is not a page change.
  window.addEventListener("hashchange", () => window.location.hash.startsWith("#/") && route());
  // The skip link moves focus without touching the hash, so the page shown stays where it is.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    const target = $("main").querySelector("h1") || $("main");
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  });
  if (token()) route();
  else showLogin();
}

start();
