// Causeway console: the circuit page polls /console/live every second and recolours the
// topology, fills the tables and draws the traffic graph. Hand-written, no dependencies;
// every value goes in through textContent (never as HTML).
"use strict";
(function () {
  const id = document.body.dataset.circuit;
  if (!id) return;
  const history = { primary: [], secondary: [] };
  const KEEP = 120;
  let last = null;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function fill(tbodyId, rows, columns, empty) {
    const tb = document.getElementById(tbodyId);
    if (!tb) return;
    tb.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(tr, empty);
      td.colSpan = columns;
      tb.appendChild(tr);
      return;
    }
    for (const r of rows) tb.appendChild(r);
  }
  function uptime(s) {
    if (s === null || s === undefined) return "—";
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  }
  function bits(n) {
    const u = ["b/s", "kb/s", "Mb/s", "Gb/s"];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${u[i]}`;
  }

  function draw() {
    const c = document.getElementById("traffic");
    if (!c) return;
    const g = c.getContext("2d");
    const w = c.width, h = c.height;
    g.clearRect(0, 0, w, h);
    const series = [
      ["primary", "in", "#1f6feb"], ["primary", "out", "#8ab4f8"],
      ["secondary", "in", "#1a7f37"], ["secondary", "out", "#7ee2a8"],
    ];
    let max = 1;
    for (const [role] of series) for (const p of history[role]) max = Math.max(max, p.in, p.out);
    g.strokeStyle = "#d0d7de";
    g.beginPath(); g.moveTo(40, h - 20); g.lineTo(w, h - 20); g.stroke();
    g.fillStyle = "#57606a";
    g.font = "11px sans-serif";
    g.fillText(bits(max), 2, 12);
    series.forEach(([role, dir, color], k) => {
      const pts = history[role];
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.beginPath();
      pts.forEach((p, i) => {
        const x = 40 + (i * (w - 40)) / (KEEP - 1);
        const y = h - 20 - (p[dir] / max) * (h - 40);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
      g.fillStyle = color;
      g.fillText(`${role} ${dir}`, 50 + k * 110, h - 5);
    });
  }

  function render(d) {
    for (const role of ["primary", "secondary"]) {
      const l = d.links[role];
      const health = l.health;
      document.body.dataset[role] = health;
      const line = document.getElementById(`link-${role}`);
      if (line) line.setAttribute("class", `link ${health}`);
      const edge = document.getElementById(`edge-${role}`);
      if (edge) edge.setAttribute("class", `node ${health}`);
      const row = document.querySelector(`#links tr[data-link="${role}"]`);
      if (row) {
        const hc = row.querySelector(".health");
        hc.textContent = health;
        hc.className = `health ${health}`;
        row.querySelector(".in").textContent = l.bytesIn;
        row.querySelector(".out").textContent = l.bytesOut;
      }
      if (last) {
        const dt = (d.at - last.at) / 1000;
        const p = last.links[role];
        if (dt > 0) {
          history[role].push({
            in: Math.max(0, ((l.bytesIn - p.bytesIn) * 8) / dt),
            out: Math.max(0, ((l.bytesOut - p.bytesOut) * 8) / dt),
          });
          if (history[role].length > KEEP) history[role].shift();
        }
      }
    }
    const onprem = document.getElementById("onprem");
    if (onprem) {
      const any = ["primary", "secondary"].some((r) => d.links[r].health === "up");
      onprem.setAttribute("class", `node ${any ? "up" : "down"}`);
    }
    const ps = document.getElementById("provider-state");
    if (ps && d.providerState) ps.textContent = d.providerState;

    const sessions = [];
    for (const p of d.peerings) {
      for (const role of ["primary", "secondary"]) {
        for (const s of p[role]) {
          const tr = document.createElement("tr");
          tr.dataset.neighbor = s.neighbor;
          cell(tr, p.name); cell(tr, role); cell(tr, s.neighbor, "mono");
          cell(tr, s.remoteAs);
          cell(tr, s.state, s.state === "Established" ? "up" : "down");
          cell(tr, uptime(s.uptimeSecs));
          cell(tr, s.prefixesReceived); cell(tr, s.prefixesAdvertised);
          cell(tr, s.bfd || "off", s.bfd === "Up" ? "up" : s.bfd ? "down" : "");
          cell(tr, s.lastError || "");
          sessions.push(tr);
        }
      }
    }
    fill("sessions", sessions, 10, "no session reported");

    const routes = [];
    const arp = [];
    for (const role of ["primary", "secondary"]) {
      for (const r of d.routes[role]) {
        const tr = document.createElement("tr");
        cell(tr, role); cell(tr, r.peering); cell(tr, r.network, "mono");
        cell(tr, r.nextHop, "mono"); cell(tr, r.asPath); cell(tr, r.learned ? "customer" : "cloud");
        routes.push(tr);
      }
      for (const a of d.arp[role]) {
        const tr = document.createElement("tr");
        cell(tr, role); cell(tr, a.peering); cell(tr, a.ipAddress, "mono");
        cell(tr, a.macAddress, "mono"); cell(tr, a.interface); cell(tr, `${a.ageSecs} s`);
        arp.push(tr);
      }
    }
    fill("routes", routes, 6, "no routes");
    fill("arp", arp, 6, "no entries");

    const ev = document.getElementById("events");
    if (ev) {
      ev.replaceChildren();
      if (d.events.length === 0) {
        const li = document.createElement("li");
        li.textContent = "none observed yet";
        ev.appendChild(li);
      }
      for (const e of d.events) {
        const li = document.createElement("li");
        const t = document.createElement("time");
        t.textContent = e.at;
        li.appendChild(t);
        li.appendChild(document.createTextNode(" " + e.text));
        ev.appendChild(li);
      }
    }
    last = d;
    draw();
    document.body.dataset.live = String(d.at);
  }

  async function tick() {
    try {
      const r = await fetch(`/console/live?id=${encodeURIComponent(id)}`, { credentials: "same-origin" });
      if (r.ok) render(await r.json());
    } catch (e) {
      // The next poll retries.
    } finally {
      setTimeout(tick, 1000);
    }
  }
  tick();
})();
