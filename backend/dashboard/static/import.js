// The CSV import: read the file in the browser, ask the server to read it (columns, each line's
// problems), let staff fix the column mapping, then import. Every call is the public API's.
(function () {
  "use strict";
  var F = window.Frontdesk;
  var fileForm = document.getElementById("import-file");
  var mappingForm = document.getElementById("import-mapping");
  var columns = document.getElementById("import-columns");
  var preview = document.getElementById("import-preview");
  var done = document.getElementById("import-done");
  var state = null; // {source, csv, date_order, mapping}

  function alertIn(scope, text) {
    var box = scope.querySelector("[role=alert]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text || "";
    if (className) td.className = className;
    row.appendChild(td);
  }

  function showColumns(data) {
    Array.prototype.forEach.call(mappingForm.querySelectorAll("select"), function (select) {
      while (select.options.length > 1) select.remove(1);
      data.columns.forEach(function (name) { select.add(new Option(name, name)); });
      select.value = data.mapping[select.name] || "";
    });
    columns.hidden = false;
  }

  function showPreview(data) {
    var body = preview.querySelector("tbody");
    body.textContent = "";
    data.lines.forEach(function (line) {
      var row = document.createElement("tr");
      cell(row, String(line.line));
      cell(row, line.external_id);
      cell(row, line.starts_at ? line.starts_at.slice(0, 16).replace("T", " ") : "");
      cell(row, line.provider);
      cell(row, line.patient);
      cell(row, line.errors.join("; "), line.errors.length ? "problems" : "");
      body.appendChild(row);
    });
    var left = data.rows - data.valid;
    preview.querySelector(".summary").textContent = data.valid + " of " + data.rows + " lines can be imported" +
      (left ? "; " + left + " with problems will be left out." : ".");
    var run = document.getElementById("import-run");
    run.textContent = "Import " + data.valid + " appointment" + (data.valid === 1 ? "" : "s");
    run.disabled = !data.valid;
    preview.hidden = false;
  }

  function read() {
    alertIn(fileForm, "");
    alertIn(preview, "");
    return F.api("POST", "/api/v1/external-appointments:csv-preview", state).then(function (result) {
      if (!result.ok) {
        alertIn(columns.hidden ? fileForm : preview, F.describe(result.status, result.data));
        return;
      }
      state.mapping = result.data.mapping;
      showColumns(result.data);
      showPreview(result.data);
    });
  }

  fileForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = fileForm.file.files[0];
    if (!file) return;
    file.text().then(function (text) {
      state = { source: fileForm.source.value.trim(), csv: text, date_order: fileForm.date_order.value };
      done.hidden = true;
      read();
    }, function () { alertIn(fileForm, "The file could not be read."); });
  });

  mappingForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var mapping = {};
    Array.prototype.forEach.call(mappingForm.querySelectorAll("select"), function (select) {
      if (select.value) mapping[select.name] = select.value;
    });
    state.mapping = mapping;
    read();
  });

  document.getElementById("import-run").addEventListener("click", function (event) {
    var button = event.target;
    button.disabled = true;
    F.api("POST", "/api/v1/external-appointments:csv-import", state).then(function (result) {
      button.disabled = false;
      if (!result.ok) { alertIn(preview, F.describe(result.status, result.data)); return; }
      var counts = result.data.counts, words = [];
      ["created", "updated", "unchanged", "stale", "error"].forEach(function (key) {
        if (counts[key]) words.push(counts[key] + " " + (key === "error" ? "left out" : key));
      });
      done.querySelector(".summary").textContent = words.join(", ") + ".";
      var list = done.querySelector(".problems");
      list.textContent = "";
      result.data.results.forEach(function (row) {
        if (row.result !== "error") return;
        var item = document.createElement("li");
        item.textContent = "Line " + row.index + ": " + row.error.message;
        list.appendChild(item);
      });
      done.hidden = false;
      done.focus();
    }, function () { button.disabled = false; alertIn(preview, "The server could not be reached. Nothing was lost: try again."); });
  });
})();
