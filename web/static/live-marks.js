/* A live search (htmx) swaps in, with its results, what its answer says beside each field of
   its form (the `data-said-beside` places of web/templates/_macros.html's search_field), never
   the inputs: replacing the box typed in would drop what was typed since the search was sent
   and break an input method's composition. This marks each field as the page marks it on a
   full load: invalid and described by what is said, or neither once nothing is. */
"use strict";

function markBeside(said) {
  const field = said.closest(".field")?.querySelector("input, select, textarea");
  if (!field) return;
  const others = (field.getAttribute("aria-describedby") || "")
    .split(/\s+/)
    .filter((id) => id && id !== said.id);
  const ids = said.hidden ? others : [said.id, ...others];
  if (said.hidden) field.removeAttribute("aria-invalid");
  else field.setAttribute("aria-invalid", "true");
  if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
  else field.removeAttribute("aria-describedby");
}

document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("[data-said-beside]").forEach(markBeside);
});
