// The rule builder: a button with data-action ("add-rule", "add-group", "remove") sets the
// builder's hidden "action" input and asks the builder to re-render. One listener on the
// document, so buttons that htmx has just swapped in work at once.
(function () {
  if (window.tendRuleBuilder) return;
  window.tendRuleBuilder = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".rule-builder [data-action]");
    if (!button) return;
    event.preventDefault();
    var builder = button.closest(".rule-builder");
    builder.querySelector("input[name=rule_action]").value =
      button.dataset.action + ":" + button.dataset.path;
    htmx.trigger(builder, "rule-action");
  });
})();
