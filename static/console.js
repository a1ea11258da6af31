// Enhancements only: every form works without JavaScript.
"use strict";

// The OAuth page follows the provider, its cloud and who signs in: the sign-ins and clouds the provider offers, the
// fields the sign-in uses (data-shown-for), and the greyed endpoints as they are in that cloud for that sign-in.
function followOAuthChoices(form) {
  const presets = JSON.parse(form.dataset.presets);
  const provider = form.querySelector("#provider").value;
  const preset = presets[provider];
  for (const section of document.querySelectorAll("details[data-provider]")) {
    section.open = section.dataset.provider === provider;  // the setup guide of the provider chosen
  }
  const signIn = offerSignIns(form, preset.sign_ins);
  const clouds = Object.keys(preset.clouds);
  const cloudSelect = form.querySelector("#cloud");
  form.querySelector("#field-cloud").classList.toggle("is-hidden", clouds.length < 2);
  const inCloud = preset.clouds[cloudSelect.value] || preset.clouds[clouds[0]];
  for (const element of document.querySelectorAll("[data-shown-for]")) {
    element.classList.toggle("is-hidden", !element.dataset.shownFor.split(" ").includes(signIn));
  }
  form.querySelector("#field-tenant").classList.toggle("is-hidden", !preset.uses_tenant);
  form.querySelector("#field-smtp_hosts").classList.toggle("is-hidden", !preset.editable);
  form.querySelector("#field-app_in_testing").classList.toggle("is-hidden", !preset.testing);
  const tenant = form.querySelector("#tenant").value.trim() || "common";
  const filled = {...inCloud, scopes: signIn === "delegated" ? inCloud.scopes : inCloud.app_scope};
  for (const name of ["authorization_url", "token_url", "scopes"]) {
    const input = form.querySelector("#" + name);
    if (!preset.editable) {
      if (!input.readOnly) input.dataset.typed = input.value;  // keep a custom provider's values
      input.value = (filled[name] || "").replaceAll("{tenant}", encodeURIComponent(tenant));
    } else if (input.readOnly) {
      input.value = input.dataset.typed || "";
    }
    input.readOnly = !preset.editable;
  }
}

// Offer the provider's own sign-ins; one it does not offer gives way to the first (delegated). The one in force.
function offerSignIns(form, offered) {
  const options = [...form.querySelectorAll("#field-sign_in [data-option]")];
  for (const option of options) option.classList.toggle("is-hidden", !offered.includes(option.dataset.option));
  form.querySelector("#field-sign_in").classList.toggle("is-hidden", offered.length < 2);
  const checked = form.querySelector("#field-sign_in input:checked");
  if (checked && offered.includes(checked.value)) return checked.value;
  const first = options.find((option) => option.dataset.option === offered[0]).querySelector("input");
  first.checked = true;
  return first.value;
}

function enableCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      await navigator.clipboard.writeText(source.value || source.textContent.trim());
      const label = button.textContent;
      button.textContent = button.dataset.copied || "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
}

function followAuthentication(form) {
  const mode = form.querySelector("#authentication").value;
  form.querySelector("#field-password").classList.toggle("is-hidden", mode !== "password");
  const presets = JSON.parse(form.dataset.presets);
  const preset = presets[form.dataset.provider];
  const [host, port, security] = ["#host", "#port", "#security"].map((id) => form.querySelector(id));
  if (!preset) return;
  if (mode === "oauth" && (!host.value || Object.values(presets).some((p) => (p.hosts || [p.host]).includes(host.value)))) {
    host.value = port.value = security.value = "";  // blank: the provider's, following it
  } else if (mode !== "oauth") {
    host.value = host.value || preset.host;  // the provider's, in the national cloud saved on the OAuth page
    port.value = port.value || preset.port;
    security.value = security.value || preset.security;
  }
}

function followTransport(form) {
  const unused = form.querySelector("#transport").value !== "smtp";  // an HTTPS API carries the mail
  form.querySelector("#smtp-settings").classList.toggle("not-in-use", unused);
  form.querySelector("#smtp-unused").hidden = !unused;
}

function showTestProgress(form) {
  form.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (!button || button.id !== "send_test") return;
    const progress = form.querySelector("#test-progress");
    const started = Date.now();
    const tell = () => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      progress.textContent = button.dataset.waiting.replace("{elapsed}", elapsed);
    };
    setTimeout(() => {  // once the browser has read the form, this button included
      button.disabled = true;
      button.value = button.dataset.sending;
      tell();
      setInterval(tell, 1000);
    }, 0);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const mailForm = document.querySelector("#mail-form");
  if (mailForm) {
    mailForm.querySelector("#authentication").addEventListener("change", () => followAuthentication(mailForm));
    mailForm.querySelector("#transport").addEventListener("change", () => followTransport(mailForm));
    showTestProgress(mailForm);
  }
  const oauthForm = document.querySelector("#oauth-form");
  if (oauthForm) {
    for (const id of ["#provider", "#tenant", "#cloud", "#field-sign_in"]) {
      oauthForm.querySelector(id).addEventListener("input", () => followOAuthChoices(oauthForm));
    }
    followOAuthChoices(oauthForm);
  }
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
    const button = select.form.querySelector("button");
    if (button) button.hidden = true;
  }
  enableCopyButtons();
});
