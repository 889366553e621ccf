// Two-factor set-up: the recovery codes the API returns once are shown once, here.
(function () {
  document.addEventListener("api:done", function (event) {
    if (event.target.dataset.then !== "recovery-codes" || !event.detail) return;
    document.getElementById("recovery-codes").textContent = event.detail.recovery_codes.join("\n");
    document.getElementById("recovery").hidden = false;
    document.querySelectorAll("form[data-then=recovery-codes]").forEach(function (form) { form.hidden = true; });
    var left = document.getElementById("codes-left");
    if (left) left.textContent = event.detail.recovery_codes.length;
  });
})();
