"""A password field whose value is never widget state, in the kernel or in the browser.

A core ``ipywidgets.Password`` keeps what was typed in its front-end model from the moment the
field loses focus until the kernel clears it, one round trip later. A notebook saved in that
window (a click on the toolbar's save button blurs the field first, then saves) writes the
password into ``metadata.widgets``: JupyterLab's save serialises the front-end models as they
are. This field sends the typed text to the kernel as a custom message (on blur and on Enter)
and empties the input in the same step; no model, front end or kernel, ever holds it, so no
saved state can. The kernel side keeps the last value in an unsynced ``value`` trait that the
login form takes and clears at once.

The front end is a small module bundled here (anywidget: no CDN, works offline, in JupyterLab,
Notebook 7, Voila, VS Code and Colab), styled with ipywidgets' own classes.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

__all__ = ["SecretField"]

_ESM = """
function render({ model, el }) {
  const row = document.createElement("div");
  row.className = "widget-inline-hbox widget-text widget-password ngff-kit-secret";
  const label = document.createElement("label");
  label.className = "widget-label";
  const input = document.createElement("input");
  input.type = "password";
  input.autocomplete = "off";
  input.spellcheck = false;
  const sync = () => {
    label.textContent = model.get("description");
    input.placeholder = model.get("placeholder");
    input.disabled = model.get("disabled");
  };
  // the typed text goes to the kernel as a message, never into the model, and leaves the page
  const send = (submit) => {
    const value = input.value;
    input.value = "";
    if (value || submit) model.send({ event: "secret", value: value, submit: submit });
  };
  input.addEventListener("change", () => send(false));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); send(true); }
  });
  model.on("change:description", sync);
  model.on("change:placeholder", sync);
  model.on("change:disabled", sync);
  sync();
  row.append(label, input);
  el.append(row);
}
export default { render };
"""


class SecretField(anywidget.AnyWidget):
    """One password (or token) input; ``value`` is the kernel's copy of what was typed, and
    is not synced: it is never in ``get_state()``, nbclient's stored state or a saved .ipynb.

    ``observe(..., "value")`` sees each value that arrives; ``on_msg`` callbacks see
    ``{"event": "submit"}`` after a value sent with Enter, as a core text field's Enter does.
    """

    _esm = _ESM
    description = traitlets.Unicode("Password").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    value = traitlets.Unicode("")  # kernel only: no sync=True, on purpose
    #: Nothing is sent per keystroke (nor on blur as state: only as a message).
    continuous_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._received)

    def __repr__(self) -> str:
        return f"<SecretField {self.description!r}>"

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "secret":
            return
        value = content.get("value")
        if isinstance(value, str) and value:
            self.value = value
        if content.get("submit"):
            self._handle_custom_msg({"event": "submit"}, [])
